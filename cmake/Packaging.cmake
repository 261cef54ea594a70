# Packaging.cmake — CPack: a Debian package `offshoot` of the whole install tree.
#
#   cmake --build build && (cd build && cpack -G DEB)    → build/offshoot_<version>_<arch>.deb
#   apt-get install ./build/offshoot_*.deb               (pulls the declared dependencies)
#
# The package installs under /usr exactly what `cmake --install --prefix /usr` would: offshootd,
# the worker, the class plugins and vendor configs, the unit in /usr/lib/systemd/system, the
# D-Bus activation file and policy under /usr/share/dbus-1, the SDK. The unit and activation
# file are rendered at install time (systemd-units/render-units.cmake), so they name
# /usr/bin/offshootd. Included last from the top-level CMakeLists.txt.

set(CPACK_PACKAGE_NAME "offshoot")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "offshoot")
set(CPACK_PACKAGE_CONTACT "offshoot maintainers <offshoot@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "run class instances in processes of their own, as other users, over private D-Bus links")
set(CPACK_PACKAGE_DESCRIPTION
    "offshootd (bus name org.offshoot1) runs an instance of a named class in a process of its own, under the uid, gid, groups and working directory the caller asks for, and serves it on a private peer-to-peer D-Bus socket. Includes the system service (D-Bus activated), offshootctl, the example classes and the SDK (liboffshoot-client, liboffshoot-worker, offshoot-adaptorgen).")
set(CPACK_GENERATOR "DEB")
# Into a DESTDIR with CMAKE_INSTALL_PREFIX=/usr (not a prefix inside CPack's staging tree),
# so that install-time rendered files carry the real installed paths.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX "/usr")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")  # offshoot_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")

# Declared rather than computed (dpkg-shlibdeps), so the package is the same wherever it is
# built: the libraries the binaries link (readelf -d), at bookworm's versions, plus the system
# bus the service lives on, and what the Python client (python/, installed into
# /usr/lib/python3/dist-packages) imports. systemd is recommended only: embedded mode needs no systemd.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6 (>= 2.36), libstdc++6 (>= 12), libgcc-s1, libsystemd0 (>= 252), libsdbus-c++1 (>= 1.2.0), libcap-ng0, libinih1, libfmt9, libexpat1, libseccomp2, dbus, python3, python3-jeepney (>= 0.7)")
if(OFFSHOOT_SANITIZE)  # a test build: its binaries need the sanitizers' runtimes
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libasan8, libubsan1")
endif()
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
# offshootd on another host (Supervisor::remote, offshootctl --host, Python's host=) runs ssh
# here; the other host needs only systemd (its systemd-stdio-bridge) and this package.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "openssh-client")

# Maintainer scripts: make systemd and the system bus see the new unit, activation file and
# policy (and forget them on removal). Kept deliberately simple; failures don't fail dpkg
# (a chroot or a container without a running systemd or bus is fine).
set(_offshoot_maint "${CMAKE_BINARY_DIR}/debian-maintainer-scripts")
file(MAKE_DIRECTORY "${_offshoot_maint}")
set(_offshoot_reload [=[
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
if [ -S /run/dbus/system_bus_socket ]; then
  dbus-send --system --type=method_call --dest=org.freedesktop.DBus / org.freedesktop.DBus.ReloadConfig >/dev/null 2>&1 || true
fi
]=])
file(WRITE "${_offshoot_maint}/postinst" "#!/bin/sh\n# postinst — offshoot\nset -e\n${_offshoot_reload}exit 0\n")
file(WRITE "${_offshoot_maint}/prerm" [=[#!/bin/sh
# prerm — offshoot: stop the service (and so every instance) before its files go.
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl stop offshootd.service >/dev/null 2>&1 || true
  systemctl disable offshootd.service >/dev/null 2>&1 || true
fi
exit 0
]=])
file(WRITE "${_offshoot_maint}/postrm" "#!/bin/sh\n# postrm — offshoot\nset -e\n${_offshoot_reload}exit 0\n")
file(CHMOD "${_offshoot_maint}/postinst" "${_offshoot_maint}/prerm" "${_offshoot_maint}/postrm"
     PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${_offshoot_maint}/postinst;${_offshoot_maint}/prerm;${_offshoot_maint}/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)

# render-units.cmake — run at install time (install(CODE) in CMakeLists.txt): writes the units
# and the D-Bus activation file with offshootd's *installed* paths. The prefix is only known
# then: `cmake --install build --prefix P` and CPack's /usr differ from the configured one.
#
# In: OFFSHOOT_UNITS_SOURCE_DIR, OFFSHOOT_BINDIR, OFFSHOOT_DOCDIR, OFFSHOOT_DATADIR (relative
# to the prefix, or absolute), and CMake's install-time CMAKE_INSTALL_PREFIX / DESTDIR.
foreach(var BINDIR DOCDIR DATADIR)
  if(IS_ABSOLUTE "${OFFSHOOT_${var}}")
    set(full_${var} "${OFFSHOOT_${var}}")
  else()
    set(full_${var} "${CMAKE_INSTALL_PREFIX}/${OFFSHOOT_${var}}")
  endif()
endforeach()
# The names the .in files use.
set(CMAKE_INSTALL_FULL_BINDIR "${full_BINDIR}")
set(CMAKE_INSTALL_FULL_DOCDIR "${full_DOCDIR}")

foreach(pair
    "offshootd.service.in|${CMAKE_INSTALL_PREFIX}/lib/systemd/system/offshootd.service"
    "offshoot.slice.in|${CMAKE_INSTALL_PREFIX}/lib/systemd/system/offshoot.slice"
    "org.offshoot1.service.in|${full_DATADIR}/dbus-1/system-services/org.offshoot1.service")
  string(REPLACE "|" ";" pair "${pair}")
  list(GET pair 0 source)
  list(GET pair 1 target)
  set(dest "$ENV{DESTDIR}${target}")
  message(STATUS "Installing: ${dest}")
  configure_file("${OFFSHOOT_UNITS_SOURCE_DIR}/${source}" "${dest}" @ONLY)
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${dest}")
endforeach()

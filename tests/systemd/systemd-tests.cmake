# tests/systemd/ — offshootd as a system service (included by tests/CMakeLists.txt; label
# systemd). Shell scripts driving the real tools; each works in a scratch directory of its
# own under the build tree and removes it, also on failure. They need a complete build
# (`cmake --install`, cpack): ctest runs after one.
#
#   systemd.UnitPassesSystemdAnalyzeVerify   the installed unit, activation file and policy
#   systemd.ServiceUnderRealSystemd          systemd 252 as PID 1 of a PID+mount namespace:
#                                            D-Bus activation, status, watchdog, deny log,
#                                            clean stop, journal fields (~10 s)
#   systemd.DebianPackage                    cpack -G DEB, dpkg -x, the file list, Depends
set(_offshoot_systemd_dir ${CMAKE_CURRENT_LIST_DIR})
set(_offshoot_systemd_scratch ${CMAKE_BINARY_DIR}/systemd-tests)

add_test(NAME systemd.UnitPassesSystemdAnalyzeVerify
         COMMAND bash ${_offshoot_systemd_dir}/unit-verify-test.sh ${CMAKE_BINARY_DIR}
                 ${_offshoot_systemd_scratch}/verify)
add_test(NAME systemd.ServiceUnderRealSystemd
         COMMAND bash ${_offshoot_systemd_dir}/service-test.sh ${CMAKE_BINARY_DIR}
                 ${_offshoot_systemd_scratch}/service)
add_test(NAME systemd.DebianPackage
         COMMAND bash ${_offshoot_systemd_dir}/deb-test.sh ${CMAKE_BINARY_DIR}
                 ${_offshoot_systemd_scratch}/deb ${PROJECT_VERSION})
set_tests_properties(systemd.UnitPassesSystemdAnalyzeVerify PROPERTIES LABELS systemd TIMEOUT 60)
set_tests_properties(systemd.ServiceUnderRealSystemd PROPERTIES LABELS systemd TIMEOUT 180)
# cpack first brings `all` up to date (its preinstall step): quick after a full build.
set_tests_properties(systemd.DebianPackage PROPERTIES LABELS systemd TIMEOUT 600)

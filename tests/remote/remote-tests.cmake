# tests/remote/ — offshootd on another host over ssh (issue 20, part 4; included by
# tests/CMakeLists.txt; label remote). Each test runs its client inside ssh-host.sh, which
# makes the "other host" of real programs — sshd on 127.0.0.1 in a network namespace of its
# own, a system bus and offshootd behind it in PID and mount namespaces of their own — and
# takes it down again, failing if anything is left (~5 s each).
#
#   remote.ClientLibrary   liboffshoot-client: Supervisor::remote, proxies through the tunnel,
#                          the peer check, another login, the tie to the ssh session, callbacks
#   remote.Offshootctl     offshootctl --host and busctl -H / busctl --address=unixexec:…
#   remote.Python          offshoot.Supervisor(host=…), offshoot.aio, a Sink exported over ssh
set(_offshoot_remote_dir ${CMAKE_CURRENT_LIST_DIR})
set(_offshoot_remote_scratch ${CMAKE_BINARY_DIR}/remote-tests)

add_executable(offshoot-remote-tests ${_offshoot_remote_dir}/remote_client_test.cpp)
target_compile_options(offshoot-remote-tests PRIVATE ${OFFSHOOT_WARNINGS})
target_link_libraries(offshoot-remote-tests PRIVATE
  offshoot-client offshoot-test-harness GTest::gmock GTest::gtest_main)
foreach(_xml Echo Identity)
  offshoot_add_proxy(offshoot-remote-tests ${OFFSHOOT_XML_DIR}/org.offshoot1.example.${_xml}.xml)
endforeach()
foreach(_dep offshootd offshoot-worker offshootctl echo identity walker)
  add_dependencies(offshoot-remote-tests ${_dep})
endforeach()

set(_ssh_host bash ${_offshoot_remote_dir}/ssh-host.sh ${CMAKE_BINARY_DIR})
add_test(NAME remote.ClientLibrary
         COMMAND ${_ssh_host} ${_offshoot_remote_scratch}/client $<TARGET_FILE:offshoot-remote-tests>)
add_test(NAME remote.Offshootctl
         COMMAND ${_ssh_host} ${_offshoot_remote_scratch}/ctl
                 bash ${_offshoot_remote_dir}/ctl-test.sh ${CMAKE_BINARY_DIR})
add_test(NAME remote.Python
         COMMAND ${_ssh_host} ${_offshoot_remote_scratch}/python
                 /usr/bin/python3 -B -m pytest -q -p no:cacheprovider ${PROJECT_SOURCE_DIR}/python/tests-remote)
set_tests_properties(remote.ClientLibrary remote.Offshootctl remote.Python PROPERTIES
  LABELS remote TIMEOUT 120 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")

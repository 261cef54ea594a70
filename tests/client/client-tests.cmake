# tests/client/ — liboffshoot-client's own tests (included by tests/CMakeLists.txt).
#   offshoot-client-unit-tests   no daemon at all: option encoding, empty handles, sealed memfds,
#                                shared buffers, ssh tunnel addresses
#   offshoot-client-tests        against a private dbus-daemon (and the build tree's offshootd
#                                where a test needs one): RAII, on_exit, bridges, errors,
#                                surviving a peer that dies; tasks, loops and stop modes; the
#                                default proxy's delivery thread, timeouts, EchoMemfd,
#                                EchoShared
set(_client_tests_dir "${CMAKE_CURRENT_LIST_DIR}")

add_executable(offshoot-client-unit-tests
  ${_client_tests_dir}/arrays_test.cpp
  ${_client_tests_dir}/spawn_options_test.cpp
  ${_client_tests_dir}/empty_instance_test.cpp
  ${_client_tests_dir}/sealed_memfd_test.cpp
  ${_client_tests_dir}/shared_buffer_test.cpp
  ${_client_tests_dir}/remote_address_test.cpp)
target_compile_options(offshoot-client-unit-tests PRIVATE ${OFFSHOOT_WARNINGS})
target_link_libraries(offshoot-client-unit-tests PRIVATE offshoot-client GTest::gmock GTest::gtest_main)
gtest_discover_tests(offshoot-client-unit-tests
  DISCOVERY_TIMEOUT 60
  PROPERTIES LABELS unit TIMEOUT 30)

add_executable(offshoot-client-tests
  ${_client_tests_dir}/callback_test.cpp
  ${_client_tests_dir}/connected_test.cpp
  ${_client_tests_dir}/delivery_test.cpp
  ${_client_tests_dir}/lifecycle_test.cpp
  ${_client_tests_dir}/supervisor_test.cpp)
target_compile_options(offshoot-client-tests PRIVATE ${OFFSHOOT_WARNINGS})
target_link_libraries(offshoot-client-tests PRIVATE
  offshoot-client offshoot-test-harness GTest::gmock GTest::gtest_main)
foreach(_xml Counter Echo Identity Faulty Sleeper Ticker Walker)
  offshoot_add_proxy(offshoot-client-tests ${OFFSHOOT_XML_DIR}/org.offshoot1.example.${_xml}.xml)
endforeach()
offshoot_add_export(offshoot-client-tests ${OFFSHOOT_XML_DIR}/org.offshoot1.example.Sink.xml)
# Building the tests builds what they run (offshootd finds its worker and plugins by itself).
foreach(_dep offshootd offshoot-worker counter echo identity faulty sleeper ticker walker)
  if(TARGET ${_dep})
    add_dependencies(offshoot-client-tests ${_dep})
  endif()
endforeach()
gtest_discover_tests(offshoot-client-tests
  DISCOVERY_TIMEOUT 60
  PROPERTIES LABELS integration TIMEOUT 120)

# reliability-tests.cmake — offshoot-reliability-tests (issue 8): soak, worker/client/supervisor
# death, load, hostile input, stop-timeout escalation; included from tests/CMakeLists.txt.
# Counts are CI-sized by default; scripts/soak.sh runs the full ones through the environment
# (OFFSHOOT_SOAK_CYCLES, OFFSHOOT_LOAD_CLIENTS, OFFSHOOT_LOAD_CALLS).
include_guard(GLOBAL)

set(_reliability_dir ${CMAKE_CURRENT_LIST_DIR})
add_executable(offshoot-reliability-tests
  ${_reliability_dir}/client_death_test.cpp
  ${_reliability_dir}/hostile_input_test.cpp
  ${_reliability_dir}/load_test.cpp
  ${_reliability_dir}/queued_spawn_test.cpp
  ${_reliability_dir}/soak_test.cpp
  ${_reliability_dir}/stop_timeout_test.cpp
  ${_reliability_dir}/supervisor_death_test.cpp
  ${_reliability_dir}/worker_death_test.cpp)
target_compile_options(offshoot-reliability-tests PRIVATE ${OFFSHOOT_WARNINGS})
# The integration tests' fixture (DaemonTest) and lifecycle helpers are reused, not copied.
target_include_directories(offshoot-reliability-tests PRIVATE ${_reliability_dir} ${PROJECT_SOURCE_DIR}/tests/integration)
target_link_libraries(offshoot-reliability-tests PRIVATE offshoot-test-harness GTest::gmock GTest::gtest_main)

# Building the tests builds what they run (the daemon finds worker and plugins by itself).
foreach(dep offshootd offshoot-worker counter echo faulty identity sleeper ticker offshoot-test-probe)
  if(TARGET ${dep})
    add_dependencies(offshoot-reliability-tests ${dep})
  endif()
endforeach()

gtest_discover_tests(offshoot-reliability-tests
  DISCOVERY_TIMEOUT 60
  PROPERTIES LABELS reliability TIMEOUT 120)
unset(_reliability_dir)

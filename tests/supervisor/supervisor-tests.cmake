# Unit tests of the supervisor's parsers, policy, spec resolution and quotas, its cgroup engine
# against a fake cgroup v2 tree, and its namespace plans (no bus, no processes).
add_executable(offshoot-supervisor-unit-tests
  ${CMAKE_CURRENT_LIST_DIR}/cgroup_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/config_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/containment_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/namespace_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/options_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/policy_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/resolve_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/restart_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/return_value_test.cpp
)
target_compile_options(offshoot-supervisor-unit-tests PRIVATE ${OFFSHOOT_WARNINGS})
# offshoot-worker-lib: the class SDK's encoder of return values, to test the two ends together.
target_link_libraries(offshoot-supervisor-unit-tests PRIVATE offshootd-core offshoot-worker-lib GTest::gtest_main)
gtest_discover_tests(offshoot-supervisor-unit-tests PROPERTIES LABELS unit)

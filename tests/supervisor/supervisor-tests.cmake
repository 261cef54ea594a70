# Unit tests of the supervisor's parsers and policy (no bus, no processes).
add_executable(offshoot-supervisor-unit-tests
  ${CMAKE_CURRENT_LIST_DIR}/config_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/options_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/policy_test.cpp
)
target_compile_options(offshoot-supervisor-unit-tests PRIVATE ${OFFSHOOT_WARNINGS})
target_link_libraries(offshoot-supervisor-unit-tests PRIVATE offshootd-core GTest::gtest_main)
gtest_discover_tests(offshoot-supervisor-unit-tests PROPERTIES LABELS unit)

# tests/ctl/ — offshootctl's tests (included by tests/CMakeLists.txt).
#   offshoot-ctl-unit-tests   busctl notation in and out, no bus at all
#   offshoot-ctl-tests        every verb against a private dbus-daemon and the build tree's
#                             offshootd (label integration)
set(_ctl_tests_dir "${CMAKE_CURRENT_LIST_DIR}")
find_package(nlohmann_json 3 REQUIRED)

add_executable(offshoot-ctl-unit-tests
  ${_ctl_tests_dir}/busctl_format_test.cpp
  ${PROJECT_SOURCE_DIR}/tools/offshootctl/busctl_format.cpp)
target_include_directories(offshoot-ctl-unit-tests PRIVATE ${PROJECT_SOURCE_DIR}/tools/offshootctl
  $<TARGET_PROPERTY:offshoot-common,INTERFACE_INCLUDE_DIRECTORIES>)  # sd_ptr.hpp, fd.hpp
target_compile_options(offshoot-ctl-unit-tests PRIVATE ${OFFSHOOT_WARNINGS})
target_link_libraries(offshoot-ctl-unit-tests PRIVATE
  offshoot-client nlohmann_json::nlohmann_json PkgConfig::SYSTEMD GTest::gmock GTest::gtest_main)
gtest_discover_tests(offshoot-ctl-unit-tests
  DISCOVERY_TIMEOUT 60
  PROPERTIES LABELS unit TIMEOUT 30)

add_executable(offshoot-ctl-tests ${_ctl_tests_dir}/ctl_test.cpp)
target_include_directories(offshoot-ctl-tests PRIVATE ${PROJECT_SOURCE_DIR}/tests/integration)
target_compile_options(offshoot-ctl-tests PRIVATE ${OFFSHOOT_WARNINGS})
target_link_libraries(offshoot-ctl-tests PRIVATE
  offshoot-test-harness nlohmann_json::nlohmann_json GTest::gmock GTest::gtest_main)
target_compile_definitions(offshoot-ctl-tests PRIVATE OFFSHOOT_TEST_OFFSHOOTCTL="$<TARGET_FILE:offshootctl>")
# Building the tests builds what they run (offshootd finds its worker and plugins by itself).
foreach(_dep offshootctl offshootd offshoot-worker counter identity echo faulty sleeper)
  if(TARGET ${_dep})
    add_dependencies(offshoot-ctl-tests ${_dep})
  endif()
endforeach()
gtest_discover_tests(offshoot-ctl-tests
  DISCOVERY_TIMEOUT 60
  PROPERTIES LABELS integration TIMEOUT 120)

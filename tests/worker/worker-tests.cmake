# worker-tests.cmake — offshoot-worker's tests; included from tests/CMakeLists.txt.
#   worker-options-tests   unit tests of the argv parser (link the worker's internals)
#   worker-tests           the real binary, launched as offshootd would, driven by real
#                          clients: busctl, gdbus, dbus-send and an sdbus-c++ proxy; with
#                          the example task (Sleeper) and loop (Ticker) for the shapes
include_guard(GLOBAL)
if(NOT TARGET GTest::gtest_main)
  find_package(GTest REQUIRED)
endif()
include(GoogleTest)

set(_worker_tests_dir ${CMAKE_CURRENT_LIST_DIR})

# A hand-written class plugin (no generated adaptor) the tests load into the worker.
add_library(offshoot-test-probe MODULE ${_worker_tests_dir}/probe_plugin.cpp)
target_compile_options(offshoot-test-probe PRIVATE ${OFFSHOOT_WARNINGS})
target_include_directories(offshoot-test-probe PRIVATE ${PROJECT_SOURCE_DIR}/class-sdk/include)
target_link_libraries(offshoot-test-probe PRIVATE PkgConfig::SYSTEMD offshoot-names)
set_target_properties(offshoot-test-probe PROPERTIES
  PREFIX "" OUTPUT_NAME "worker-test-probe"
  LIBRARY_OUTPUT_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/worker-plugins")
# Its loop-shaped sibling (begin() throws on request).
add_library(offshoot-test-loop-probe MODULE ${_worker_tests_dir}/loop_probe_plugin.cpp)
target_compile_options(offshoot-test-loop-probe PRIVATE ${OFFSHOOT_WARNINGS})
target_include_directories(offshoot-test-loop-probe PRIVATE ${PROJECT_SOURCE_DIR}/class-sdk/include)
target_link_libraries(offshoot-test-loop-probe PRIVATE PkgConfig::SYSTEMD offshoot-names)
set_target_properties(offshoot-test-loop-probe PROPERTIES
  PREFIX "" OUTPUT_NAME "worker-test-loop-probe"
  LIBRARY_OUTPUT_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/worker-plugins")

add_executable(worker-options-tests ${_worker_tests_dir}/options_test.cpp)
target_compile_options(worker-options-tests PRIVATE ${OFFSHOOT_WARNINGS})
target_link_libraries(worker-options-tests PRIVATE offshoot-worker-core GTest::gtest_main)
gtest_discover_tests(worker-options-tests DISCOVERY_TIMEOUT 30)

add_executable(worker-tests
  ${_worker_tests_dir}/worker_launcher.cpp
  ${_worker_tests_dir}/worker_test.cpp
  ${_worker_tests_dir}/shapes_test.cpp)
target_compile_options(worker-tests PRIVATE ${OFFSHOOT_WARNINGS})
target_link_libraries(worker-tests PRIVATE SDBusCpp::sdbus-c++ GTest::gtest_main fmt::fmt)
target_compile_definitions(worker-tests PRIVATE
  OFFSHOOT_WORKER_PATH="$<TARGET_FILE:offshoot-worker>"
  PROBE_PLUGIN_PATH="$<TARGET_FILE:offshoot-test-probe>"
  LOOP_PROBE_PLUGIN_PATH="$<TARGET_FILE:offshoot-test-loop-probe>"
  SLEEPER_PLUGIN_PATH="$<TARGET_FILE:sleeper>"
  TICKER_PLUGIN_PATH="$<TARGET_FILE:ticker>")
target_link_libraries(worker-tests PRIVATE GTest::gmock)
add_dependencies(worker-tests offshoot-worker offshoot-test-probe offshoot-test-loop-probe sleeper ticker)
gtest_discover_tests(worker-tests DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 60 LABELS worker)

unset(_worker_tests_dir)

# tests/sdk/ — the SDK as an installed package (included by tests/CMakeLists.txt): installs this
# build into a staging prefix, builds examples/out-of-tree against it, and runs the staged
# offshootd with the example's class. Registered as ONE ctest test (label sdk) so that the
# install and the example's build happen once.
find_package(nlohmann_json 3 REQUIRED)
add_executable(offshoot-sdk-tests ${CMAKE_CURRENT_LIST_DIR}/sdk_test.cpp)
target_compile_options(offshoot-sdk-tests PRIVATE ${OFFSHOOT_WARNINGS})
target_link_libraries(offshoot-sdk-tests PRIVATE
  offshoot-test-harness nlohmann_json::nlohmann_json GTest::gmock GTest::gtest_main)
target_compile_definitions(offshoot-sdk-tests PRIVATE
  OFFSHOOT_TEST_BINARY_DIR="${CMAKE_BINARY_DIR}"
  OFFSHOOT_TEST_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  OFFSHOOT_TEST_LIBDIR="${CMAKE_INSTALL_LIBDIR}"
  # An out-of-tree program linking a sanitized liboffshoot-client must be sanitized too (the
  # ASan runtime has to come first in its library list).
  OFFSHOOT_TEST_SANITIZE_FLAGS="$<$<BOOL:${OFFSHOOT_SANITIZE}>:-fsanitize=address,undefined>")
# What the staged tree must hold is built first (the rest of `all` is needed by
# `cmake --install` too: run this after a full build, as ctest is).
foreach(_dep offshootd offshoot-worker offshootctl offshoot-adaptorgen offshoot-client offshoot-worker-lib)
  if(TARGET ${_dep})
    add_dependencies(offshoot-sdk-tests ${_dep})
  endif()
endforeach()
add_test(NAME sdk.InstalledPackageAndOutOfTreeClass COMMAND offshoot-sdk-tests)
set_tests_properties(sdk.InstalledPackageAndOutOfTreeClass PROPERTIES LABELS sdk TIMEOUT 900)

# adaptor-tests.cmake — included from tests/CMakeLists.txt: unit tests of the worker SDK
# (typed marshalling, offshoot::Variant) and of offshoot-adaptorgen's generated adaptors.
set(_offshoot_unit_dir "${CMAKE_CURRENT_LIST_DIR}")
find_package(Threads REQUIRED)

add_executable(test-marshal "${_offshoot_unit_dir}/test-marshal.cpp")
target_compile_options(test-marshal PRIVATE ${OFFSHOOT_WARNINGS})
target_link_libraries(test-marshal PRIVATE offshoot-worker-lib GTest::gtest_main)
gtest_discover_tests(test-marshal DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 60 LABELS unit)

add_executable(test-adaptorgen "${_offshoot_unit_dir}/test-adaptorgen.cpp")
offshoot_add_adaptor(test-adaptorgen "${_offshoot_unit_dir}/data/org.offshoot1.test.Everything.xml")
target_include_directories(test-adaptorgen PRIVATE "${_offshoot_unit_dir}")
target_compile_options(test-adaptorgen PRIVATE ${OFFSHOOT_WARNINGS})
target_link_libraries(test-adaptorgen PRIVATE offshoot-worker-lib GTest::gtest_main Threads::Threads)
gtest_discover_tests(test-adaptorgen DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 60 LABELS unit)

# The proxies a class calls back into its caller with (offshoot/caller.hpp), generated from
# data/org.offshoot1.test.Callback.xml next to the adaptor of the same file.
add_executable(test-peer-proxy "${_offshoot_unit_dir}/test-peer-proxy.cpp")
offshoot_add_adaptor(test-peer-proxy "${_offshoot_unit_dir}/data/org.offshoot1.test.Callback.xml")
offshoot_add_peer_proxy(test-peer-proxy "${_offshoot_unit_dir}/data/org.offshoot1.test.Callback.xml")
target_include_directories(test-peer-proxy PRIVATE "${_offshoot_unit_dir}")
target_compile_options(test-peer-proxy PRIVATE ${OFFSHOOT_WARNINGS})
target_link_libraries(test-peer-proxy PRIVATE offshoot-worker-lib GTest::gtest_main Threads::Threads)
gtest_discover_tests(test-peer-proxy DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 60 LABELS unit)

# The example class plugins, loaded and called as offshoot-worker does.
add_executable(test-adaptorgen-classes "${_offshoot_unit_dir}/test-adaptorgen-classes.cpp")
target_include_directories(test-adaptorgen-classes PRIVATE "${_offshoot_unit_dir}")
target_compile_options(test-adaptorgen-classes PRIVATE ${OFFSHOOT_WARNINGS})
target_compile_definitions(test-adaptorgen-classes PRIVATE
  OFFSHOOT_TEST_PLUGIN_DIR="${CMAKE_BINARY_DIR}/${OFFSHOOT_PLUGIN_SUBDIR}"
  OFFSHOOT_TEST_XML_DIR="${OFFSHOOT_XML_DIR}")
target_link_libraries(test-adaptorgen-classes PRIVATE offshoot-worker-lib GTest::gtest_main Threads::Threads ${CMAKE_DL_LIBS})
add_dependencies(test-adaptorgen-classes counter identity echo faulty)
gtest_discover_tests(test-adaptorgen-classes DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 60 LABELS unit)

# offshoot-adaptorgen's command line and its errors on bad XML.
add_executable(test-adaptorgen-cli "${_offshoot_unit_dir}/test-adaptorgen-cli.cpp")
target_compile_options(test-adaptorgen-cli PRIVATE ${OFFSHOOT_WARNINGS})
target_compile_definitions(test-adaptorgen-cli PRIVATE OFFSHOOT_ADAPTORGEN="$<TARGET_FILE:offshoot-adaptorgen>")
target_link_libraries(test-adaptorgen-cli PRIVATE GTest::gtest_main)
add_dependencies(test-adaptorgen-cli offshoot-adaptorgen)
gtest_discover_tests(test-adaptorgen-cli DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 60 LABELS unit)

# The shapes of work (offshoot::Task, offshoot::Loop) and how OFFSHOOT_CLASS records them,
# also in the example plugins.
add_executable(test-shapes "${_offshoot_unit_dir}/test-shapes.cpp")
target_compile_options(test-shapes PRIVATE ${OFFSHOOT_WARNINGS})
target_compile_definitions(test-shapes PRIVATE
  OFFSHOOT_TEST_PLUGIN_DIR="${CMAKE_BINARY_DIR}/${OFFSHOOT_PLUGIN_SUBDIR}")
target_link_libraries(test-shapes PRIVATE offshoot-worker-lib GTest::gtest_main Threads::Threads ${CMAKE_DL_LIBS})
add_dependencies(test-shapes counter identity echo faulty sleeper ticker)
gtest_discover_tests(test-shapes DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 60 LABELS unit)

# OffshootPackage.cmake — the SDK as an installed package: the CMake package (imported targets
# offshoot::client and offshoot::worker, OffshootCodegen's functions) under
# <libdir>/cmake/offshoot, and offshoot-worker.pc next to offshoot-client.pc. Included at the
# end of the top-level CMakeLists.txt, once both libraries exist.
include(CMakePackageConfigHelpers)

set(OFFSHOOT_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/offshoot")

# Names inside the package: offshoot::client, offshoot::worker. Both need C++20 from their users.
set_target_properties(offshoot-client PROPERTIES EXPORT_NAME client)
set_target_properties(offshoot-worker-lib PROPERTIES EXPORT_NAME worker)
foreach(lib offshoot-client offshoot-worker-lib)
  set_property(TARGET ${lib} APPEND PROPERTY INTERFACE_COMPILE_FEATURES cxx_std_20)
endforeach()

install(EXPORT offshootTargets
  NAMESPACE offshoot::
  DESTINATION "${OFFSHOOT_CMAKE_INSTALL_DIR}")
configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/offshootConfig.cmake.in"
  "${CMAKE_BINARY_DIR}/offshootConfig.cmake"
  INSTALL_DESTINATION "${OFFSHOOT_CMAKE_INSTALL_DIR}")
# 0.x: a new minor version may change the API, so only the same minor version matches.
write_basic_package_version_file("${CMAKE_BINARY_DIR}/offshootConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${CMAKE_BINARY_DIR}/offshootConfig.cmake"
  "${CMAKE_BINARY_DIR}/offshootConfigVersion.cmake"
  "${CMAKE_CURRENT_LIST_DIR}/OffshootCodegen.cmake"
  DESTINATION "${OFFSHOOT_CMAKE_INSTALL_DIR}")

# pkg-config for class authors; relocatable like offshoot-client.pc.
file(RELATIVE_PATH OFFSHOOT_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" OFFSHOOT_PC_TO_PREFIX "${OFFSHOOT_PC_TO_PREFIX}")
configure_file("${CMAKE_CURRENT_LIST_DIR}/offshoot-worker.pc.in" "${CMAKE_BINARY_DIR}/offshoot-worker.pc" @ONLY)
install(FILES "${CMAKE_BINARY_DIR}/offshoot-worker.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")

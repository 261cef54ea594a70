// offshoot/test/paths.hpp — where the build tree put the programs and files under test
// (set by tests/harness/CMakeLists.txt from the targets).
#pragma once

#include <filesystem>

namespace offshoot::test {

std::filesystem::path offshootd_path();
std::filesystem::path xml_interfaces_dir();

}  // namespace offshoot::test

// paths.cpp — build-tree paths, from compile definitions.
#include "offshoot/test/paths.hpp"

namespace offshoot::test {

std::filesystem::path offshootd_path() { return OFFSHOOT_TEST_OFFSHOOTD; }
std::filesystem::path xml_interfaces_dir() { return OFFSHOOT_TEST_XML_DIR; }

}  // namespace offshoot::test

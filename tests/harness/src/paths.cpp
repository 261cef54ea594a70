// paths.cpp — build-tree paths, from compile definitions.
#include "offshoot/test/paths.hpp"

#include <cstdlib>

namespace offshoot::test {

// $OFFSHOOT_TEST_OFFSHOOTD names another offshootd (an older install, say: to show that a test
// fails without the fix it comes with); the default is the build tree's.
std::filesystem::path offshootd_path() {
    const char* other = std::getenv("OFFSHOOT_TEST_OFFSHOOTD");
    return other && *other ? other : OFFSHOOT_TEST_OFFSHOOTD;
}
std::filesystem::path xml_interfaces_dir() { return OFFSHOOT_TEST_XML_DIR; }

}  // namespace offshoot::test

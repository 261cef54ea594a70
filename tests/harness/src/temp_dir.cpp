// temp_dir.cpp — mkdtemp-backed temporary directories.
#include "offshoot/test/temp_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>
#include <vector>

namespace offshoot::test {

TempDir::TempDir(std::string_view prefix, mode_t mode) {
    std::string tmpl = "/tmp/" + std::string(prefix) + ".XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data()))
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
    path_ = buf.data();
    if (::chmod(path_.c_str(), mode) < 0)
        throw std::system_error(errno, std::generic_category(), "chmod " + path_.string());
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir::~TempDir() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

void make_dir(const std::filesystem::path& path, mode_t mode, uid_t uid, gid_t gid) {
    if (::mkdir(path.c_str(), mode) < 0)
        throw std::system_error(errno, std::generic_category(), "mkdir " + path.string());
    if (::chmod(path.c_str(), mode) < 0)
        throw std::system_error(errno, std::generic_category(), "chmod " + path.string());
    if (::chown(path.c_str(), uid, gid) < 0)
        throw std::system_error(errno, std::generic_category(), "chown " + path.string());
}

}  // namespace offshoot::test

// offshoot/test/temp_dir.hpp — a fresh directory under /tmp (mkdtemp), removed with its
// contents when the object goes away.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace offshoot::test {

class TempDir {
public:
    // /tmp is used rather than $TMPDIR: unprivileged test peers (uid 65534, 1) must be able
    // to traverse every parent of the paths the tests hand them.
    explicit TempDir(std::string_view prefix = "offshoot-test", mode_t mode = 0700);
    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&&) = delete;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();

    const std::filesystem::path& path() const noexcept { return path_; }
    std::string str() const { return path_.string(); }
    std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

// Creates a directory with exactly this mode (umask does not apply) and owner.
void make_dir(const std::filesystem::path& path, mode_t mode, uid_t uid = 0, gid_t gid = 0);

}  // namespace offshoot::test

// identity.cpp — Identity: reports who and where the instance runs (uid, gid, groups, cwd,
// pid) and touches files relative to its own working directory, the "each instance needs its
// own cwd" use case. Failures answer org.offshoot1.example.Identity.Error with strerror.
#include "org.offshoot1.example.Identity_adaptor.hpp"

#include <offshoot/worker.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr const char* identity_error = "org.offshoot1.example.Identity.Error";

[[noreturn]] void fail(const std::string& what, int err) {
    throw offshoot::Error(identity_error, what + ": " + std::strerror(err));
}

// Closes on every path out of ReadFile/WriteFile.
class FileDescriptor {
public:
    explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const noexcept { return fd_; }
    // close() reports write-back errors (NFS, full disk) that a destructor would lose.
    int close() noexcept { return ::close(std::exchange(fd_, -1)); }

private:
    int fd_;
};

class Identity final : public org::offshoot1::example::Identity_adaptor {
public:
    std::tuple<uint32_t, uint32_t, std::vector<uint32_t>, std::string, uint32_t> Describe() override {
        const int count = ::getgroups(0, nullptr);
        if (count < 0) fail("getgroups", errno);
        std::vector<gid_t> groups(static_cast<size_t>(count));
        const int got = ::getgroups(count, groups.data());
        if (got < 0) fail("getgroups", errno);
        groups.resize(static_cast<size_t>(got));
        return {::getuid(), ::getgid(), std::vector<uint32_t>(groups.begin(), groups.end()), cwd(),
                static_cast<uint32_t>(::getpid())};
    }

    void ChangeDirectory(const std::string& path) override {
        if (::chdir(path.c_str()) < 0) fail("ChangeDirectory '" + path + "'", errno);
    }

    void WriteFile(const std::string& name, const std::string& content) override {
        check_name("WriteFile", name);
        FileDescriptor fd(::open(name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0666));
        if (fd.get() < 0) fail("WriteFile '" + name + "'", errno);
        size_t done = 0;
        while (done < content.size()) {
            const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
            if (n < 0) {
                if (errno == EINTR) continue;
                fail("WriteFile '" + name + "'", errno);
            }
            done += static_cast<size_t>(n);
        }
        if (fd.close() < 0) fail("WriteFile '" + name + "'", errno);
    }

    std::string ReadFile(const std::string& name) override {
        check_name("ReadFile", name);
        FileDescriptor fd(::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
        if (fd.get() < 0) fail("ReadFile '" + name + "'", errno);
        std::string content;
        char buffer[65536];
        for (;;) {
            const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
            if (n < 0) {
                if (errno == EINTR) continue;
                fail("ReadFile '" + name + "'", errno);
            }
            if (n == 0) break;
            content.append(buffer, static_cast<size_t>(n));
            if (content.size() > max_file_size)
                throw offshoot::Error(identity_error, "ReadFile '" + name + "': larger than 64 MiB");
        }
        // A D-Bus string must be UTF-8 without NUL bytes; say so rather than fail in marshalling.
        if (!offshoot::detail::is_valid_dbus_string(content))
            throw offshoot::Error(identity_error, "ReadFile '" + name + "': not UTF-8 text");
        return content;
    }

private:
    // D-Bus messages are at most 128 MiB; stay well below.
    static constexpr size_t max_file_size = 64u << 20;

    static void check_name(const char* method, const std::string& name) {
        if (name.empty()) throw offshoot::Error(identity_error, std::string(method) + ": empty file name");
    }

    static std::string cwd() {
        std::vector<char> buffer(256);
        for (;;) {
            if (::getcwd(buffer.data(), buffer.size())) return buffer.data();
            if (errno != ERANGE) fail("getcwd", errno);
            buffer.resize(buffer.size() * 2);
        }
    }
};

}  // namespace

OFFSHOOT_CLASS(Identity)

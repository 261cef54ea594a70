// identity.cpp — Identity: reports who and where the instance runs (uid, gid, groups, cwd,
// pid) and touches files relative to its own working directory, the "each instance needs its
// own cwd" use case. Failures answer org.offshoot1.example.Identity.Error with the errno text.
#include "org.offshoot1.example.Identity_adaptor.hpp"

#include <offshoot/worker.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

constexpr const char* identity_error = "org.offshoot1.example.Identity.Error";

[[noreturn]] void fail(const std::string& what, int err) {
    throw offshoot::Error(identity_error, what + ": " + offshoot::errno_text(err));
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

    // WriteFile and ReadFile run on a thread of their own and answer through their Result: a
    // file that blocks (a FIFO with nobody at the other end) must not hold up every other
    // caller of this instance, nor its stop() hook (offshoot/result.hpp).
    void WriteFile(offshoot::Result<> result, const std::string& name, const std::string& content) override {
        in_background(std::move(result), [name, content] {
            write_file(name, content);
            return std::tuple<>{};
        });
    }

    void ReadFile(offshoot::Result<std::string> result, const std::string& name) override {
        in_background(std::move(result), [name] { return std::make_tuple(read_file(name)); });
    }

private:
    // Calls in flight on threads of their own; past the bound a call is refused rather than
    // starting yet another thread that may block for good.
    static constexpr int max_in_flight = 16;
    std::shared_ptr<std::atomic<int>> in_flight_ = std::make_shared<std::atomic<int>>(0);

    template <class... T, class Work>
    void in_background(offshoot::Result<T...> result, Work work) {
        if (in_flight_->fetch_add(1) >= max_in_flight) {
            in_flight_->fetch_sub(1);
            throw offshoot::Error(offshoot::errors::dbus_limits_exceeded,
                                  std::to_string(max_in_flight) + " file calls are already in progress");
        }
        // The thread owns what it needs (not `this`): it may outlive the object at exit.
        std::thread([result = std::move(result), work = std::move(work), in_flight = in_flight_]() mutable {
            try {
                std::apply([&](const T&... values) { result.return_value(values...); }, work());
            } catch (const offshoot::Error& e) {
                result.return_error(e);
            } catch (const std::exception& e) {
                result.return_error(offshoot::Error(identity_error, e.what()));
            }
            in_flight->fetch_sub(1);
        }).detach();
    }

    static void write_file(const std::string& name, const std::string& content) {
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

    static std::string read_file(const std::string& name) {
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

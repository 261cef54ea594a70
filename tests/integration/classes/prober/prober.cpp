// prober.cpp — Prober, a test-only class: reports from inside a worker what the worker may
// still do (regain root, make a filtered system call) and what it inherited (fds, environment,
// limits, session). The security tests compare its answers with /proc seen from outside.
#include "org.offshoot1.test.Prober_adaptor.hpp"

#include <offshoot/worker.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

constexpr const char* prober_error = "org.offshoot1.test.Prober.Error";

int errno_of(int result) { return result < 0 ? errno : 0; }

class Prober final : public org::offshoot1::test::Prober_adaptor {
public:
    std::tuple<int32_t, int32_t, int32_t> TryRegainRoot() override {
        const int uid = errno_of(::setresuid(0, 0, 0));
        const int gid = errno_of(::setresgid(0, 0, 0));
        const gid_t root_group = 0;
        const int groups = errno_of(::setgroups(1, &root_group));
        return {uid, gid, groups};
    }

    std::vector<std::string> Fds() override {
        DIR* dir = ::opendir("/proc/self/fd");
        if (!dir) throw offshoot::Error(prober_error, "opendir /proc/self/fd failed");
        const int own = ::dirfd(dir);
        std::vector<std::string> out;
        while (const dirent* e = ::readdir(dir)) {
            const std::string name = e->d_name;
            if (name == "." || name == ".." || name == std::to_string(own)) continue;
            char target[PATH_MAX];
            const ssize_t n = ::readlinkat(own, e->d_name, target, sizeof target - 1);
            out.push_back(name + " -> " + (n < 0 ? std::string("?") : std::string(target, static_cast<size_t>(n))));
        }
        ::closedir(dir);
        return out;
    }

    std::vector<std::string> Env() override {
        std::vector<std::string> out;
        for (char** e = environ; e && *e; ++e) out.emplace_back(*e);
        return out;
    }

    std::string Limits() override {
        std::ifstream in("/proc/self/limits");
        std::ostringstream s;
        s << in.rdbuf();
        return s.str();
    }

    int32_t TrySyscall(const std::string& name) override {
        if (name == "chdir") return errno_of(::chdir("/"));
        if (name == "getpid") return errno_of(::getpid());
        if (name == "unshare") return errno_of(::unshare(CLONE_NEWUSER));
        if (name == "mount") return errno_of(::mount("none", "/nonexistent-offshoot", "tmpfs", 0, nullptr));
        if (name == "ptrace") return errno_of(static_cast<int>(::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr)));
        if (name == "setuid") return errno_of(::setuid(0));
        if (name == "setsid") return errno_of(::setsid());
        if (name == "int80-getpid") {
            // getpid is 20 in the i386 table; a 32-bit ABI call the seccomp filter must deny.
            long r = 20;
            __asm__ volatile("int $0x80" : "+a"(r) : : "memory");
            return r < 0 ? static_cast<int32_t>(-r) : 0;
        }
        throw offshoot::Error(prober_error, "TrySyscall: unknown name '" + name + "'");
    }

    void Print(const std::string& text) override {
        for (size_t done = 0; done < text.size();) {
            const ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw offshoot::Error(prober_error, "write to stderr failed");
            done += static_cast<size_t>(n);
        }
    }

    std::string DescribeFd(const sdbus::UnixFd& fd) override {
        char target[PATH_MAX];
        const std::string link = "/proc/self/fd/" + std::to_string(fd.get());
        const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
        if (n < 0) throw offshoot::Error(prober_error, "readlink " + link + " failed");
        return std::string(target, static_cast<size_t>(n));
    }

    std::tuple<int32_t, int32_t, int32_t, std::string> Session() override {
        std::string tty;
        const int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd >= 0) {
            const char* name = ::ttyname(fd);
            tty = name ? name : "(unnamed tty)";
            ::close(fd);
        }
        return {static_cast<int32_t>(::getsid(0)), static_cast<int32_t>(::getpgid(0)),
                static_cast<int32_t>(::getpid()), tty};
    }
};

}  // namespace

OFFSHOOT_CLASS(Prober)

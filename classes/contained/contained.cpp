// contained.cpp — Contained: takes memory, forks, spins, lists the network interfaces and
// touches files on request, so that an instance's containment (cgroup limits, namespaces)
// can be seen at work. System-call failures are answered as errno values, not errors: the
// caller sees what the kernel said.
#include "org.offshoot1.example.Contained_adaptor.hpp"

#include <offshoot/worker.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace {

constexpr const char* contained_error = "org.offshoot1.example.Contained.Error";

uint64_t now_usec(clockid_t clock) {
    timespec ts{};
    ::clock_gettime(clock, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

class Contained final : public org::offshoot1::example::Contained_adaptor {
public:
    uint64_t Allocate(const uint64_t& bytes) override {
        constexpr uint64_t chunk = 1 << 20;
        for (uint64_t done = 0; done < bytes; done += chunk) {
            const size_t n = static_cast<size_t>(std::min(chunk, bytes - done));
            auto block = std::make_unique<char[]>(n);
            // Touch every page: memory is charged when it is written, not when it is reserved.
            for (size_t i = 0; i < n; i += 4096) block[i] = 1;
            held_ += n;
            blocks_.push_back(std::move(block));
        }
        return held_;
    }

    void Free() override {
        blocks_.clear();
        held_ = 0;
    }

    std::tuple<uint32_t, int32_t> Fork(const uint32_t& count) override {
        int gate[2];
        if (::pipe2(gate, O_CLOEXEC) < 0) throw offshoot::Error(contained_error, std::string("pipe: ") + std::strerror(errno));
        std::vector<pid_t> children;
        int first_error = 0;
        for (uint32_t i = 0; i < count && first_error == 0; ++i) {
            const pid_t pid = ::fork();
            if (pid == 0) {
                // Wait until the parent closes its end, then go: only async-signal-safe calls.
                char c;
                ::close(gate[1]);
                while (::read(gate[0], &c, 1) < 0 && errno == EINTR) {
                }
                _exit(0);
            }
            if (pid < 0) first_error = errno;
            else children.push_back(pid);
        }
        ::close(gate[0]);
        ::close(gate[1]);
        for (pid_t pid : children)
            while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
            }
        return {static_cast<uint32_t>(children.size()), first_error};
    }

    uint32_t Leave(const uint64_t& msec) override {
        const timespec pause{static_cast<time_t>(msec / 1000), static_cast<long>(msec % 1000) * 1'000'000};
        const pid_t pid = ::fork();
        if (pid < 0) throw offshoot::Error(contained_error, std::string("fork: ") + std::strerror(errno));
        if (pid == 0) {
            ::nanosleep(&pause, nullptr);
            _exit(0);
        }
        return static_cast<uint32_t>(pid);
    }

    uint64_t Spin(const uint64_t& msec) override {
        const uint64_t cpu0 = now_usec(CLOCK_THREAD_CPUTIME_ID);
        const uint64_t end = now_usec(CLOCK_MONOTONIC) + msec * 1000;
        volatile uint64_t sink = 0;
        while (now_usec(CLOCK_MONOTONIC) < end)
            for (int i = 0; i < 10000; ++i) sink = sink + static_cast<uint64_t>(i);
        return now_usec(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    }

    std::vector<std::string> Interfaces() override {
        std::vector<std::string> names;
        struct if_nameindex* list = ::if_nameindex();
        if (!list) throw offshoot::Error(contained_error, std::string("if_nameindex: ") + std::strerror(errno));
        for (const struct if_nameindex* i = list; i->if_index != 0; ++i) names.emplace_back(i->if_name);
        ::if_freenameindex(list);
        std::sort(names.begin(), names.end());
        return names;
    }

    int32_t WriteFile(const std::string& path, const std::string& content) override {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) return errno;
        const ssize_t n = ::write(fd, content.data(), content.size());
        const int err = n < 0 ? errno : n != static_cast<ssize_t>(content.size()) ? EIO : 0;
        return ::close(fd) < 0 && err == 0 ? errno : err;
    }

    std::tuple<int32_t, std::string> ReadFile(const std::string& path) override {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return {errno, ""};
        std::string content;
        char buf[4096];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0 && content.size() < (1 << 20)) content.append(buf, static_cast<size_t>(n));
        const int err = n < 0 ? errno : 0;
        ::close(fd);
        return {err, content};
    }

    std::tuple<int32_t, std::vector<std::string>> ListDirectory(const std::string& path) override {
        DIR* dir = ::opendir(path.c_str());
        if (!dir) return {errno, {}};
        std::vector<std::string> names;
        while (const dirent* e = ::readdir(dir))
            if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
        ::closedir(dir);
        std::sort(names.begin(), names.end());
        return {0, names};
    }

private:
    std::vector<std::unique_ptr<char[]>> blocks_;
    uint64_t held_ = 0;
};

}  // namespace

OFFSHOOT_CLASS(Contained)

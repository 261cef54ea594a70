// baselines.cpp — what offshoot is measured against, in the same run and the same placement:
//   baseline/raw_socketpair            8-byte ping-pong between two processes (the machine's limit)
//   baseline/raw_socketpair_copy/<B>   B bytes there and back over a socketpair
//   baseline/posix_spawn_true          posix_spawn + waitpid of /bin/true
//   baseline/posix_spawn_sdbus_exit    … of offshoot-bench-sdbus-exit, a C++ program linked with
//                                      libsystemd that exits at once (helpers/sdbus_exit.cpp)
//   baseline/posix_spawn_worker_exit   … of offshoot-worker without arguments: the real binary's
//                                      exec and dynamic linking, then main() refuses its empty
//                                      command line and exits 1 (its stderr goes to /dev/null)
//                                      — the floor under spawn/offshoot_sdbus that an exec'd
//                                      worker cannot get below
//   baseline/dbus_daemon_sdbus         Echo.Ping with sd-bus, routed through the private
//                                      dbus-daemon to offshoot-bench-sdbus-server (a plain
//                                      D-Bus service owning a name there)
// The peer processes are children of this one, so they inherit its CPU affinity.
#include "common.hpp"

#include <offshoot/common/fd.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

extern char** environ;

namespace offshoot::bench {
namespace {

// Reads or writes exactly n bytes; false on EOF or error.
bool read_all(int fd, void* buf, size_t n) {
    auto* p = static_cast<char*>(buf);
    while (n > 0) {
        ssize_t r = ::read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

bool write_all(int fd, const void* buf, size_t n) {
    auto* p = static_cast<const char*>(buf);
    while (n > 0) {
        ssize_t r = ::write(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

// A forked peer that echoes `size`-byte blocks on a socketpair until EOF. The child only
// calls close/read/write/_exit (async-signal-safe), so forking a process with threads is fine.
class EchoChild {
public:
    explicit EchoChild(size_t size) : buffer_(size) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) fail("socketpair");
        Fd ours(sv[0]), theirs(sv[1]);
        pid_ = ::fork();
        if (pid_ < 0) fail("fork");
        if (pid_ == 0) {
            ours.reset();
            while (read_all(theirs.get(), buffer_.data(), size) && write_all(theirs.get(), buffer_.data(), size)) {
            }
            ::_exit(0);
        }
        fd_ = std::move(ours);
    }
    ~EchoChild() {
        fd_.reset();  // EOF: the child leaves its loop
        int status;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
    EchoChild(const EchoChild&) = delete;
    EchoChild& operator=(const EchoChild&) = delete;

    void round_trip(std::vector<char>& out, std::vector<char>& in) {
        if (!write_all(fd_.get(), out.data(), out.size()) || !read_all(fd_.get(), in.data(), in.size()))
            fail("socketpair round trip");
    }

private:
    std::vector<char> buffer_;
    pid_t pid_ = -1;
    Fd fd_;
};

void raw_socketpair(benchmark::State& state) {
    size_t size = static_cast<size_t>(state.range(0));
    EchoChild child(size);
    std::vector<char> out(size, 'x'), in(size);
    for (int i = 0; i < 100; ++i) child.round_trip(out, in);  // warm-up: both sides faulted in
    Samples s(state.max_iterations);
    for (auto _ : state) timed(s, [&] { child.round_trip(out, in); });
    s.report(state, size >= 64 ? static_cast<double>(size) : 0);
}

// posix_spawn + waitpid of `exe` with no arguments, its stdout and stderr on /dev/null; its exit
// status is not looked at (the worker's is 1: no command line).
void posix_spawn_exit(benchmark::State& state, const std::string& exe) {
    if (::access(exe.c_str(), X_OK) != 0) fail(exe + ": " + std::strerror(errno));
    std::string arg0 = exe;
    char* argv[] = {arg0.data(), nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    Samples s(state.max_iterations);
    for (auto _ : state) {
        timed(s, [&] {
            pid_t pid;
            int r = ::posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv, environ);
            if (r != 0) fail("posix_spawn " + exe + ": " + std::strerror(r));
            int status;
            while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
        });
    }
    posix_spawn_file_actions_destroy(&fa);
    s.report(state);
}

// offshoot-bench-sdbus-server, started on first use with this process's affinity and ended
// (SIGTERM) at exit.
constexpr const char* broker_service_name = "org.offshoot1.bench.Echo";

class BrokerService {
public:
    BrokerService() {
        std::string exe = config().helper_dir + "/offshoot-bench-sdbus-server";
        std::string a1 = "--address=" + config().bus, a2 = std::string("--name=") + broker_service_name;
        char* argv[] = {exe.data(), a1.data(), a2.data(), nullptr};
        int ready[2];
        if (::pipe2(ready, O_CLOEXEC) < 0) fail("pipe");
        Fd ready_read(ready[0]), ready_write(ready[1]);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, ready_write.get(), STDOUT_FILENO);
        int r = ::posix_spawn(&pid_, exe.c_str(), &fa, nullptr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        ready_write.reset();  // the child's copy is its stdout now: EOF if it dies first
        if (r != 0) fail("starting " + exe + ": " + std::strerror(r));
        char line[16] = {};
        // It prints READY once it owns its name.
        if (!read_all(ready_read.get(), line, 6) || std::strncmp(line, "READY\n", 6) != 0)
            fail(exe + " did not become ready");
    }
    ~BrokerService() {
        ::kill(pid_, SIGTERM);
        int status;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }

private:
    pid_t pid_ = -1;
};

BrokerService& broker_service() {
    static BrokerService service;
    return service;
}

void dbus_daemon_sdbus(benchmark::State& state) {
    broker_service();
    BusPtr bus = open_bus(config().bus);
    for (int i = 0; i < 100; ++i) sdbus_ping(bus.get(), broker_service_name, i);
    Samples s(state.max_iterations);
    int64_t v = 0;
    for (auto _ : state) timed(s, [&] { sdbus_ping(bus.get(), broker_service_name, ++v); });
    s.report(state);
}

}  // namespace

void register_baselines() {
    const auto& c = config();
    benchmark::RegisterBenchmark("baseline/raw_socketpair", raw_socketpair)
        ->Arg(8)->Iterations(c.calls)->Unit(benchmark::kMicrosecond)->UseRealTime();
    for (int64_t size : payload_sizes) {
        int64_t n = std::clamp<int64_t>(c.payload_budget / size, 1, c.calls);
        benchmark::RegisterBenchmark("baseline/raw_socketpair_copy", raw_socketpair)
            ->Arg(size)->Iterations(n)->Unit(benchmark::kMicrosecond)->UseRealTime();
    }
    const std::pair<const char*, std::string> spawned[] = {
        {"baseline/posix_spawn_true", "/bin/true"},
        {"baseline/posix_spawn_sdbus_exit", c.helper_dir + "/offshoot-bench-sdbus-exit"},
        {"baseline/posix_spawn_worker_exit", c.helper_dir + "/../libexec/offshoot/offshoot-worker"},
    };
    for (const auto& [name, exe] : spawned)
        benchmark::RegisterBenchmark(name, posix_spawn_exit, exe)
            ->Iterations(c.spawns)->Unit(benchmark::kMicrosecond)->UseRealTime();
    benchmark::RegisterBenchmark("baseline/dbus_daemon_sdbus", dbus_daemon_sdbus)
        ->Iterations(c.calls)->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace offshoot::bench

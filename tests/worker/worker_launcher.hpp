// worker_launcher.hpp — launches offshoot-worker the way offshootd does (minus the
// credentials): a listening unix socket as fd 3 (LISTEN_FDS=1, LISTEN_PID), a SOCK_SEQPACKET
// readiness channel as fd 4 (OFFSHOOT_NOTIFY_FD=4); and runs client programs with a deadline.
// Every process started here is killed and reaped by its owner's destructor.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace offshoot::test {

using namespace std::chrono_literals;

// A private temporary directory, removed with its contents.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};

// Waits for a child with a deadline (pidfd + poll); SIGKILLs and reaps in the destructor.
class Child {
public:
    Child() = default;
    explicit Child(pid_t pid);
    Child(Child&& o) noexcept;
    Child& operator=(Child&& o) noexcept;
    ~Child();

    pid_t pid() const noexcept { return pid_; }
    // The wait status, or nullopt if the child is still running at the deadline.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    void kill(int sig) const;

private:
    pid_t pid_ = -1;
    int pidfd_ = -1;
    std::optional<int> status_;
};

struct WorkerConfig {
    std::string plugin = PROBE_PLUGIN_PATH;
    std::string class_name = "Probe";
    uint64_t instance = 7;
    uid_t owner_uid = 0;
    std::string stop_mode;                  // empty: no --stop-mode
    std::vector<std::string> arguments;     // after "--"
    mode_t socket_mode = 0600;
    mode_t dir_mode = 0700;
    bool pass_listen_fds = true;            // false: no LISTEN_* at all
    bool wrong_listen_pid = false;          // LISTEN_PID of another process
    std::vector<std::string> extra_options; // inserted before "--"
    std::string cwd;                        // empty: the test's own
};

class Worker {
public:
    explicit Worker(WorkerConfig config = {});
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // The one datagram on the readiness channel; "" on end of file, "TIMEOUT" at the deadline.
    std::string wait_message(std::chrono::milliseconds timeout = 10s);
    // wait_message() == "READY=1".
    bool wait_ready(std::chrono::milliseconds timeout = 10s);

    const std::string& dir() const noexcept { return dir_.path(); }
    const std::string& socket_path() const noexcept { return socket_path_; }
    std::string address() const { return "unix:path=" + socket_path_; }
    Child& process() noexcept { return child_; }
    int open_sockets() const;  // sockets among the worker's descriptors

private:
    TempDir dir_;
    std::string socket_path_;
    int notify_fd_ = -1;
    Child child_;
};

struct CommandResult {
    bool timed_out = false;
    int status = -1;  // wait status
    std::string out;  // stdout and stderr, interleaved
    bool succeeded() const;
};

// Runs argv (argv[0] looked up in PATH). With as_uid, the child drops to that uid/gid (and
// no supplementary groups) before exec.
CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 20s,
                  std::optional<uid_t> as_uid = std::nullopt);

}  // namespace offshoot::test

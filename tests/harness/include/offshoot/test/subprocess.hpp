// offshoot/test/subprocess.hpp — child processes for the tests: fork/exec with arguments,
// environment and passed-down fds, waited for through a pidfd with a deadline, killed when the
// object goes away; and run(), which runs a command to completion and captures its output.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "offshoot/test/deadline.hpp"

namespace offshoot::test {

struct ExitStatus {
    int code = -1;    // exit code when the process exited
    int signal = 0;   // signal number when it was killed
    bool exited() const noexcept { return signal == 0 && code >= 0; }
    bool success() const noexcept { return exited() && code == 0; }
    std::string describe() const;
};

struct SubprocessOptions {
    std::vector<std::string> argv;       // argv[0] is searched in $PATH when it has no '/'
    std::vector<std::string> env_set;    // KEY=VALUE, added to (replacing in) the inherited env
    std::vector<std::string> env_unset;  // KEYs removed from the inherited env
    // Where stdout and stderr go: a file (appended to; both may name the same file), or a
    // pipe the caller reads through stdout_fd()/stderr_fd() when left empty.
    std::optional<std::filesystem::path> stdout_file;
    std::optional<std::filesystem::path> stderr_file;
    std::vector<std::pair<int, int>> pass_fds;  // {fd here, fd number in the child (>= 3)}
    // setsid() in the child, as systemd does for every service: the process leads a session
    // of its own, and so (with CONFIG_SCHED_AUTOGROUP) gets a scheduler group of its own.
    bool new_session = false;
};

class Subprocess {
public:
    explicit Subprocess(const SubprocessOptions& options);
    // Runs fn in a forked child (no exec) and exits with its return value. The test process
    // has no other threads when this is used, so fn may do more than async-signal-safe calls.
    static Subprocess fork(const std::function<int()>& fn);

    Subprocess(Subprocess&& other) noexcept;
    Subprocess& operator=(Subprocess&&) = delete;
    Subprocess(const Subprocess&) = delete;
    Subprocess& operator=(const Subprocess&) = delete;
    // SIGKILLs and reaps a child that is still there.
    ~Subprocess();

    pid_t pid() const noexcept { return pid_; }
    int pidfd() const noexcept { return pidfd_; }
    int stdout_fd() const noexcept { return stdout_fd_; }
    int stderr_fd() const noexcept { return stderr_fd_; }

    // The exit status once the process is gone, or nullopt if the deadline passed first.
    std::optional<ExitStatus> wait(const Deadline& deadline);
    // Non-blocking: whether the process has ended (reaps it if so).
    bool finished();
    const std::optional<ExitStatus>& status() const noexcept { return status_; }
    void kill(int signal);
    // SIGTERM, wait up to `grace`, then SIGKILL. `needed_kill` says whether SIGKILL was needed.
    ExitStatus terminate(Clock::duration grace, bool* needed_kill = nullptr);

private:
    Subprocess() = default;
    void reap_blocking();

    pid_t pid_ = -1;
    int pidfd_ = -1;
    int stdout_fd_ = -1;
    int stderr_fd_ = -1;
    std::optional<ExitStatus> status_;
};

// Reads `fd` (a child's stdout or stderr pipe) until `text` has appeared, the pipe ends or the
// deadline passes; returns what was read.
std::string read_until(int fd, const std::string& text, const Deadline& deadline);
// The same for texts that must appear in this order (each after the one before).
std::string read_until_all(int fd, const std::vector<std::string>& texts, const Deadline& deadline);

struct RunResult {
    ExitStatus status;
    std::string out;
    std::string err;
    bool timed_out = false;
    bool ok() const noexcept { return !timed_out && status.success(); }
    // For assertion messages: the command's status and both outputs.
    std::string describe() const;
};

// Runs a command (busctl, gdbus, dbus-send, …) to completion, capturing stdout and stderr.
// A command still running at the deadline is killed and reported with timed_out.
RunResult run(const std::vector<std::string>& argv, Clock::duration timeout = 10s);

}  // namespace offshoot::test

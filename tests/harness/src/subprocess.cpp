// subprocess.cpp — fork/exec, pidfd-based waits and run().
#include "offshoot/test/subprocess.hpp"
#include "offshoot/test/pidfd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace offshoot::test {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

std::string find_in_path(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    const char* path = ::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        auto end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        std::string candidate = dirs.substr(start, end - start) + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        start = end + 1;
    }
    throw std::runtime_error("not found in $PATH: " + name);
}

std::vector<std::string> build_env(const SubprocessOptions& o) {
    std::vector<std::string> env;
    auto key_of = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
    std::set<std::string> dropped(o.env_unset.begin(), o.env_unset.end());
    for (const auto& kv : o.env_set) dropped.insert(key_of(kv));
    for (char** e = environ; *e; ++e) {
        std::string kv = *e;
        if (!dropped.count(key_of(kv))) env.push_back(std::move(kv));
    }
    env.insert(env.end(), o.env_set.begin(), o.env_set.end());
    return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
    std::vector<char*> out;
    for (auto& s : v) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

// Child side, between fork and exec: only async-signal-safe calls. Reports a failure by
// exiting with 127 after writing a short message to stderr.
[[noreturn]] void child_fail(const char* what) {
    int e = errno;
    (void)!::write(2, "offshoot-test: child setup failed: ", 35);
    (void)!::write(2, what, std::strlen(what));
    const char* reason = strerrordesc_np(e);
    if (reason) {
        (void)!::write(2, ": ", 2);
        (void)!::write(2, reason, std::strlen(reason));
    }
    (void)!::write(2, "\n", 1);
    ::_exit(127);
}

void child_common_setup() {
    // Dies with the test process, so a crashed test leaves no daemons behind.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) child_fail("PR_SET_PDEATHSIG");
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGCHLD, SIGHUP}) ::signal(sig, SIG_DFL);
}

int open_output(const std::optional<std::filesystem::path>& file, int* parent_end) {
    if (file) {
        int fd = ::open(file->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0) throw_errno("open " + file->string());
        return fd;
    }
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) throw_errno("pipe2");
    *parent_end = p[0];
    return p[1];
}

ExitStatus status_from(const siginfo_t& info) {
    ExitStatus s;
    if (info.si_code == CLD_EXITED) {
        s.code = info.si_status;
    } else {
        s.signal = info.si_status;
    }
    return s;
}

}  // namespace

std::string ExitStatus::describe() const {
    if (signal) return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
    return "exited with code " + std::to_string(code);
}

Subprocess::Subprocess(const SubprocessOptions& options) {
    if (options.argv.empty()) throw std::invalid_argument("Subprocess: empty argv");
    std::vector<std::string> argv = options.argv;
    argv[0] = find_in_path(argv[0]);
    std::vector<std::string> env = build_env(options);
    std::vector<char*> c_argv = c_strings(argv);
    std::vector<char*> c_env = c_strings(env);

    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) throw_errno("open /dev/null");
    int out_child = -1, err_child = -1;
    try {
        out_child = open_output(options.stdout_file, &stdout_fd_);
        err_child = open_output(options.stderr_file, &stderr_fd_);
    } catch (...) {
        ::close(devnull);
        if (out_child >= 0) ::close(out_child);
        if (stdout_fd_ >= 0) ::close(stdout_fd_);
        throw;
    }
    // Highest fd the child keeps; everything above is closed.
    int max_target = 2;
    for (auto [from, to] : options.pass_fds) max_target = std::max(max_target, to);

    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        child_common_setup();
        if (options.new_session && ::setsid() < 0) child_fail("setsid");
        // Move every fd the child keeps above all target numbers first, so dup2 into the
        // targets cannot clobber a source that has not been placed yet.
        int base = max_target + 1;
        int moved_in = ::fcntl(devnull, F_DUPFD_CLOEXEC, base);
        int moved_out = ::fcntl(out_child, F_DUPFD_CLOEXEC, base);
        int moved_err = ::fcntl(err_child, F_DUPFD_CLOEXEC, base);
        if (moved_in < 0 || moved_out < 0 || moved_err < 0) child_fail("F_DUPFD");
        int moved_pass[64];
        std::size_t n = options.pass_fds.size();
        if (n > 64) child_fail("too many pass_fds");
        for (std::size_t i = 0; i < n; ++i) {
            moved_pass[i] = ::fcntl(options.pass_fds[i].first, F_DUPFD_CLOEXEC, base);
            if (moved_pass[i] < 0) child_fail("F_DUPFD pass_fd");
        }
        if (::dup2(moved_in, 0) < 0 || ::dup2(moved_out, 1) < 0 || ::dup2(moved_err, 2) < 0)
            child_fail("dup2 stdio");
        for (std::size_t i = 0; i < n; ++i)
            if (::dup2(moved_pass[i], options.pass_fds[i].second) < 0) child_fail("dup2 pass_fd");
        // Close everything else: numbers between 3 and max_target not asked for, then all above.
        for (int fd = 3; fd <= max_target; ++fd) {
            bool keep = false;
            for (std::size_t i = 0; i < n; ++i) keep = keep || options.pass_fds[i].second == fd;
            if (!keep) ::close(fd);
        }
        ::close_range(static_cast<unsigned>(max_target + 1), ~0U, 0);
        ::execve(c_argv[0], c_argv.data(), c_env.data());
        child_fail(c_argv[0]);
    }
    pid_ = pid;
    ::close(devnull);
    ::close(out_child);
    ::close(err_child);
    pidfd_ = open_pidfd(pid_);
    if (pidfd_ < 0) {
        int e = errno;
        ::kill(pid_, SIGKILL);
        reap_blocking();
        errno = e;
        throw_errno("pidfd_open");
    }
}

Subprocess Subprocess::fork(const std::function<int()>& fn) {
    Subprocess p;
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        child_common_setup();
        int rc = 126;
        try {
            rc = fn();
        } catch (...) {
        }
        ::_exit(rc);
    }
    p.pid_ = pid;
    p.pidfd_ = open_pidfd(pid);
    if (p.pidfd_ < 0) {
        int e = errno;
        ::kill(pid, SIGKILL);
        p.reap_blocking();
        errno = e;
        throw_errno("pidfd_open");
    }
    return p;
}

Subprocess::Subprocess(Subprocess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      pidfd_(std::exchange(o.pidfd_, -1)),
      stdout_fd_(std::exchange(o.stdout_fd_, -1)),
      stderr_fd_(std::exchange(o.stderr_fd_, -1)),
      status_(std::exchange(o.status_, std::nullopt)) {}

Subprocess::~Subprocess() {
    if (pid_ > 0 && !status_) {
        kill(SIGKILL);
        reap_blocking();
    }
    for (int fd : {pidfd_, stdout_fd_, stderr_fd_})
        if (fd >= 0) ::close(fd);
}

void Subprocess::reap_blocking() {
    siginfo_t info{};
    int r;
    do {
        r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED);
    } while (r < 0 && errno == EINTR);
    if (r == 0) status_ = status_from(info);
}

bool Subprocess::finished() {
    if (status_) return true;
    siginfo_t info{};
    if (::waitid(P_PIDFD, static_cast<id_t>(pidfd_), &info, WEXITED | WNOHANG) == 0 &&
        info.si_pid != 0) {
        status_ = status_from(info);
        return true;
    }
    return false;
}

std::optional<ExitStatus> Subprocess::wait(const Deadline& deadline) {
    for (;;) {
        if (finished()) return status_;
        pollfd p{pidfd_, POLLIN, 0};
        int r = ::poll(&p, 1, deadline.poll_timeout_ms());
        if (r < 0 && errno != EINTR) throw_errno("poll pidfd");
        if (r == 0) return finished() ? status_ : std::nullopt;
    }
}

void Subprocess::kill(int signal) {
    if (status_ || pidfd_ < 0) return;
    send_signal_pidfd(pidfd_, signal);
}

ExitStatus Subprocess::terminate(Clock::duration grace, bool* needed_kill) {
    if (needed_kill) *needed_kill = false;
    if (status_) return *status_;
    kill(SIGTERM);
    if (auto s = wait(Deadline(grace))) return *s;
    if (needed_kill) *needed_kill = true;
    kill(SIGKILL);
    reap_blocking();
    return *status_;
}

std::string RunResult::describe() const {
    std::ostringstream s;
    s << (timed_out ? "timed out" : status.describe()) << "\n--- stdout ---\n"
      << out << "\n--- stderr ---\n"
      << err;
    return s.str();
}

RunResult run(const std::vector<std::string>& argv, Clock::duration timeout) {
    Deadline deadline(timeout);
    SubprocessOptions o;
    o.argv = argv;
    Subprocess p(o);
    RunResult result;
    int fds[2] = {p.stdout_fd(), p.stderr_fd()};
    std::string* sinks[2] = {&result.out, &result.err};
    bool open[2] = {true, true};
    // Read both pipes to end-of-file: the command is done writing once both close.
    while ((open[0] || open[1]) && !deadline.expired()) {
        pollfd pfds[2];
        nfds_t n = 0;
        int which[2];
        for (int i = 0; i < 2; ++i)
            if (open[i]) {
                pfds[n] = {fds[i], POLLIN, 0};
                which[n++] = i;
            }
        int r = ::poll(pfds, n, deadline.poll_timeout_ms());
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) throw_errno("poll");
        for (nfds_t k = 0; k < n; ++k) {
            if (!(pfds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[4096];
            ssize_t got = ::read(pfds[k].fd, buf, sizeof buf);
            if (got > 0)
                sinks[which[k]]->append(buf, static_cast<std::size_t>(got));
            else if (got == 0 || errno != EINTR)
                open[which[k]] = false;
        }
    }
    if (auto s = p.wait(deadline)) {
        result.status = *s;
    } else {
        result.timed_out = true;
        p.kill(SIGKILL);
        if (auto s2 = p.wait(Deadline(5s))) result.status = *s2;
    }
    return result;
}

std::string read_until(int fd, const std::string& text, const Deadline& deadline) {
    return read_until_all(fd, {text}, deadline);
}

std::string read_until_all(int fd, const std::vector<std::string>& texts, const Deadline& deadline) {
    auto all_there = [&](const std::string& out) {
        size_t at = 0;
        for (const auto& t : texts) {
            at = out.find(t, at);
            if (at == std::string::npos) return false;
            at += t.size();
        }
        return true;
    };
    std::string out;
    while (!all_there(out) && !deadline.expired()) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, deadline.poll_timeout_ms()) <= 0) continue;
        char buf[512];
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

}  // namespace offshoot::test

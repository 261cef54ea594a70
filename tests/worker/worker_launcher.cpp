// worker_launcher.cpp — see worker_launcher.hpp.
#include "worker_launcher.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <utility>

namespace offshoot::test {
namespace {

std::runtime_error sys_error(const std::string& what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

// Milliseconds left until `deadline`, for poll().
int remaining_ms(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// glibc 2.36's <sys/pidfd.h> lacks extern "C", so C++ cannot link its pidfd_open().
int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Async-signal-safe decimal formatting, for use between fork and exec.
void format_pid(char* out, const char* prefix, pid_t pid) {
    while (*prefix) *out++ = *prefix++;
    char digits[16];
    int n = 0;
    unsigned v = static_cast<unsigned>(pid);
    do { digits[n++] = static_cast<char>('0' + v % 10); v /= 10; } while (v);
    while (n) *out++ = digits[--n];
    *out = '\0';
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
    std::vector<char*> out;
    for (auto& s : v) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

}  // namespace

TempDir::TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "offshoot-worker-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw sys_error("mkdtemp");
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

Child::Child(pid_t pid) : pid_(pid), pidfd_(pidfd_open(pid)) {
    if (pidfd_ < 0) {
        int e = errno;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        errno = e;
        throw sys_error("pidfd_open");
    }
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), pidfd_(std::exchange(o.pidfd_, -1)), status_(o.status_) {}

Child& Child::operator=(Child&& o) noexcept {
    if (this != &o) {
        Child previous(std::move(*this));  // killed and reaped at the end of this scope
        pid_ = std::exchange(o.pid_, -1);
        pidfd_ = std::exchange(o.pidfd_, -1);
        status_ = o.status_;
    }
    return *this;
}

Child::~Child() {
    if (pid_ > 0 && !status_) {
        ::kill(pid_, SIGKILL);
        int st;
        while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {}
    }
    if (pidfd_ >= 0) ::close(pidfd_);
}

void Child::kill(int sig) const {
    if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<int> Child::wait(std::chrono::milliseconds timeout) {
    if (status_ || pid_ <= 0) return status_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        pollfd p{pidfd_, POLLIN, 0};
        int r = ::poll(&p, 1, remaining_ms(deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return std::nullopt;
        int st;
        if (::waitpid(pid_, &st, 0) == pid_) status_ = st;
        return status_;
    }
}

Worker::Worker(WorkerConfig config) {
    // Same shape as offshootd's runtime directory: the socket inside a private directory.
    if (::chmod(dir_.path().c_str(), config.dir_mode) < 0) throw sys_error("chmod dir");
    socket_path_ = dir_.path() + "/socket";

    int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0) throw sys_error("socket");
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, socket_path_.c_str(), sizeof sa.sun_path - 1);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0 ||
        ::chmod(socket_path_.c_str(), config.socket_mode) < 0 || ::listen(listener, 64) < 0) {
        int e = errno;
        ::close(listener);
        errno = e;
        throw sys_error("bind/listen " + socket_path_);
    }
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
        ::close(listener);
        throw sys_error("socketpair");
    }
    notify_fd_ = pair[0];

    // Everything the child needs is built before fork: only async-signal-safe calls after.
    std::vector<std::string> args = {OFFSHOOT_WORKER_PATH, "--class=" + config.class_name,
                                     "--plugin=" + config.plugin,
                                     "--instance=" + std::to_string(config.instance),
                                     "--owner-uid=" + std::to_string(config.owner_uid)};
    if (!config.stop_mode.empty()) args.push_back("--stop-mode=" + config.stop_mode);
    for (auto& o : config.extra_options) args.push_back(o);
    args.push_back("--");
    for (auto& a : config.arguments) args.push_back(a);
    std::vector<std::string> env = {"OFFSHOOT_NOTIFY_FD=4", "LISTEN_FDS=1",
                                    "LISTEN_PID=" + std::string(24, ' '), "OFFSHOOT_LOG_LEVEL=debug"};
    if (!config.pass_listen_fds) env.resize(1);
    if (const char* asan = ::getenv("ASAN_OPTIONS")) env.push_back(std::string("ASAN_OPTIONS=") + asan);
    std::vector<char*> argv = c_strings(args), envp = c_strings(env);
    char* listen_pid = config.pass_listen_fds ? envp[2] : nullptr;
    const bool wrong_pid = config.wrong_listen_pid;
    const char* cwd = config.cwd.empty() ? nullptr : config.cwd.c_str();

    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(listener);
        ::close(pair[1]);
        throw sys_error("fork");
    }
    if (pid == 0) {
        // Move both out of the way first, so dup2 onto 3 and 4 cannot clobber either.
        int l = ::fcntl(listener, F_DUPFD, 10), n = ::fcntl(pair[1], F_DUPFD, 10);
        if (l < 0 || n < 0 || ::dup2(l, 3) < 0 || ::dup2(n, 4) < 0) ::_exit(126);
        ::close_range(5, ~0U, CLOSE_RANGE_CLOEXEC);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        if (listen_pid) format_pid(listen_pid, "LISTEN_PID=", wrong_pid ? 1 : ::getpid());
        if (cwd && ::chdir(cwd) < 0) ::_exit(125);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(listener);
    ::close(pair[1]);
    child_ = Child(pid);
}

Worker::~Worker() {
    if (notify_fd_ >= 0) ::close(notify_fd_);
}

std::string Worker::wait_message(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        pollfd p{notify_fd_, POLLIN, 0};
        int r = ::poll(&p, 1, remaining_ms(deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return "TIMEOUT";
        char buf[4096];
        ssize_t n = ::recv(notify_fd_, buf, sizeof buf, 0);
        if (n < 0) return std::string("recv: ") + std::strerror(errno);
        return std::string(buf, static_cast<size_t>(n));
    }
}

bool Worker::wait_ready(std::chrono::milliseconds timeout) { return wait_message(timeout) == "READY=1"; }

int Worker::open_sockets() const {
    int n = 0;
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(
             "/proc/" + std::to_string(child_.pid()) + "/fd", ec)) {
        auto target = std::filesystem::read_symlink(e.path(), ec);
        if (!ec && target.string().starts_with("socket:")) ++n;
    }
    return n;
}

bool CommandResult::succeeded() const {
    return !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

CommandResult run(const std::vector<std::string>& command, std::chrono::milliseconds timeout,
                  std::optional<uid_t> as_uid) {
    std::vector<std::string> args = command;
    std::vector<char*> argv = c_strings(args);
    int out[2];
    if (::pipe2(out, O_CLOEXEC) < 0) throw sys_error("pipe2");
    const bool drop = as_uid.has_value();
    const uid_t uid = as_uid.value_or(0);
    pid_t pid = ::fork();
    if (pid < 0) throw sys_error("fork");
    if (pid == 0) {
        ::dup2(out[1], STDOUT_FILENO);
        ::dup2(out[1], STDERR_FILENO);
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
        if (drop && (::setgroups(0, nullptr) < 0 || ::setresgid(uid, uid, uid) < 0 ||
                     ::setresuid(uid, uid, uid) < 0))
            ::_exit(125);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out[1]);
    Child child(pid);
    CommandResult result;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        pollfd p{out[0], POLLIN, 0};
        int r = ::poll(&p, 1, remaining_ms(deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) { result.timed_out = true; break; }
        char buf[4096];
        ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n <= 0) break;
        result.out.append(buf, static_cast<size_t>(n));
    }
    ::close(out[0]);
    auto status = child.wait(result.timed_out ? 0ms : std::chrono::milliseconds(remaining_ms(deadline)));
    if (status) result.status = *status;
    else result.timed_out = true;  // the destructor kills and reaps it
    return result;
}

}  // namespace offshoot::test

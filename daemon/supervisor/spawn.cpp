// spawn.cpp — the child side of a spawn: one straight sequence of named steps.
#include "spawn.hpp"

#include "errors.hpp"

#include "offshoot/common/protocol.hpp"

#include <cap-ng.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace offshoot {
namespace {

// ---- async-signal-safe helpers used between fork and exec ----------------------------

size_t put_str(char* buf, size_t pos, size_t cap, const char* s) {
    while (*s && pos + 1 < cap) buf[pos++] = *s++;
    buf[pos] = '\0';
    return pos;
}

size_t put_uint(char* buf, size_t pos, size_t cap, unsigned long v) {
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof tmp);
    while (n && pos + 1 < cap) buf[pos++] = tmp[--n];
    buf[pos] = '\0';
    return pos;
}

[[noreturn]] void child_fail(int notify, const char* step, int err) {
    char msg[128];
    size_t p = put_str(msg, 0, sizeof msg, "ERROR=");
    p = put_str(msg, p, sizeof msg, step);
    p = put_str(msg, p, sizeof msg, "\nERRNO=");
    p = put_uint(msg, p, sizeof msg, static_cast<unsigned long>(err));
    (void)!::send(notify, msg, p, MSG_NOSIGNAL);
    _exit(127);
}

// Moves fd to exactly `target`, clearing close-on-exec.
bool place_fd(int fd, int target) {
    if (fd == target) return fcntl(fd, F_SETFD, 0) == 0;
    return dup2(fd, target) == target;
}

[[noreturn]] void run_child(const SpawnPlan& plan, char* const* argv, char** envp,
                            char* listen_pid_entry, size_t listen_pid_cap, pid_t parent) {
    // The readiness channel must survive fd shuffling below: park it high first.
    int notify = fcntl(plan.notify_fd, F_DUPFD_CLOEXEC, 64);
    if (notify < 0) _exit(127);

    // Step: new session — no controlling terminal, own process group.
    if (setsid() < 0) child_fail(notify, "setsid", errno);

    // Step: signal mask and dispositions back to defaults (offshootd blocks SIGCHLD etc.).
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, nullptr) < 0) child_fail(notify, "signal-mask", errno);
    for (int sig = 1; sig < _NSIG; ++sig) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        struct sigaction sa {};
        sa.sa_handler = SIG_DFL;
        (void)sigaction(sig, &sa, nullptr);  // EINVAL for the reserved RT signals is fine
    }

    // Step: descriptors — 0 ← /dev/null, 1,2 ← log target, 3 ← listening socket,
    // 4 ← readiness channel, everything else closed.
    int listen = fcntl(plan.listen_fd, F_DUPFD_CLOEXEC, 64);
    if (listen < 0) child_fail(notify, "fds", errno);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) child_fail(notify, "fds", errno);
    int out = plan.stdout_fd >= 0 ? fcntl(plan.stdout_fd, F_DUPFD_CLOEXEC, 64) : devnull;
    if (out < 0) child_fail(notify, "fds", errno);
    if (!place_fd(devnull, 0) || !place_fd(out, 1) || !place_fd(out, 2) ||
        !place_fd(listen, protocol::listen_fd) || !place_fd(notify, protocol::notify_fd))
        child_fail(notify, "fds", errno);
    notify = protocol::notify_fd;
    if (syscall(SYS_close_range, protocol::notify_fd + 1, ~0U, 0) < 0)
        child_fail(notify, "close-fds", errno);

    // Step: scheduling priority — offshootd runs at a higher priority than its workers (so it
    // answers lifecycle calls while they saturate the CPUs); workers start at nice 0.
    if (setpriority(PRIO_PROCESS, 0, 0) < 0) child_fail(notify, "nice", errno);

    // Step: resource limits — before the uid switch, while raising a hard limit is still
    // allowed, and so RLIMIT_NPROC counts against the target user from the start.
    for (const auto& l : plan.limits) {
        struct rlimit rl {static_cast<rlim_t>(l.soft), static_cast<rlim_t>(l.hard)};
        if (setrlimit(l.resource, &rl) < 0) child_fail(notify, "rlimits", errno);
    }

    if (plan.change_ids) {
        // Step: capabilities — the bounding set can only be shrunk while we still hold
        // CAP_SETPCAP, i.e. before the uid change; ambient ones are cleared with it.
        capng_clear(CAPNG_SELECT_BOUNDS);
        if (capng_apply(CAPNG_SELECT_BOUNDS) < 0) child_fail(notify, "capability-bounding-set", EPERM);
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
            child_fail(notify, "capability-ambient", errno);

        // Step: groups → gid → uid, in this order (each later call needs the privilege the
        // earlier ones still have).
        if (setgroups(plan.groups.size(), plan.groups.data()) < 0) child_fail(notify, "setgroups", errno);
        if (setresgid(plan.gid, plan.gid, plan.gid) < 0) child_fail(notify, "setresgid", errno);
        if (setresuid(plan.uid, plan.uid, plan.uid) < 0) child_fail(notify, "setresuid", errno);

        // Step: verify — read the ids back, and regaining the old ones must fail.
        uid_t ru, eu, su;
        gid_t rg, eg, sg;
        if (getresuid(&ru, &eu, &su) < 0 || ru != plan.uid || eu != plan.uid || su != plan.uid ||
            getresgid(&rg, &eg, &sg) < 0 || rg != plan.gid || eg != plan.gid || sg != plan.gid)
            child_fail(notify, "verify-ids", EPERM);
        if (plan.uid != 0 && (setresuid(0, 0, 0) == 0 || setresgid(0, 0, 0) == 0))
            child_fail(notify, "verify-ids", EPERM);
    }

    // Step: parent-death signal — set after the uid change (credential changes clear it), then
    // re-check the parent: if offshootd died before prctl(), nobody would ever kill us.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) child_fail(notify, "pdeathsig", errno);
    if (getppid() != parent) _exit(127);

    // Step: no new privileges — setuid binaries and file capabilities can't raise us again.
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) child_fail(notify, "no-new-privs", errno);

    // Step: capabilities — clear effective/permitted/inheritable (already empty after a
    // switch away from uid 0; this also covers a worker that runs as root).
    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_apply(CAPNG_SELECT_BOTH) < 0) child_fail(notify, "capabilities", EPERM);

    // Step: umask.
    umask(plan.umask);

    // Step: working directory — after the uid change, so the target user's permissions apply.
    if (chdir(plan.cwd.c_str()) < 0) child_fail(notify, "chdir", errno);

    // Step: LISTEN_PID names the worker itself (systemd's socket-activation convention).
    put_uint(listen_pid_entry, std::strlen("LISTEN_PID="), listen_pid_cap,
             static_cast<unsigned long>(getpid()));

    // Step: system call filter — last, so that everything above may use what it needs;
    // execve itself is always allowed.
    if (plan.syscall_filter) {
        int r = plan.syscall_filter->load();
        if (r < 0) child_fail(notify, "seccomp", -r);
    }

    // Step: exec.
    execve(plan.worker_path.c_str(), argv, envp);
    child_fail(notify, "exec", errno);
}

}  // namespace

Spawned spawn_worker(const SpawnPlan& plan) {
    // argv/envp as C arrays, built before fork.
    std::vector<char*> argv;
    for (auto& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    char listen_pid[32] = "LISTEN_PID=";
    std::vector<char*> envp;
    for (auto& e : plan.envp) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(listen_pid);
    envp.push_back(nullptr);

    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) fail(error_name::spawn_failed, "fork: {}", errno_text(errno));
    if (pid == 0) run_child(plan, argv.data(), envp.data(), listen_pid, sizeof listen_pid, parent);

    Spawned s;
    s.pid = pid;
    int pfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pfd < 0) {
        int err = errno;
        kill(pid, SIGKILL);  // not yet reaped, so the pid is still ours
        while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        fail(error_name::spawn_failed, "pidfd_open: {}", errno_text(err));
    }
    s.pidfd = Fd(pfd);
    return s;
}

}  // namespace offshoot

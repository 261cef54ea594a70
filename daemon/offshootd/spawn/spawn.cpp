// spawn.cpp — the child side of a spawn: one straight sequence of named steps.
#include "spawn/spawn.hpp"

#include "offshoot/common/errors.hpp"

#include <offshoot/wire/readiness.hpp>

#include <cap-ng.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <linux/sched.h>  // struct clone_args
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace offshoot {
namespace {

// ---- async-signal-safe helpers used between fork and exec ----------------------------

// Reports the failed step (and, where errno alone would mislead, a fixed explanation) and
// exits. Only static strings and integers: no allocation between fork and exec.
[[noreturn]] void child_fail(int notify, const char* step, int err, const char* message = nullptr) {
    char msg[512];
    const size_t n = wire::format_failure(msg, sizeof msg, step, err, message ? message : "");
    (void)!::send(notify, msg, n, MSG_NOSIGNAL);
    _exit(127);
}

bool on_procfs(int fd) {
    struct statfs fs {};
    return fstatfs(fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
}

// Step "chdir": enters the working directory as the (already switched) target user and
// judges what is entered, not how the path is spelt. The path is resolved here one component
// at a time (openat(O_PATH | O_NOFOLLOW) below the previous one, so the user's search
// permission on every directory is checked), symbolic links followed by hand (at most 40, as
// the kernel does), and any component on procfs refused: /proc/1 names another process's
// directory, and /proc/self/cwd or /proc/PID/fd/N are magic links that jump to wherever a
// process is without the permission checks of the directories in between — by any spelling,
// or through any symbolic link. (openat2's RESOLVE_NO_MAGICLINKS would do part of this, but
// systemd's RestrictSUIDSGID= answers openat2 with ENOSYS, so the unit could not use it.)
// fchdir then checks the user's search permission on the directory itself. No allocation.
void enter_working_directory(int notify, const char* cwd) {
    char path[2 * PATH_MAX];  // what is still to be resolved
    const size_t len = std::strlen(cwd);
    if (len >= sizeof path) child_fail(notify, "chdir", ENAMETOOLONG);
    std::memcpy(path, cwd, len + 1);
    int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) child_fail(notify, "chdir", errno);
    size_t pos = 0;
    int links = 0;
    for (;;) {
        while (path[pos] == '/') ++pos;
        if (!path[pos]) break;
        size_t end = pos;
        while (path[end] && path[end] != '/') ++end;
        const char saved = path[end];
        path[end] = '\0';
        if (std::strcmp(path + pos, ".") == 0) {
            path[end] = saved;
            pos = end;
            continue;
        }
        const int next = openat(dir, path + pos, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        path[end] = saved;
        if (next < 0) child_fail(notify, "chdir", errno);
        struct stat st {};
        if (fstat(next, &st) < 0) child_fail(notify, "chdir", errno);
        if (S_ISLNK(st.st_mode)) {
            if (++links > 40) child_fail(notify, "chdir", ELOOP, "more than 40 symbolic links");
            char target[PATH_MAX];
            const ssize_t n = readlinkat(next, "", target, sizeof target);
            (void)close(next);
            if (n <= 0 || static_cast<size_t>(n) >= sizeof target) child_fail(notify, "chdir", n < 0 ? errno : ENAMETOOLONG);
            // What is left becomes target + the rest of the path.
            const size_t rest = std::strlen(path + end);
            if (static_cast<size_t>(n) + rest + 1 > sizeof path) child_fail(notify, "chdir", ENAMETOOLONG);
            std::memmove(path + n, path + end, rest + 1);
            std::memcpy(path, target, static_cast<size_t>(n));
            pos = 0;
            if (target[0] == '/') {
                (void)close(dir);
                dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (dir < 0) child_fail(notify, "chdir", errno);
            }
            continue;
        }
        if (!S_ISDIR(st.st_mode)) child_fail(notify, "chdir", ENOTDIR);
        if (on_procfs(next))
            child_fail(notify, "chdir", EACCES,
                       "the path leads into /proc (procfs), which is refused: it names other processes' "
                       "directories, and its magic links (such as /proc/self/cwd) skip the permission checks "
                       "of the directories in between");
        (void)close(dir);
        dir = next;
        pos = end;
    }
    if (fchdir(dir) < 0) child_fail(notify, "chdir", errno);
    (void)close(dir);
}

// Step "scope": parked until offshootd has had systemd move this process into its scope.
// End of file (offshootd is gone) or anything but the go-ahead ends the child quietly.
void wait_for_scope(int notify) {
    char buf[64];
    for (;;) {
        struct pollfd p = {notify, POLLIN, 0};
        if (poll(&p, 1, -1) < 0) {
            if (errno == EINTR) continue;
            child_fail(notify, "scope", errno, "waiting for offshootd");
        }
        const ssize_t n = recv(notify, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n == static_cast<ssize_t>(proceed_message.size()) && std::memcmp(buf, proceed_message.data(), n) == 0) return;
        _exit(127);
    }
}

// Moves fd to exactly `target`, clearing close-on-exec.
bool place_fd(int fd, int target) {
    if (fd == target) return fcntl(fd, F_SETFD, 0) == 0;
    return dup2(fd, target) == target;
}

// What the child is handed besides the plan.
struct ChildStart {
    char* const* argv;
    char** envp;
    char* listen_pid_entry;  // "LISTEN_PID=", completed in the child
    size_t listen_pid_cap;
    pid_t parent;
    int keep_below;  // descriptors at or above it are offshootd's instances', never copied
    int table_ready;  // eventfd: written once the child has a table of its own
};

[[noreturn]] void run_child(const SpawnPlan& plan, const ChildStart& start) {
    // Step: a descriptor table of our own, holding only what lies below keep_below (the clone
    // shared offshootd's); then offshootd may touch its table again. Nothing before this step
    // may open, close or move a descriptor.
    if (syscall(SYS_close_range, start.keep_below, ~0U, CLOSE_RANGE_UNSHARE) < 0) _exit(127);
    const uint64_t one = 1;
    if (write(start.table_ready, &one, sizeof one) != sizeof one) _exit(127);
    (void)close(start.table_ready);

    // The readiness channel must survive fd shuffling below: park it high first.
    int notify = fcntl(plan.notify_fd, F_DUPFD_CLOEXEC, 64);
    if (notify < 0) _exit(127);

    // Step: cgroup — first of all, while still root (cgroup.procs is root's), so that all
    // the child does and allocates from here on counts against the instance's limits.
    for (int fd : plan.cgroup_fds)
        if (write(fd, "0", 1) != 1) child_fail(notify, "cgroup", errno, "joining the instance's cgroup (cgroup.procs)");

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
    int out = plan.output_fd >= 0 ? fcntl(plan.output_fd, F_DUPFD_CLOEXEC, 64) : devnull;
    if (out < 0) child_fail(notify, "fds", errno);
    if (!place_fd(devnull, 0) || !place_fd(out, 1) || !place_fd(out, 2) ||
        !place_fd(listen, wire::listen_fd) || !place_fd(notify, wire::notify_fd))
        child_fail(notify, "fds", errno);
    notify = wire::notify_fd;
    if (syscall(SYS_close_range, wire::notify_fd + 1, ~0U, 0) < 0)
        child_fail(notify, "close-fds", errno);

    // Step: scope — wait while systemd moves us into the instance's scope. After the fds
    // step: holding no copy of offshootd's end of the channel, we see it close if offshootd
    // dies meanwhile (the parent-death signal comes later, after the uid switch).
    if (plan.wait_for_scope) wait_for_scope(notify);

    // Step: scheduling priority — offshootd runs at a higher priority than its workers (so it
    // answers lifecycle calls while they saturate the CPUs); workers start at nice 0.
    if (setpriority(PRIO_PROCESS, 0, 0) < 0) child_fail(notify, "nice", errno);

    // Step: resource limits — before the uid switch, while raising a hard limit is still
    // allowed, and so RLIMIT_NPROC counts against the target user from the start.
    for (const auto& l : plan.limits) {
        struct rlimit rl {static_cast<rlim_t>(l.soft), static_cast<rlim_t>(l.hard)};
        if (setrlimit(l.resource, &rl) < 0) child_fail(notify, "rlimits", errno);
    }

    // Step: the worker program, opened (O_PATH) before the namespaces, as systemd's exec_child
    // does: a private /tmp or an inaccessible path must not hide the program from its own
    // exec (a tree under /tmp with PrivateTmp=yes did), and what runs is what was there
    // before the view changed. Exec permission is still checked at fexecve, as the target user.
    const int program = open(plan.program.c_str(), O_PATH | O_CLOEXEC);
    if (program < 0) child_fail(notify, "exec", errno);

    // Step: namespaces — the private view (PrivateTmp=, ProtectSystem=, PrivateNetwork=, …),
    // while still root: mounts and unshare need CAP_SYS_ADMIN, "lo" CAP_NET_ADMIN. Before
    // chdir, which then resolves the working directory inside the new view.
    if (plan.namespaces) {
        const NamespaceFailure f = apply_namespaces(*plan.namespaces);
        if (f.err) child_fail(notify, "namespace", f.err, f.message);
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
        if (setgroups(plan.spec.groups.size(), plan.spec.groups.data()) < 0) child_fail(notify, "setgroups", errno);
        if (setresgid(plan.spec.gid, plan.spec.gid, plan.spec.gid) < 0) child_fail(notify, "setresgid", errno);
        if (setresuid(plan.spec.uid, plan.spec.uid, plan.spec.uid) < 0) child_fail(notify, "setresuid", errno);

        // Step: verify — read the ids back, and regaining the old ones must fail.
        uid_t ru, eu, su;
        gid_t rg, eg, sg;
        const uid_t uid = plan.spec.uid;
        const gid_t gid = plan.spec.gid;
        if (getresuid(&ru, &eu, &su) < 0 || ru != uid || eu != uid || su != uid ||
            getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid || sg != gid)
            child_fail(notify, "verify-ids", EPERM);
        if (uid != 0 && (setresuid(0, 0, 0) == 0 || setresgid(0, 0, 0) == 0))
            child_fail(notify, "verify-ids", EPERM);
    }

    // Step: parent-death signal — set after the uid change (credential changes clear it), then
    // re-check the parent: if offshootd died before prctl(), nobody would ever kill us.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) child_fail(notify, "pdeathsig", errno);
    if (getppid() != start.parent) _exit(127);

    // Step: no new privileges — setuid binaries and file capabilities can't raise us again.
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) child_fail(notify, "no-new-privs", errno);

    // Step: capabilities — clear effective/permitted/inheritable (already empty after a
    // switch away from uid 0; this also covers a worker that runs as root). The capabilities
    // only (CAPNG_SELECT_CAPS; CAPNG_SELECT_BOTH is caps *and* bounds): the bounding set was
    // emptied above, before the uid switch, and an unprivileged offshootd cannot change it.
    // Asked for the bounding set without CAP_SETPCAP, libcap-ng 0.8 leaves it and writes an
    // error through syslog() — one line in the system journal per spawn.
    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_apply(CAPNG_SELECT_CAPS) < 0) child_fail(notify, "capabilities", EPERM);

    // Step: umask.
    umask(plan.spec.umask);

    // Step: working directory — after the uid change, so the target user's permissions apply;
    // decided on what the kernel entered (enter_working_directory).
    enter_working_directory(notify, plan.spec.cwd.c_str());

    // Step: LISTEN_PID names the worker itself (systemd's socket-activation convention).
    (void)wire::format_listen_pid(start.listen_pid_entry, start.listen_pid_cap, getpid());

    // Step: system call filter — last, so that everything above may use what it needs;
    // execve and execveat (what fexecve is) are always allowed.
    if (plan.filter) {
        int r = plan.filter->load();
        if (r < 0) child_fail(notify, "seccomp", -r);
    }

    // Step: exec — of the program opened above (execveat(program, "", …, AT_EMPTY_PATH)).
    fexecve(program, start.argv, start.envp);
    child_fail(notify, "exec", errno);
}

// fork() with CLONE_FILES and a pidfd (clone3; the child goes on from here as after fork).
// offshootd has one thread, so no lock is held across the clone that the child could need.
// Where clone3 is ENOSYS — systemd's seccomp answers it so for any unit with
// RestrictNamespaces=, as ours has, since a filter cannot look into clone3's flags — the
// classic clone(2) does the same and the pidfd comes from pidfd_open.
pid_t clone_sharing_fds(int* pidfd) {
    struct clone_args args {};
    args.flags = CLONE_FILES | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<uintptr_t>(pidfd);
    args.exit_signal = SIGCHLD;
    pid_t pid = static_cast<pid_t>(syscall(SYS_clone3, &args, sizeof args));
    if (pid >= 0 || errno != ENOSYS) return pid;
    // x86-64 and most others: clone(flags, stack, parent_tid, child_tid, tls); a null stack
    // means the child's is a copy of ours, as with fork().
    pid = static_cast<pid_t>(syscall(SYS_clone, CLONE_FILES | SIGCHLD, nullptr, nullptr, nullptr, 0));
    if (pid <= 0) return pid;
    *pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (*pidfd < 0) {
        const int err = errno;
        (void)kill(pid, SIGKILL);  // not yet reaped, so the pid is still ours
        while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        errno = err;
        return -1;
    }
    return pid;
}

// Waits until the child has a descriptor table of its own (its first step: microseconds), or
// has died. A child that does neither in 5 s (stopped by a debugger?) is killed: offshootd
// must not share its table with it for longer.
void wait_for_own_table(int table_ready, const Spawned& child) {
    struct pollfd p[2] = {{table_ready, POLLIN, 0}, {child.pidfd.get(), POLLIN, 0}};
    int r;
    while ((r = poll(p, 2, 5000)) < 0 && errno == EINTR) {
    }
    if (r > 0) return;
    const int err = r < 0 ? errno : ETIMEDOUT;
    (void)syscall(SYS_pidfd_send_signal, child.pidfd.get(), SIGKILL, nullptr, 0);
    while (waitpid(child.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    fail(errors::spawn_failed, "clone: the child did not take a descriptor table of its own: {}", errno_text(err));
}

}  // namespace

std::vector<ResourceLimit> worker_limits(const ClassConfig& cls) {
    std::vector<ResourceLimit> limits = cls.limits;
    if (std::none_of(limits.begin(), limits.end(), [](const ResourceLimit& l) { return l.resource == RLIMIT_NOFILE; })) {
        struct rlimit cur {};
        if (getrlimit(RLIMIT_NOFILE, &cur) == 0 && cur.rlim_cur > 1024) limits.push_back({RLIMIT_NOFILE, 1024, cur.rlim_max});
    }
    return limits;
}

Spawned spawn_worker(const SpawnPlan& plan) {
    // argv/envp as C arrays, built before fork.
    std::vector<char*> argv;
    for (auto& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    char listen_pid[32] = "LISTEN_PID=";  // completed in the child
    std::vector<char*> envp;
    for (auto& e : plan.spec.environment) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(listen_pid);
    envp.push_back(nullptr);

    Fd table_ready(eventfd(0, EFD_CLOEXEC));
    if (!table_ready) fail(errors::spawn_failed, "eventfd: {}", errno_text(errno));
    const ChildStart start{.argv = argv.data(), .envp = envp.data(), .listen_pid_entry = listen_pid,
                           .listen_pid_cap = sizeof listen_pid, .parent = getpid(),
                           .keep_below = std::max({kLongLivedFdBase, plan.listen_fd + 1, plan.notify_fd + 1,
                                                   plan.output_fd + 1, table_ready.get() + 1}),
                           .table_ready = table_ready.get()};

    Spawned s;
    int pidfd = -1;
    s.pid = clone_sharing_fds(&pidfd);
    if (s.pid < 0) fail(errors::spawn_failed, "clone: {}", errno_text(errno));
    if (s.pid == 0) run_child(plan, start);
    s.pidfd = keep_long_lived(Fd(pidfd));
    wait_for_own_table(table_ready.get(), s);
    return s;
}

}  // namespace offshoot

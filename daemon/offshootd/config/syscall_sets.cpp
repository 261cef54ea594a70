// syscall_sets.cpp — offshoot's syscall groups and their resolution with libseccomp.
#include "config/syscall_sets.hpp"

#include <seccomp.h>

#include <array>
#include <charconv>
#include <cstring>
#include <map>
#include <string>

namespace offshoot {
namespace {

using Names = std::vector<std::string_view>;

// What any process needs to run at all: memory, signals, threads, time, its own ids, exit.
const Names default_set = {
    "arch_prctl", "brk", "clock_getres", "clock_gettime", "clock_nanosleep", "exit", "exit_group",
    "futex", "futex_waitv", "get_robust_list", "getegid", "geteuid", "getgid", "getgroups",
    "getpgid", "getpgrp", "getpid", "getppid", "getrandom", "getresgid", "getresuid", "getrlimit",
    "getsid", "gettid", "gettimeofday", "getuid", "madvise", "membarrier", "mmap", "mprotect",
    "mremap", "munmap", "nanosleep", "pause", "prctl", "prlimit64", "restart_syscall", "rseq",
    "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_yield",
    "set_robust_list", "set_tid_address", "sigaltstack", "time", "uname", "umask", "getcwd",
    "sysinfo", "times", "getrusage", "getcpu", "sched_getparam", "sched_getscheduler"};
const Names basic_io = {"close", "close_range", "dup", "dup2", "dup3", "fcntl", "ioctl", "lseek",
                        "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read",
                        "readv", "write", "writev", "sendfile", "splice", "tee", "copy_file_range"};
const Names file_system = {
    "access", "chdir", "chmod", "creat", "faccessat", "faccessat2", "fadvise64", "fallocate",
    "fchdir", "fchmod", "fchmodat", "fdatasync", "flock", "fstat", "fstatfs", "fsync", "ftruncate",
    "getdents", "getdents64", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
    "link", "linkat", "lstat", "mkdir", "mkdirat", "newfstatat", "open", "openat", "openat2",
    "readlink", "readlinkat", "rename", "renameat", "renameat2", "rmdir", "stat", "statfs", "statx",
    "symlink", "symlinkat", "truncate", "unlink", "unlinkat", "utime", "utimensat", "utimes",
    "memfd_create", "sync_file_range"};
const Names network_io = {"accept", "accept4", "bind", "connect", "getpeername", "getsockname",
                          "getsockopt", "listen", "recvfrom", "recvmmsg", "recvmsg", "sendmmsg",
                          "sendmsg", "sendto", "setsockopt", "shutdown", "socket", "socketpair"};
const Names io_event = {"epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2",
                        "epoll_wait", "eventfd", "eventfd2", "pipe", "pipe2", "poll", "ppoll",
                        "pselect6", "select", "signalfd", "signalfd4", "timerfd_create",
                        "timerfd_gettime", "timerfd_settime"};
const Names process = {"clone", "clone3", "execve", "execveat", "fork", "kill", "pidfd_open",
                       "pidfd_send_signal", "tgkill", "tkill", "vfork", "wait4", "waitid",
                       "setpgid", "setsid"};

const std::map<std::string_view, std::vector<const Names*>>& groups() {
    static const std::map<std::string_view, std::vector<const Names*>> g = {
        {"@default", {&default_set}},
        {"@basic-io", {&basic_io}},
        {"@file-system", {&file_system}},
        {"@network-io", {&network_io}},
        {"@io-event", {&io_event}},
        {"@process", {&process}},
        {"@system-service",
         {&default_set, &basic_io, &file_system, &network_io, &io_event, &process}},
    };
    return g;
}

// Kept whatever the filter says: without these the worker can't be started or end.
const Names always = {"execve", "execveat", "exit", "exit_group", "rt_sigreturn", "restart_syscall"};

}  // namespace

std::optional<std::vector<std::string_view>> syscall_group(std::string_view name) {
    auto it = groups().find(name);
    if (it == groups().end()) return std::nullopt;
    std::vector<std::string_view> out;
    for (auto* n : it->second) out.insert(out.end(), n->begin(), n->end());
    return out;
}

std::vector<std::string_view> syscall_group_names() {
    std::vector<std::string_view> out;
    for (auto& [k, v] : groups()) out.push_back(k);
    return out;
}

namespace {

// The numbers of a group's system calls on this architecture, resolved once per process:
// libseccomp's name lookup is a linear search, and a filter may name @system-service (≈ 170
// calls) several times.
const std::vector<int>* resolved_group(std::string_view name) {
    static const auto resolved = [] {
        std::map<std::string_view, std::vector<int>> out;
        for (const auto& [group, parts] : groups()) {
            auto& nrs = out[group];
            for (const Names* part : parts)
                for (auto n : *part) {
                    int nr = seccomp_syscall_resolve_name(std::string(n).c_str());
                    if (nr != __NR_SCMP_ERROR && nr >= 0) nrs.push_back(nr);
                }
        }
        return out;
    }();
    auto it = resolved.find(name);
    return it == resolved.end() ? nullptr : &it->second;
}

}  // namespace

std::optional<std::set<int>> resolve_syscall_filter(const std::vector<std::string>& tokens,
                                                    std::string& error) {
    std::set<int> allowed;
    for (const auto& raw : tokens) {
        std::string_view t = raw;
        const bool remove = !t.empty() && t[0] == '~';
        if (remove) t.remove_prefix(1);
        std::vector<int> single;
        const std::vector<int>* nrs = &single;
        if (!t.empty() && t[0] == '@') {
            nrs = resolved_group(t);
            if (!nrs) {
                error = "unknown system call group " + std::string(t);
                return std::nullopt;
            }
        } else {
            int nr = t.empty() ? __NR_SCMP_ERROR : seccomp_syscall_resolve_name(std::string(t).c_str());
            if (nr == __NR_SCMP_ERROR || nr < 0) {
                error = "unknown system call " + std::string(t);
                return std::nullopt;
            }
            single.push_back(nr);
        }
        if (remove)
            for (int nr : *nrs) allowed.erase(nr);
        else
            allowed.insert(nrs->begin(), nrs->end());
    }
    for (auto name : always) {
        int nr = seccomp_syscall_resolve_name(std::string(name).c_str());
        if (nr >= 0) allowed.insert(nr);
    }
    return allowed;
}

std::optional<int> parse_errno_name(std::string_view text) {
    int v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && p == text.data() + text.size()) {
        if (v > 0 && v < 4096) return v;
        return std::nullopt;
    }
    for (int e = 1; e < 134; ++e) {
        const char* n = strerrorname_np(e);
        if (n && text == n) return e;
    }
    return std::nullopt;
}

}  // namespace offshoot

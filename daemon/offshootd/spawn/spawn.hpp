// spawn.hpp — forks and execs offshoot-worker under the requested credentials.
//
// Everything the child needs (ids, groups, argv, envp, paths) is resolved into a SpawnPlan
// before fork, so the child runs only async-signal-safe calls between fork and exec (systemd's
// exec path and bubblewrap are the references). Each step in the child has a name; a failing
// step sends "ERROR=<step>\nERRNO=<n>" over the readiness channel and exits, so Spawn can
// answer "SpawnFailed: <step>: <reason>".
#pragma once

#include "instance/spec.hpp"
#include "spawn/namespace.hpp"
#include "spawn/fd_table.hpp"  // kLongLivedFdBase, keep_long_lived
#include "spawn/syscall_filter.hpp"

#include "config/class_config.hpp"
#include "offshoot/common/fd.hpp"

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace offshoot {

// What offshootd sends a child that waits for its scope (SpawnPlan::wait_for_scope) once
// systemd has moved it, over the readiness channel.
inline constexpr std::string_view proceed_message = "PROCEED=1";

// What one fork/exec needs beyond the instance's spec, which the child reads as it is.
struct SpawnPlan {
    const InstanceSpec& spec;               // ids, groups, cwd, umask, environment
    const std::string& program;             // offshoot-worker
    std::vector<std::string> argv;          // wire::WorkerCommand::to_argv(program)
    int listen_fd = -1;                     // becomes fd 3
    int notify_fd = -1;                     // becomes fd 4 (the child's end of the readiness channel)
    int output_fd = -1;                     // becomes fds 1 and 2 (-1: /dev/null)
    std::vector<ResourceLimit> limits;      // setrlimit before the uid switch (worker_limits())
    const SyscallFilter* filter = nullptr;  // loaded right before exec
    bool change_ids = true;                 // false when offshootd itself is unprivileged (runs as itself)
    std::vector<int> cgroup_fds;            // cgroup.procs the child writes "0" into, first of all
    bool wait_for_scope = false;            // wait for proceed_message before going on
    NamespacePlan* namespaces = nullptr;    // the private view to make (filled in by the child)
};

// The resource limits a worker of `cls` runs under: the class's, and the conventional soft
// descriptor limit of 1024 (select() breaks above it) unless the class sets LimitNOFILE=:
// offshootd raised its own.
std::vector<ResourceLimit> worker_limits(const ClassConfig& cls);

struct Spawned {
    pid_t pid = -1;
    Fd pidfd;
};

// Forks the worker. Returns the child's pid and a pidfd. Throws offshoot::Error (SpawnFailed)
// if fork itself fails; failures inside the child arrive over the readiness channel.
//
// The child is cloned sharing offshootd's descriptor table (CLONE_FILES) and its first step
// takes a private copy of the descriptors below kLongLivedFdBase only (close_range with
// CLOSE_RANGE_UNSHARE); offshootd waits for that step before it goes on. A fork() would copy
// every instance's descriptors into the child and the child would then close them one by one:
// with 10,000 live instances that was most of a spawn's kernel time (bench/RESULTS.md, scale).
Spawned spawn_worker(const SpawnPlan& plan);


}  // namespace offshoot

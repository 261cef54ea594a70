// spawn.hpp — forks and execs offshoot-worker under the requested credentials.
//
// Everything the child needs (ids, groups, argv, envp, paths) is resolved into a SpawnPlan
// before fork, so the child runs only async-signal-safe calls between fork and exec (systemd's
// exec path and bubblewrap are the references). Each step in the child has a name; a failing
// step sends "ERROR=<step>\nERRNO=<n>" over the readiness channel and exits, so Spawn can
// answer "SpawnFailed: <step>: <reason>".
#pragma once

#include "syscall_filter.hpp"

#include "offshoot/common/class_config.hpp"
#include "offshoot/common/fd.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace offshoot {

struct SpawnPlan {
    std::string worker_path;
    std::vector<std::string> argv;
    std::vector<std::string> envp;  // LISTEN_PID is added in the child
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
    std::string cwd;
    mode_t umask = 0022;
    bool change_ids = true;  // false when offshootd itself is unprivileged (spawns as itself)
    int listen_fd = -1;      // becomes fd 3
    int notify_fd = -1;      // becomes fd 4 (the child's end of the readiness channel)
    int stdout_fd = -1;      // becomes fds 1 and 2 (-1: /dev/null)
    std::vector<ResourceLimit> limits;       // setrlimit before the uid switch
    const SyscallFilter* syscall_filter = nullptr;  // loaded right before exec
};

struct Spawned {
    pid_t pid = -1;
    Fd pidfd;
};

// Forks the worker. Returns the child's pid and a pidfd. Throws offshoot::Error (SpawnFailed)
// if fork itself fails; failures inside the child arrive over the readiness channel.
Spawned spawn_worker(const SpawnPlan& plan);

}  // namespace offshoot

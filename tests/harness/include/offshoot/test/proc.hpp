// offshoot/test/proc.hpp — what /proc says about a process: ids, groups, cwd, fds, children.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace offshoot::test {

// The fields of /proc/PID/status the tests look at.
struct ProcStatus {
    std::array<uint32_t, 4> uid{};  // real, effective, saved, filesystem
    std::array<uint32_t, 4> gid{};
    std::vector<uint32_t> groups;   // supplementary groups
    pid_t ppid = 0;
    char state = '?';
};

// nullopt when the process does not exist (any more).
std::optional<std::map<std::string, std::string>> read_status_fields(pid_t pid);
std::optional<ProcStatus> read_status(pid_t pid);

// readlink /proc/PID/cwd.
std::filesystem::path proc_cwd(pid_t pid);

// Number of entries in /proc/PID/fd.
std::size_t proc_fd_count(pid_t pid);

struct ProcStat {
    pid_t pid = 0;
    char state = '?';  // R, S, D, Z, …
    pid_t ppid = 0;
    double cpu_ms = 0;  // user + system time so far
};
std::optional<ProcStat> read_stat(pid_t pid);

// Every process whose parent is `parent` (scans /proc/*/stat), and those of them in state Z.
std::vector<ProcStat> children_of(pid_t parent);
std::vector<pid_t> zombie_children_of(pid_t parent);

}  // namespace offshoot::test

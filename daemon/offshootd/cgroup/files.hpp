// files.hpp — an instance's cgroup files, v1 and v2 alike: the limits written (or, under
// systemd, read back), the usage read, the OOM counter, the processes left behind.
//
//   limit / reading     v2                          v1
//   MemoryMax=          memory.max                  memory.limit_in_bytes
//   MemoryHigh=         memory.high                 — (refused: v1 has no such limit)
//   MemorySwapMax=      memory.swap.max             — (refused, as systemd ignores it on v1)
//   TasksMax=           pids.max                    pids.max
//   CPUQuota=           cpu.max "Q P"               cpu.cfs_period_us, cpu.cfs_quota_us
//   CPUWeight=          cpu.weight (idle: cpu.idle) cpu.shares = weight × 1024 / 100
//   IOWeight=           io.weight "default N"       blkio.weight, else blkio.bfq.weight
//   MemoryCurrent/Peak  memory.current/.peak        memory.usage_in_bytes/.max_usage_in_bytes
//   TasksCurrent        pids.current                pids.current
//   CPUUsageNSec        cpu.stat usage_usec × 1000  cpuacct.usage
//   OOM kills           memory.events oom_kill      memory.oom_control oom_kill
// The conversions are systemd's (src/core/cgroup.c), so a class behaves the same under
// systemd and without it.
#pragma once

#include "cgroup/layout.hpp"
#include "config/containment.hpp"

#include "offshoot/common/fd.hpp"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace offshoot {

// Writes `limits` into the instance's files. Returns "" or why a limit cannot be set here
// ("MemoryHigh= needs cgroup v2 …", "cannot write 16 to …/pids.max: …").
std::string apply_limits(const InstanceDirs& dirs, const ResourceControl& limits);
// Reads back the limits (not the weights) someone else applied — systemd, for a scope — and
// returns "" or which one is not in force.
std::string verify_limits(const InstanceDirs& dirs, const ResourceControl& limits);

// UINT64_MAX where the kernel has no such figure here (systemd's convention).
struct CgroupUsage {
    uint64_t memory_current = UINT64_MAX;
    uint64_t memory_peak = UINT64_MAX;
    uint64_t tasks_current = UINT64_MAX;
    uint64_t cpu_usage_nsec = UINT64_MAX;
};
CgroupUsage read_usage(const InstanceDirs& dirs);

// The kernel's count of OOM kills in one instance's cgroup, read when its worker has gone —
// also when the cgroup was removed first (systemd removes an empty scope's cgroup as soon as it
// sees it empty, which may be before offshootd looks).
class OomWatch {
public:
    OomWatch() = default;
    // Opens memory.events (v2) or memory.oom_control (v1) while the instance runs; on v1 also
    // an eventfd the kernel signals at each OOM in the cgroup, and once when it is removed,
    // registered in its cgroup.event_control — through `writable` (a writable handle on the
    // v1 memory hierarchy mounted at `mount`, see writable_memory_hierarchy()) where the
    // hierarchy is read-only here.
    explicit OomWatch(const InstanceDirs& dirs, int writable = -1, const std::string& mount = "");
    bool killed() const;

private:
    Fd counter_;
    Fd events_;
};
// A writable handle on the v1 memory hierarchy mounted at `mount`, for OomWatch alone: a
// detached copy of the mount (open_tree, mount_setattr), attached nowhere, so this process's
// mount namespace — and its workers' — keep the tree read-only (ProtectControlGroups=).
// Needs CAP_SYS_ADMIN; an invalid Fd when it cannot be had.
Fd writable_memory_hierarchy(const std::string& mount);
// The kernel's count of OOM kills in memory.events / memory.oom_control; nullopt when it
// cannot be read (a removed cgroup's files answer ENODEV).
std::optional<uint64_t> read_oom_kills(int fd);

// The processes in the instance's cgroups (each hierarchy's cgroup.procs).
std::vector<pid_t> members(const InstanceDirs& dirs);
// SIGKILL to every one of them (cgroup.kill where the kernel has it).
void kill_members(const InstanceDirs& dirs);
// rmdir of each directory, deepest first; false while any is still busy.
bool remove_dirs(const InstanceDirs& dirs);

// Small helpers for whole files of cgroupfs (one value, at most a page).
std::optional<std::string> read_file(const std::string& path);
// "" or the reason the write failed.
std::string write_file(const std::string& path, std::string_view text);

}  // namespace offshoot

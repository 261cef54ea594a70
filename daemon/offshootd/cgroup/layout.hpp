// layout.hpp — where the cgroup hierarchies are and where a process sits in them.
//
// Each controller offshoot uses lives in one hierarchy: a v1 one of its own (cgroup v1, or a
// hybrid host's legacy controllers — this VM: memory, pids, cpu, cpuacct, blkio) or the
// unified v2 one. The parsers read /proc/self/mountinfo and /proc/PID/cgroup as text, so the
// unit tests can give them any layout (tests/supervisor/cgroup_test.cpp).
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace offshoot {

// io is v2's "io" and v1's "blkio"; cpuacct is v1's usage counter (v2 reads cpu.stat).
enum class Controller { memory, pids, cpu, cpuacct, io };
inline constexpr std::array<Controller, 5> all_controllers = {Controller::memory, Controller::pids, Controller::cpu,
                                                              Controller::cpuacct, Controller::io};
const char* name_of(Controller c, bool v2);

struct Hierarchies {
    std::string v2;                           // where cgroup2 is mounted, "" if nowhere
    std::map<Controller, std::string> v1;     // v1 controller → its mount point
    std::string systemd_v1;                   // the name=systemd hierarchy of hybrid/legacy hosts
    std::vector<std::string> v2_controllers;  // what the v2 root offers (cgroup.controllers)
    // Whether `c` is in the v2 hierarchy here (not mounted as v1, and offered by v2's root).
    bool on_v2(Controller c) const;
    bool has(Controller c) const { return v1.count(c) || on_v2(c); }
};
// From /proc/self/mountinfo (and, for v2, the root's cgroup.controllers, read by the caller).
Hierarchies parse_mountinfo(std::string_view mountinfo);
// The real thing: this process's mountinfo, and v2's cgroup.controllers.
Hierarchies read_hierarchies();

// A process's place: its v2 path ("0::/…"), and per v1 hierarchy (by controller) its path.
struct Membership {
    std::optional<std::string> v2;
    std::map<Controller, std::string> v1;
    std::optional<std::string> systemd_v1;  // name=systemd
};
Membership parse_proc_cgroup(std::string_view text);
std::optional<Membership> read_membership(int pid);  // 0 = this process

// One cgroup seen across the hierarchies: per controller its directory.
struct CgroupDir {
    std::string path;  // absolute, in this mount namespace
    bool v2 = false;
};
struct InstanceDirs {
    std::map<Controller, CgroupDir> dirs;
    std::string control_group;  // what ControlGroup shows: the path systemd tracks, or v2's, or memory's
    const CgroupDir* get(Controller c) const;
    // Each directory once (cpu and cpuacct may share one).
    std::vector<std::string> distinct() const;
    bool empty() const { return dirs.empty(); }
};
// The directories of a process with membership `m`.
InstanceDirs dirs_of(const Hierarchies& h, const Membership& m);

}  // namespace offshoot

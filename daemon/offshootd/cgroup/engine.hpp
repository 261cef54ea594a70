// engine.hpp — where an instance's processes are accounted and limited.
//
// Two engines, chosen once at start-up (make_cgroup_engine):
//   - offshootd is a systemd service: every instance, limits or not, runs in a transient scope
//     of its own, offshoot-<Class>-<id>.scope in offshoot.slice, made by systemd
//     (cgroup/scope.hpp) — so systemctl, systemd-cgtop and systemd-oomd see each instance;
//   - otherwise (embedded: a private bus, the demo, the tests): a cgroup offshootd makes below
//     its own where it can write (cgroup/direct.hpp). Where it cannot, an instance that asks
//     for a resource key fails to spawn ("cgroup: <reason>"); one that asks for none spawns
//     without a cgroup of its own. Never silently unlimited.
// Either way the instance's usage and its OOM kills are read from the cgroup's own files
// (cgroup/files.hpp), never by a round trip to systemd.
#pragma once

#include "cgroup/files.hpp"
#include "cgroup/layout.hpp"
#include "instance/spec.hpp"

#include "offshoot/common/fd.hpp"

#include <systemd/sd-event.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace offshoot {

// One instance's cgroup, from before its fork until its worker has gone.
class InstanceCgroup {
public:
    virtual ~InstanceCgroup() = default;
    // Descriptors of cgroup.procs the spawn child writes "0" into as its first step.
    virtual std::vector<int> join_fds() const { return {}; }
    // Whether the spawn child waits (step "scope") until place() is done.
    virtual bool parks_child() const { return false; }
    // After the fork: puts `pid` in place. `done` runs on the event loop — at once, or when
    // systemd has answered — with "" or why it failed; never once this object is gone.
    virtual void place(pid_t pid, std::function<void(const std::string&)> done);
    // The worker has gone: what it left behind is killed, and the cgroup goes with it.
    virtual void release() {}

    const std::string& control_group() const { return dirs_.control_group; }
    virtual const std::string& unit() const;
    CgroupUsage usage() const { return read_usage(dirs_); }
    // Whether the kernel's OOM killer has acted in the instance's cgroup. Asked when the
    // worker has gone, before release().
    bool oom_killed() const;
    // Whether whatever the worker leaves behind is in a cgroup that release() empties.
    bool contains_leftovers() const { return !dirs_.dirs.empty(); }

protected:
    // `writable`, `mount`: see OomWatch.
    void set_dirs(InstanceDirs dirs, int writable = -1, const std::string& mount = "");
    const InstanceDirs& dirs() const { return dirs_; }

private:
    InstanceDirs dirs_;
    OomWatch oom_;
};

class CgroupEngine {
public:
    virtual ~CgroupEngine() = default;
    // Before the fork of instance `id`'s worker, for a cgroup named `name` (a scope's name
    // without ".scope"). Throws SpawnFailed ("cgroup: …") when the instance's resource keys
    // cannot be honoured here.
    virtual std::unique_ptr<InstanceCgroup> prepare(const InstanceSpec& spec, uint64_t id, const std::string& name) = 0;
    // One line for the log: which engine, and where.
    virtual std::string describe() const = 0;
};

// offshoot-<Class>-<id>, and offshoot-<Class>-<id>.<n> for its n-th launch from the second on
// (a scope starts only once): the scope's name without ".scope", and the direct engine's leaf.
std::string instance_cgroup_name(const std::string& class_name, uint64_t id, uint64_t launch = 1);

// The engine for the way offshootd runs: root in a systemd service → scopes; otherwise the
// cgroup file system. Throws when under systemd but systemd cannot be reached.
std::unique_ptr<CgroupEngine> make_cgroup_engine(sd_event* event);

}  // namespace offshoot

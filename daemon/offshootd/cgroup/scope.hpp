// scope.hpp — under systemd, every instance in a transient scope of its own, made through
// org.freedesktop.systemd1.Manager.StartTransientUnit (as systemd-run --scope, logind and
// machined do), asynchronously on offshootd's one event loop:
//
//   1. the spawn child is forked and parks (step "scope"), still root, before it has run
//      anything of the worker's;
//   2. StartTransientUnit("offshoot-<Class>-<id>.scope", "fail", …) with PIDs= the child,
//      Slice=offshoot.slice, the resource properties, CollectMode=inactive-or-failed,
//      PartOf= and Before= offshootd's own unit (stopping or restarting offshootd stops every
//      scope, after offshootd's own orderly stop), TasksMax= always (else DefaultTasksMax=
//      applies), KillMode=control-group, TimeoutStopUSec= the instance's stop timeout;
//   3. systemd moves the child when the job runs: offshootd waits for JobRemoved of that job
//      (matched once, before any call, so no signal can be missed) with result "done", at
//      most 10 s;
//   4. it then checks what the kernel did — the child is in the scope's cgroup, and each
//      limit asked for is in the cgroup's files (systemd drops limits a controller cannot
//      take, e.g. MemoryHigh= on cgroup v1) — and lets the child go on, or kills it:
//      SpawnFailed "scope: …".
// When the worker has gone, anything it left in the scope is killed (SIGKILL); systemd then
// collects the empty scope.
#pragma once

#include "cgroup/engine.hpp"

#include "offshoot/common/sd_ptr.hpp"

#include <map>
#include <string>

namespace offshoot {

class ScopeCgroup;

class SystemdScopes final : public CgroupEngine {
public:
    // Connects to the system bus, where systemd is, on `event`; `own_unit` is offshootd's.
    // Throws when systemd cannot be reached.
    SystemdScopes(sd_event* event, std::string own_unit);
    SystemdScopes(const SystemdScopes&) = delete;
    SystemdScopes& operator=(const SystemdScopes&) = delete;
    ~SystemdScopes() override;

    std::unique_ptr<InstanceCgroup> prepare(const InstanceSpec& spec, uint64_t id, const std::string& name) override;
    std::string describe() const override;

    sd_bus* bus() const { return bus_.get(); }
    sd_event* event() const { return event_; }
    const std::string& own_unit() const { return own_unit_; }
    const Hierarchies& hierarchies() const { return hierarchies_; }
    // On v1 the scopes' memory cgroups are read-only here (ProtectControlGroups=): a writable
    // handle on that hierarchy, for their OOM notifications (see OomWatch), and its mount point.
    int writable_memory() const { return writable_memory_.get(); }
    const std::string& memory_mount() const { return memory_mount_; }
    // A cgroup path as the kernel shows it (/proc/PID/cgroup) → as systemd names it
    // (ControlGroup=): without the part above systemd's root, when systemd itself runs in a
    // cgroup below the hierarchy's (a container, the systemd test's namespace).
    std::string as_systemd_names(const std::string& kernel_path) const;
    // The job a scope waits for: its JobRemoved goes to `scope`.
    void watch_job(const std::string& job, ScopeCgroup* scope) { jobs_[job] = scope; }
    void forget_job(const std::string& job) { jobs_.erase(job); }

private:
    void find_root();
    void kill_leftovers();
    static int on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error* error);

    sd_event* event_;
    std::string own_unit_;
    Hierarchies hierarchies_;
    BusPtr bus_;
    SlotPtr job_match_;
    std::map<std::string, ScopeCgroup*> jobs_;
    std::string memory_mount_;
    Fd writable_memory_;
    std::string root_;  // systemd's root in the kernel's paths ("" when it is the hierarchy's)
};

}  // namespace offshoot

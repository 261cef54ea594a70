// direct.hpp — instance cgroups offshootd makes itself, below its own, when no systemd does
// it (the embedded mode): mkdir, limits written, the child moved in by its own write of "0"
// to cgroup.procs before anything else runs, and on exit whatever is left killed and removed.
//
//   cgroup v1 (and a hybrid host's v1 controllers): in every hierarchy (cpu only for a CPU
//     limit, blkio only for an IO weight; nothing else reads them),
//       <offshootd's cgroup>/offshootd-<pid>/offshoot-<Class>-<id>
//     (several offshootds may share a cgroup, as the tests' do);
//   cgroup v2: offshootd moves itself into <its cgroup>/supervisor, enables the controllers
//     for its subtree (v2 lets a cgroup with processes of its own have no controlled
//     children), and makes <its cgroup>/offshoot-<Class>-<id> — for which it must be alone in
//     its cgroup: a delegated subtree, as systemd's Delegate= gives one.
// Anything an earlier offshootd left (killed before it could clean up) is killed and removed
// at start-up.
#pragma once

#include "cgroup/engine.hpp"

#include "offshoot/common/sd_ptr.hpp"

#include <map>
#include <string>
#include <vector>

namespace offshoot {

class DirectCgroups final : public CgroupEngine {
public:
    // `h` and `own`: the hierarchies and offshootd's place in them (the kernel's, or a fake
    // tree in the unit tests); `self`: offshootd's pid. `event` may be null (no retries).
    DirectCgroups(sd_event* event, Hierarchies h, Membership own, pid_t self);
    DirectCgroups(const DirectCgroups&) = delete;
    DirectCgroups& operator=(const DirectCgroups&) = delete;
    ~DirectCgroups() override;

    std::unique_ptr<InstanceCgroup> prepare(const InstanceSpec& spec, uint64_t id, const std::string& name) override;
    std::string describe() const override;

    // Why `c` cannot be had ("" when it can).
    std::string unavailable(Controller c) const;
    // A cgroup some process of which has not gone yet: retried until it can be removed.
    void remove_later(InstanceDirs dirs);

private:
    void set_up_v1(const Hierarchies& h, const Membership& own, pid_t self);
    void set_up_v2(const Hierarchies& h, const Membership& own, pid_t self);
    void sweep_v1(const std::string& parent, pid_t self);
    static int on_retry(sd_event_source* s, uint64_t usec, void* userdata);
    void retry();

    sd_event* event_;
    struct Base {
        CgroupDir dir;         // where instance cgroups go
        std::string relative;  // the same below the hierarchy's root (what ControlGroup shows)
    };
    std::map<Controller, Base> base_;
    std::map<Controller, std::string> missing_;  // why a controller cannot be had
    std::vector<std::string> own_bases_;         // v1 directories of our own, removed at exit
    struct Pending {
        InstanceDirs dirs;
        int attempts = 0;
    };
    std::vector<Pending> pending_;
    EventSourcePtr retry_timer_;
};

}  // namespace offshoot

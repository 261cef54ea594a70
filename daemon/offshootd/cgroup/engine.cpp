// engine.cpp — the common part of both engines, and the choice between them.
#include "cgroup/engine.hpp"

#include <fmt/format.h>

#include "cgroup/direct.hpp"
#include "cgroup/scope.hpp"

#include <systemd/sd-daemon.h>
#include <systemd/sd-login.h>
#include <unistd.h>

#include <cstdlib>

namespace offshoot {

void InstanceCgroup::place(pid_t, std::function<void(const std::string&)> done) { done(""); }

const std::string& InstanceCgroup::unit() const {
    static const std::string none;
    return none;
}

void InstanceCgroup::set_dirs(InstanceDirs dirs, int writable, const std::string& mount) {
    dirs_ = std::move(dirs);
    oom_ = OomWatch(dirs_, writable, mount);
}

bool InstanceCgroup::oom_killed() const {
    return oom_.killed();
}

std::string instance_cgroup_name(const std::string& class_name, uint64_t id, uint64_t launch) {
    // fmt rather than "literal" + std::string: GCC 12's -Wrestrict misfires on the latter at -O3.
    if (launch > 1) return fmt::format("offshoot-{}-{}.{}", class_name, id, launch);
    return fmt::format("offshoot-{}-{}", class_name, id);
}

std::unique_ptr<CgroupEngine> make_cgroup_engine(sd_event* event) {
    // A systemd service of the system manager, as root: systemd makes the cgroups (and
    // ProtectControlGroups= keeps offshootd from writing them itself).
    char* unit = nullptr;
    if (geteuid() == 0 && sd_booted() > 0 && sd_pid_get_unit(0, &unit) >= 0) {
        std::string own{unit};
        free(unit);
        if (own.ends_with(".service")) return std::make_unique<SystemdScopes>(event, own);
    }
    const auto own = read_membership(0);
    return std::make_unique<DirectCgroups>(event, read_hierarchies(), own.value_or(Membership{}), getpid());
}

}  // namespace offshoot

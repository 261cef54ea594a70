// resolve.cpp — see resolve.hpp.
#include "policy/resolve.hpp"

#include "policy/tighten.hpp"

#include "offshoot/common/errors.hpp"

#include <offshoot/wire/readiness.hpp>

#include <fmt/format.h>
#include <unistd.h>

namespace offshoot {
namespace {

// The worker's environment, from scratch: the user's basics, then the class's, then the
// caller's (each later KEY= replacing an earlier one).
std::vector<std::string> environment_for(const std::optional<UserInfo>& user, uid_t uid, const ClassConfig& cls,
                                         const std::vector<std::string>& requested) {
    const std::string name = user ? user->name : std::to_string(uid);
    std::vector<std::string> env = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=" + (user ? user->home : std::string("/")),
        "USER=" + name,
        "LOGNAME=" + name,
        "SHELL=" + (user ? user->shell : std::string("/usr/sbin/nologin")),
        "LISTEN_FDS=1",
        fmt::format("{}={}", wire::notify_fd_env, wire::notify_fd),
    };
    auto set = [&](const std::string& kv) {
        const auto key = kv.substr(0, kv.find('=') + 1);
        for (auto& e : env)
            if (e.compare(0, key.size(), key) == 0) {
                e = kv;
                return;
            }
        env.push_back(kv);
    };
    for (const auto& e : cls.environment) set(e);
    for (const auto& e : requested) set(e);
    return env;
}

}  // namespace

InstanceSpec resolve(SpawnRequest req, const Caller& caller, const ClassConfig& cls, uid_t supervisor_uid) {
    InstanceSpec spec;
    spec.cls = cls;
    spec.owner = caller;
    spec.uid = req.uid.value_or(caller.uid);
    const auto user = lookup_user(spec.uid);
    if (!user && !req.gid)
        fail(errors::invalid_argument,
             "uid {} has no user database entry; pass an explicit gid (SpawnWithOptions, key 'gid') to run as it",
             spec.uid);
    spec.gid = req.gid.value_or(user ? user->gid : 0);
    if (req.groups) spec.groups.assign(req.groups->begin(), req.groups->end());
    else if (user) spec.groups = user_groups(*user);
    authorize_spawn(cls, caller, spec.uid, spec.gid, spec.groups, user);
    if (supervisor_uid != 0 && (spec.uid != supervisor_uid || spec.gid != getegid()))
        fail(errors::access_denied, "offshootd runs unprivileged (uid {}), so it can only run instances as itself",
             supervisor_uid);

    spec.cwd = req.cwd.value_or(cls.working_directory);
    spec.umask = static_cast<mode_t>(req.umask.value_or(cls.umask.value_or(0022)));
    spec.arguments = std::move(req.arguments);
    spec.stop_mode = req.stop_mode;
    spec.stop_timeout_usec = req.stop_timeout_usec;
    spec.tie_to_caller = req.tie_to_caller;
    spec.restart = cls.restart;
    if (req.restart) {
        // A caller may restart less often than the class does, never more.
        if (!restart_within(*req.restart, cls.restart.policy))
            fail(errors::access_denied, "restart '{}' would restart {} more often than its Restart={} allows",
                 to_string(*req.restart), cls.name, to_string(cls.restart.policy));
        spec.restart.policy = *req.restart;
    }
    spec.environment = environment_for(user, spec.uid, cls, req.environment);
    spec.containment = tighten(cls.containment, req.containment);
    check_cwd_reachable(spec.containment.sandbox, spec.cwd);
    return spec;
}

}  // namespace offshoot

// spec.hpp — everything about how one instance runs, decided once at Spawn time
// (policy/resolve.cpp) and then only read: by the handle (instance.cpp) and by the spawn child
// (spawn/spawn.cpp), which takes its ids, directory, umask and environment from here as they are;
// the cgroup engine (cgroup/) and the namespace plan (spawn/namespace.hpp) read its containment.
#pragma once

#include "config/class_config.hpp"
#include "policy/users.hpp"

#include <offshoot/names.hpp>

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace offshoot {

struct InstanceSpec {
    ClassConfig cls;
    Caller owner;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
    std::string cwd;
    std::vector<std::string> environment;  // complete worker environment (minus LISTEN_PID)
    mode_t umask = 0022;
    std::vector<std::string> arguments;
    StopMode stop_mode = StopMode::terminate;
    uint64_t stop_timeout_usec = 10'000'000;
    bool tie_to_caller = false;
    RestartSettings restart;  // the class's, with the caller's choice of policy
    Containment containment;  // cgroup limits and sandbox in effect (the class's, tightened)
};

}  // namespace offshoot

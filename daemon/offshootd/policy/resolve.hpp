// resolve.hpp — a spawn request, its caller and its class into the spec the instance runs
// with: the ids (the user database's, or the request's where the policy allows them), the
// working directory, the umask, the worker's environment built from scratch, and its
// containment (the class's, tightened by the caller: policy/tighten.hpp). Pure: no bus,
// no process; the unit tests drive it (tests/supervisor/resolve_test.cpp).
#pragma once

#include "bus/spawn_request.hpp"
#include "config/class_config.hpp"
#include "instance/spec.hpp"
#include "policy/users.hpp"

namespace offshoot {

// Throws InvalidArgument or AccessDenied (policy/users.hpp's authorize_spawn) with the reason.
// `supervisor_uid` is offshootd's own (geteuid()): an unprivileged offshootd can only run
// instances as itself.
InstanceSpec resolve(SpawnRequest request, const Caller& caller, const ClassConfig& cls, uid_t supervisor_uid);

}  // namespace offshoot

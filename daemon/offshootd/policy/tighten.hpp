// tighten.hpp — a caller's containment request applied to its class's settings. A caller may
// set what the class leaves open and tighten what it sets, never loosen it: a lower limit or
// weight, more of the sandbox (PrivateTmp= on, a higher ProtectSystem=, more read-only and
// inaccessible paths). Pure; the unit tests drive it (tests/supervisor/resolve_test.cpp).
#pragma once

#include "bus/spawn_request.hpp"
#include "config/containment.hpp"

#include <string>
#include <string_view>

namespace offshoot {

// The instance's containment: the class's, tightened by `req`. Throws AccessDenied naming the
// key and both values when `req` would loosen what the class sets.
Containment tighten(const Containment& cls, const ContainmentRequest& req);

// Throws InvalidArgument, naming both, when `sandbox` hides the working directory `cwd` (an
// inaccessible path above it, PrivateTmp= over /tmp, ProtectHome= over /home …): the worker
// could not enter it. Decided on the spelling; the spawn child's chdir, made inside the new
// view, judges where a symbolic link leads.
void check_cwd_reachable(const Sandbox& sandbox, const std::string& cwd);

// Whether `path` is `prefix` or lies below it (both absolute; "//", "/./" and a trailing "/"
// are ignored).
bool path_within(std::string_view path, std::string_view prefix);

}  // namespace offshoot

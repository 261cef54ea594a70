// errors.hpp — the supervisor's error convention.
//
// Expected failures a caller can act on are thrown as offshoot::Error (= sdbus::Error: a D-Bus
// error name plus a message) and turned into the error reply at the D-Bus boundary, where a
// catch-all also maps anything unexpected to org.offshoot1.Error.Failed. sd-bus calls return
// negative errno; libc calls return -1 and set errno: the helpers below keep the two apart.
#pragma once

#include <fmt/format.h>
#include <sdbus-c++/Error.h>

#include <cstring>
#include <string>

namespace offshoot {

using Error = sdbus::Error;

namespace error_name {
inline constexpr const char* unknown_class = "org.offshoot1.Error.UnknownClass";
inline constexpr const char* access_denied = "org.offshoot1.Error.AccessDenied";
inline constexpr const char* invalid_argument = "org.offshoot1.Error.InvalidArgument";
inline constexpr const char* spawn_failed = "org.offshoot1.Error.SpawnFailed";
inline constexpr const char* not_running = "org.offshoot1.Error.NotRunning";
inline constexpr const char* timeout = "org.offshoot1.Error.Timeout";
inline constexpr const char* limit_exceeded = "org.offshoot1.Error.LimitExceeded";
inline constexpr const char* no_such_instance = "org.offshoot1.Error.NoSuchInstance";
inline constexpr const char* shutting_down = "org.offshoot1.Error.ShuttingDown";
inline constexpr const char* failed = "org.offshoot1.Error.Failed";
}  // namespace error_name

template <class... A>
[[noreturn]] void fail(const char* name, fmt::format_string<A...> f, A&&... args) {
    throw Error(name, fmt::format(f, std::forward<A>(args)...));
}

inline std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }

}  // namespace offshoot

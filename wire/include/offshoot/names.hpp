// offshoot/names.hpp — offshoot's public D-Bus names, each spelled out here and nowhere else:
// the supervisor's bus name, object and interfaces, the object inside a worker, the error names
// offshootd answers with (and the freedesktop.org ones offshoot's programs use themselves), and
// the stop modes. API v1: names are added, never renamed.
//
// Shared by offshootd, offshoot-worker, liboffshoot-client, the class SDK, offshootctl, the
// benchmarks and the tests. Header-only; installed with both libraries' headers.
#pragma once

#include <optional>
#include <string_view>

namespace offshoot {

namespace names {
inline constexpr const char* bus_name = "org.offshoot1";
inline constexpr const char* supervisor_path = "/org/offshoot1";
inline constexpr const char* supervisor_interface = "org.offshoot1.Supervisor";
inline constexpr const char* instance_interface = "org.offshoot1.Instance";
// Instance handles are /org/offshoot1/instance/<id> (decimal): the tree they live in, and the
// prefix of their paths.
inline constexpr const char* instance_tree = "/org/offshoot1/instance";
inline constexpr const char* instance_path_prefix = "/org/offshoot1/instance/";
// The one object a worker serves on its private connection, and the sender name it stamps on
// its messages (clients address it as the destination).
inline constexpr const char* object_name = "org.offshoot1.Object";
inline constexpr const char* object_path = "/org/offshoot1/object";
}  // namespace names

// Compare with sdbus::Error::getName() (offshoot::Error).
namespace errors {
inline constexpr const char* unknown_class = "org.offshoot1.Error.UnknownClass";
inline constexpr const char* access_denied = "org.offshoot1.Error.AccessDenied";
inline constexpr const char* invalid_argument = "org.offshoot1.Error.InvalidArgument";
inline constexpr const char* spawn_failed = "org.offshoot1.Error.SpawnFailed";
inline constexpr const char* not_running = "org.offshoot1.Error.NotRunning";
inline constexpr const char* timeout = "org.offshoot1.Error.Timeout";
inline constexpr const char* limit_exceeded = "org.offshoot1.Error.LimitExceeded";
inline constexpr const char* shutting_down = "org.offshoot1.Error.ShuttingDown";
// Something offshootd did not expect (logged on its side).
inline constexpr const char* failed = "org.offshoot1.Error.Failed";

// freedesktop.org's names, as offshoot's programs use them: a class method's generic failure
// and refused arguments (the SDK), a call that got no reply (the instance went away), a bound
// a peer ran into, a bus name nobody owns (the worker's bus facade), a callback into a caller
// whose connection closed first (the SDK, offshoot/caller.hpp).
inline constexpr const char* dbus_failed = "org.freedesktop.DBus.Error.Failed";
inline constexpr const char* dbus_invalid_args = "org.freedesktop.DBus.Error.InvalidArgs";
inline constexpr const char* dbus_no_reply = "org.freedesktop.DBus.Error.NoReply";
inline constexpr const char* dbus_limits_exceeded = "org.freedesktop.DBus.Error.LimitsExceeded";
inline constexpr const char* dbus_name_has_no_owner = "org.freedesktop.DBus.Error.NameHasNoOwner";
inline constexpr const char* dbus_no_memory = "org.freedesktop.DBus.Error.NoMemory";
inline constexpr const char* dbus_disconnected = "org.freedesktop.DBus.Error.Disconnected";
}  // namespace errors

// How Stop ends an instance (SpawnWithOptions' "stop-mode").
enum class StopMode {
    terminate,  // SIGTERM: the class's stop() hook runs, the process exits (the default)
    wait,       // let a task's run() or a loop finish by itself (within the stop timeout)
};

// "terminate" / "wait": the wire spelling (the D-Bus option, the worker's command line).
constexpr const char* stop_mode_name(StopMode mode) noexcept {
    return mode == StopMode::wait ? "wait" : "terminate";
}
constexpr std::optional<StopMode> parse_stop_mode(std::string_view text) noexcept {
    if (text == "terminate") return StopMode::terminate;
    if (text == "wait") return StopMode::wait;
    return std::nullopt;
}

}  // namespace offshoot

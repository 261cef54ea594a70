// offshoot/client/names.hpp — offshoot's public D-Bus names (API v1, DESIGN.md) and its one
// exception type, as the client library sees them.
#pragma once

#include <sdbus-c++/Error.h>

namespace offshoot {

// One exception type for everything: errors answered by offshootd, errors thrown by an
// instance's object (e.g. org.offshoot1.example.Faulty.Error) and connection failures.
// getName() is the D-Bus error name, getMessage() the text.
using Error = sdbus::Error;

namespace names {
inline constexpr const char* bus_name = "org.offshoot1";
inline constexpr const char* supervisor_path = "/org/offshoot1";
inline constexpr const char* supervisor_interface = "org.offshoot1.Supervisor";
inline constexpr const char* instance_interface = "org.offshoot1.Instance";
inline constexpr const char* instance_path_prefix = "/org/offshoot1/instance/";
// The object inside a worker, on its private connection.
inline constexpr const char* object_name = "org.offshoot1.Object";
inline constexpr const char* object_path = "/org/offshoot1/object";
}  // namespace names

// Error names offshootd answers with (compare with Error::getName()).
namespace errors {
inline constexpr const char* unknown_class = "org.offshoot1.Error.UnknownClass";
inline constexpr const char* access_denied = "org.offshoot1.Error.AccessDenied";
inline constexpr const char* invalid_argument = "org.offshoot1.Error.InvalidArgument";
inline constexpr const char* spawn_failed = "org.offshoot1.Error.SpawnFailed";
inline constexpr const char* not_running = "org.offshoot1.Error.NotRunning";
inline constexpr const char* timeout = "org.offshoot1.Error.Timeout";
// What a call in flight fails with when the instance's process goes away (sd-bus's own name).
inline constexpr const char* no_reply = "org.freedesktop.DBus.Error.NoReply";
}  // namespace errors

}  // namespace offshoot

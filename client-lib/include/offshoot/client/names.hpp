// offshoot/client/names.hpp — offshoot's public D-Bus names (offshoot/names.hpp, where each is
// spelled out) and its one exception type, as the client library sees them.
#pragma once

#include <offshoot/names.hpp>

#include <sdbus-c++/Error.h>

namespace offshoot {

// One exception type for everything: errors answered by offshootd, errors thrown by an
// instance's object (e.g. org.offshoot1.example.Faulty.Error) and connection failures.
// getName() is the D-Bus error name, getMessage() the text.
using Error = sdbus::Error;

namespace errors {
// What a call in flight fails with when the instance's process goes away (sd-bus's own name).
inline constexpr const char* no_reply = dbus_no_reply;
// A call that got no reply within its timeout: offshoot::is_timeout() recognizes sd-bus's own
// forms, and Connected<P>::call() answers with offshoot's errors::timeout.
}  // namespace errors

}  // namespace offshoot

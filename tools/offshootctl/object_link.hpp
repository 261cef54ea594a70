// object_link.hpp — the way to an instance's object that the object verbs share (call,
// introspect, get-property, set-property, monitor): its address and interface from offshootd,
// a raw sd-bus connection to it, a call whose error keeps its D-Bus name.
#pragma once

#include <offshoot/common/sd_ptr.hpp>

#include <string>

#include "context.hpp"

namespace offshootctl {

using offshoot::BusPtr;  // flushes before it closes: nothing queued is lost
using offshoot::MessagePtr;

struct Target {
    std::string address;
    std::string interface;  // the class's, from offshootd's configuration
};

// The running instance's address (its owner and root may read it) and interface; NotRunning
// for one without a process.
Target target_of(Context& ctx, const std::string& id);
// A bus client connection (Hello included) to an instance's address; with `monitor`, one that
// neither dispatches nor answers what it receives (sd_bus_set_monitor).
BusPtr connect(const std::string& address, bool monitor = false);
// Sends `m` and returns the reply; an error reply becomes an sdbus::Error with its name.
MessagePtr call(sd_bus* bus, sd_bus_message* m);
// A D-Bus error for a local failure (errno), named the way sd-bus maps errnos.
[[noreturn]] void fail_errno(int r, const std::string& what);

}  // namespace offshootctl

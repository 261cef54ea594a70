// bus_driver.hpp — the org.freedesktop.DBus facade served on every peer connection.
//
// There is no broker on a peer-to-peer connection, but bus clients (busctl, gdbus,
// dbus-send, sdbus-c++) behave as if there were: they send Hello first and AddMatch for
// every signal subscription, and GLib proxies ask GetNameOwner. The worker answers those
// itself at /org/freedesktop/DBus. Names: "org.offshoot1.Object" is the object's (it owns
// itself, matching the sender set on its signals), each peer gets ":1.<n>".
#pragma once

#include <systemd/sd-bus.h>

namespace offshoot::worker {

struct Connection;

// Registers the facade on `bus` (floating slot) with `connection` as userdata.
int add_bus_driver(sd_bus* bus, Connection* connection);

}  // namespace offshoot::worker

// monitor.hpp — org.freedesktop.DBus.Monitoring on the worker's private server: a peer calls
// BecomeMonitor and from then on receives a copy of every message the instance's other
// connections send and receive, as a monitor on a bus does (busctl monitor, dbus-monitor).
//
// What dbus-daemon does, and what this does the same way: BecomeMonitor(as rules, u flags) is
// answered, then the connection loses its unique name (NameLost is sent to it) and becomes
// receive-only: anything it sends closes it. The copies keep the original cookies; a call from
// a peer carries that peer's unique name as its sender (peers do not stamp themselves, a bus
// would). An empty rule list means every message; otherwise a message is copied when any rule
// matches (keys type, sender, destination, interface, member, path, path_namespace; eavesdrop
// is accepted and means nothing here). flags must be 0.
//
// Who and how much: only the instance's owner and root may become monitors (the socket lets
// nobody else in; this checks again and fails closed). At most max_monitors at once, each with at
// most max_rules rules. A monitor that does not read is not waited for: once max_queued copies
// wait in its write queue it is disconnected (logged), so it can neither stall the worker nor
// make it hold messages without bound. With no monitor, the cost is one pointer load per sent
// message.
//
// How the copies are taken: incoming messages in the server's filter (before they are
// dispatched); outgoing ones where every sd-bus message leaves, sd_bus_send(), which the worker
// interposes (sd-bus 252 has no hook on sent messages: a broker sees them because it routes
// them, a peer server does not). Replies the object's vtable, the properties and introspection
// code of sd-bus and the bus driver facade send all pass through it. A signal the object emits
// to N peers is copied once (Server::for_each_bus hands monitors their own emission).
#pragma once

#include <systemd/sd-bus.h>

#include <atomic>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace offshoot::worker {

struct Connection;
class Server;

// One match rule of BecomeMonitor (the D-Bus specification's syntax, key='value',…).
struct MatchRule {
    int type = 0;  // SD_BUS_MESSAGE_*, 0: any
    std::string sender, destination, interface, member, path, path_namespace;  // "": any

    // Whether `m` matches; `sender` is the sender to match against (a copy's, or the one a
    // message still to be sealed will get).
    bool matches(sd_bus_message* m, std::string_view sender) const;
};

// Parses one rule; nullopt with `error` set for a rule that is malformed or uses a key this
// server does not support (argN…): refused rather than matched more widely than asked.
std::optional<MatchRule> parse_match_rule(std::string_view text, std::string& error);

class Monitors {
public:
    static constexpr size_t max_monitors = 8;
    static constexpr size_t max_rules = 64;
    static constexpr size_t max_rule_length = 1024;
    static constexpr uint64_t max_queued = 256;

    explicit Monitors(Server& server) : server_(server) {}
    ~Monitors();
    Monitors(const Monitors&) = delete;
    Monitors& operator=(const Monitors&) = delete;

    // The BecomeMonitor call on `c` (bus driver facade): checks, answers, converts `c`.
    int become(Connection& c, sd_bus_message* call, sd_bus_error* error);
    // A message that arrived on `c` (the server's filter). False when `c` is a monitor, which
    // may not send anything: the caller closes it.
    bool incoming(Connection& c, sd_bus_message* m);
    // `c` is closed: it is no monitor any more.
    void forget(const Connection& c) noexcept;

    bool any() const noexcept { return !monitors_.empty(); }

    // Server::for_each_bus: while a signal goes out to the peers, their sends are not copied;
    // then the emission on `capture` (a monitor's bus) is the one copy the monitors get.
    void begin_broadcast() noexcept { ++broadcasting_; }
    void end_broadcast() noexcept { --broadcasting_; }
    sd_bus* capture_bus() const noexcept;
    void set_capture(sd_bus* bus) noexcept { capture_ = bus; }

    // The interposed sd_bus_send(), on the loop thread with monitors present.
    int send(sd_bus* bus, sd_bus_message* m, uint64_t* cookie);

private:
    void distribute(sd_bus_message* m, std::string_view sender);
    void activate(bool on) noexcept;
    bool is_peer(sd_bus* bus) const noexcept;

    Server& server_;
    std::vector<Connection*> monitors_;
    int broadcasting_ = 0;
    sd_bus* capture_ = nullptr;
};

}  // namespace offshoot::worker

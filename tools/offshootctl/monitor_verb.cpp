// monitor_verb.cpp — `offshootctl monitor ID`: every message to and from an instance's object,
// as it happens. Over the instance's private connection, as `busctl --address=… monitor` is:
// the connection calls org.freedesktop.DBus.Monitoring.BecomeMonitor, which the worker answers
// for the instance's owner and root, and then receives a copy of each message the instance's
// other connections send and receive (daemon/offshoot-worker/monitor.hpp).
//
// Text output is sd-bus's own message dump (what busctl monitor prints); --json prints one
// object per message and line. It ends when the instance's process does (the connection
// closes), or on SIGINT/SIGTERM.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "busctl_format.hpp"
#include "object_link.hpp"
#include "verbs.hpp"

namespace offshootctl {
namespace {

const char* type_name(sd_bus_message* m) {
    uint8_t type = 0;
    (void)sd_bus_message_get_type(m, &type);
    switch (type) {
    case SD_BUS_MESSAGE_METHOD_CALL: return "method_call";
    case SD_BUS_MESSAGE_METHOD_RETURN: return "method_return";
    case SD_BUS_MESSAGE_METHOD_ERROR: return "error";
    case SD_BUS_MESSAGE_SIGNAL: return "signal";
    default: return "unknown";
    }
}

json describe(sd_bus_message* m) {
    auto text = [](const char* s) { return s ? json(s) : json(nullptr); };
    uint64_t cookie = 0, reply_cookie = 0;
    json j = {{"type", type_name(m)},
              {"sender", text(sd_bus_message_get_sender(m))},
              {"destination", text(sd_bus_message_get_destination(m))},
              {"path", text(sd_bus_message_get_path(m))},
              {"interface", text(sd_bus_message_get_interface(m))},
              {"member", text(sd_bus_message_get_member(m))}};
    j["cookie"] = sd_bus_message_get_cookie(m, &cookie) >= 0 ? json(cookie) : json(nullptr);
    j["reply_cookie"] = sd_bus_message_get_reply_cookie(m, &reply_cookie) >= 0 ? json(reply_cookie) : json(nullptr);
    if (const sd_bus_error* e = sd_bus_message_get_error(m)) j["error_name"] = text(e->name);
    j["payload"] = format_json(m);
    return j;
}

// SIGINT/SIGTERM end the loop as an event (a signalfd next to the bus's fd).
int signal_fd() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, nullptr) < 0) return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

void become_monitor(sd_bus* bus, const std::vector<std::string>& rules) {
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus, &raw, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus.Monitoring", "BecomeMonitor");
    MessagePtr m(raw);
    if (r >= 0) r = sd_bus_message_open_container(raw, 'a', "s");
    for (const auto& rule : rules)
        if (r >= 0) r = sd_bus_message_append(raw, "s", rule.c_str());
    if (r >= 0) r = sd_bus_message_close_container(raw);
    if (r >= 0) r = sd_bus_message_append(raw, "u", 0u);
    if (r < 0) fail_errno(r, "cannot build the BecomeMonitor call");
    call(bus, raw);
}

}  // namespace

int verb_monitor(Context& ctx, const std::string& id, const std::vector<std::string>& rules) {
    // Before the first call to offshootd: liboffshoot-client's event-loop thread must inherit
    // the mask, or a SIGINT would go to it and end the process the default way.
    const int sfd = signal_fd();
    if (sfd < 0) fail_errno(-errno, "signalfd");
    const Target t = target_of(ctx, id);
    BusPtr bus = connect(t.address, /* monitor= */ true);
    become_monitor(bus.get(), rules);
    const char* unique = nullptr;
    (void)sd_bus_get_unique_name(bus.get(), &unique);
    // On stderr in both modes: stdout is the messages alone.
    std::cerr << "Monitoring instance " << id_of(instance_path(id)) << " (" << t.address << "); Ctrl-C stops."
              << std::endl;
    for (;;) {
        sd_bus_message* raw = nullptr;
        const int r = sd_bus_process(bus.get(), &raw);
        MessagePtr m(raw);
        if (r < 0) fail_errno(r, "reading from the instance");
        if (m) {
            // The worker's NameLost for our own name says we are a monitor now; not traffic.
            if (sd_bus_message_is_signal(m.get(), "org.freedesktop.DBus", "NameLost") > 0 && unique &&
                sd_bus_message_get_destination(m.get()) && std::string(sd_bus_message_get_destination(m.get())) == unique)
                continue;
            if (sd_bus_message_is_signal(m.get(), "org.freedesktop.DBus.Local", "Disconnected") > 0) break;
            if (ctx.json()) std::cout << describe(m.get()).dump() << std::endl;
            else {
                (void)sd_bus_message_dump(m.get(), stdout, SD_BUS_MESSAGE_DUMP_WITH_HEADER);
                std::fflush(stdout);
            }
            continue;
        }
        if (r > 0) continue;
        pollfd p[2] = {{sd_bus_get_fd(bus.get()), static_cast<short>(sd_bus_get_events(bus.get())), 0},
                       {sfd, POLLIN, 0}};
        if (::poll(p, 2, -1) < 0 && errno != EINTR) fail_errno(-errno, "poll");
        if (p[1].revents) break;
    }
    ::close(sfd);
    std::cerr << "Monitoring ended." << std::endl;
    return exit_ok;
}

}  // namespace offshootctl

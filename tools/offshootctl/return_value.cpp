// return_value.cpp — what a task's run() handed back, read from its handle's ReturnValue
// property (an array of one variant, or none) once `wait` or `spawn --wait` has seen the
// process end. Over a raw sd-bus connection of its own to offshootd's bus, so the value is
// printed with busctl's notation like every other value offshootctl prints.
#include <iostream>

#include "busctl_format.hpp"
#include "object_link.hpp"
#include "verbs.hpp"

namespace offshootctl {
namespace {

namespace names = offshoot::names;
using offshoot::BusError;

BusPtr open_bus(const Globals& g) {
    sd_bus* raw = nullptr;
    int r = 0;
    switch (g.bus) {
    case BusKind::system: r = sd_bus_open_system(&raw); break;
    case BusKind::session: r = sd_bus_open_user(&raw); break;
    case BusKind::remote: r = sd_bus_open_system_remote(&raw, g.host.c_str()); break;  // as Supervisor::remote
    case BusKind::address:
        r = sd_bus_new(&raw);
        if (r >= 0) r = sd_bus_set_address(raw, g.address.c_str());
        if (r >= 0) r = sd_bus_set_bus_client(raw, 1);
        if (r >= 0) r = sd_bus_start(raw);
        break;
    }
    BusPtr bus(raw);
    if (r < 0) fail_errno(r, "cannot connect to offshootd's bus");
    return bus;
}

// The property's reply positioned at the one variant inside the array, or null when there is
// no value (none handed back, or not the caller's to read, or an offshootd without it).
MessagePtr value_of(Context& ctx, const std::string& path) {
    BusPtr bus = open_bus(ctx.globals());
    sd_bus_message* raw = nullptr;
    BusError error;
    const int r = sd_bus_get_property(bus.get(), names::bus_name, path.c_str(), names::instance_interface,
                                      "ReturnValue", &error, &raw, "av");
    MessagePtr reply(raw);
    if (r < 0) return {};  // AccessDenied (someone else's), UnknownProperty (an older offshootd)
    if (sd_bus_message_enter_container(raw, 'a', "v") < 0 || sd_bus_message_at_end(raw, 0) != 0) return {};
    return reply;
}

}  // namespace

void print_return_value(Context& ctx, const std::string& path) {
    if (MessagePtr m = value_of(ctx, path)) std::cout << "Value: " << format_variant_cmdline(m.get()) << '\n';
}

json return_value_json(Context& ctx, const std::string& path) {
    MessagePtr m = value_of(ctx, path);
    return m ? format_variant_json(m.get()) : json(nullptr);
}

}  // namespace offshootctl

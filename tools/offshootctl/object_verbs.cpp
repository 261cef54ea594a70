// object_verbs.cpp — `call`, `introspect`, `get-property` and `set-property`: straight to the
// instance's object over its private peer-to-peer address (never through offshootd), with raw
// sd-bus so that a busctl-style argument list can drive sd_bus_message_append and the reply can
// be walked generically.
//
// Why not run `busctl --address=… call` as a subprocess: busctl reports a failed call as
// "Call failed: <message>" without the error's name, while offshootctl promises
// "Error <name>: <message>" and exit code 1 for every D-Bus error; it would also make busctl a
// run-time dependency. The notation itself is small (busctl_format.cpp).
#include <offshoot/common/sd_ptr.hpp>

#include <iostream>

#include "busctl_format.hpp"
#include "object_link.hpp"
#include "verbs.hpp"

namespace offshootctl {

namespace names = offshoot::names;
using offshoot::BusError;

void fail_errno(int r, const std::string& what) {
    BusError e;
    sd_bus_error_set_errno(&e, r);
    throw sdbus::Error(e.e.name ? e.e.name : offshoot::errors::dbus_failed,
                       what + ": " + (e.e.message ? e.e.message : "failed"));
}

Target target_of(Context& ctx, const std::string& id) {
    const std::string path = instance_path(id);
    const auto props = instance_properties(ctx, path);
    auto text = [&](const char* key) {
        auto it = props.find(key);
        return it != props.end() && it->second.peekValueType() == "s" ? it->second.get<std::string>() : std::string();
    };
    const std::string state = text("State");
    if (state != "running")
        throw sdbus::Error(offshoot::errors::not_running,
                           "instance " + id_of(path) + " is " + state + ", not running (offshootctl start " +
                               id_of(path) + " starts it)");
    Target t;
    t.address = text("Address");
    if (t.address.empty()) {
        // GetAll hides an address the caller may not read; Get says why.
        ctx.proxy(path)->getProperty("Address").onInterface(names::instance_interface).get<std::string>();
        throw sdbus::Error(offshoot::errors::not_running, "instance " + id_of(path) + " has no address");
    }
    for (auto& c : ctx.supervisor().classes())
        if (c.name == text("Class")) t.interface = c.interface;
    return t;
}

BusPtr connect(const std::string& address, bool monitor) {
    sd_bus* raw = nullptr;
    int r = sd_bus_new(&raw);
    BusPtr bus(raw);
    if (r >= 0) r = sd_bus_set_address(raw, address.c_str());
    // A monitor's sd-bus neither dispatches nor answers what it receives (a monitor that sends
    // anything is disconnected), as busctl monitor's.
    if (r >= 0 && monitor) r = sd_bus_set_monitor(raw, 1);
    // A bus client: Hello first, which the worker answers as a bus would.
    if (r >= 0) r = sd_bus_set_bus_client(raw, 1);
    if (r >= 0) r = sd_bus_start(raw);
    if (r < 0) fail_errno(r, "cannot connect to " + address);
    return bus;
}

// Sends `m` and returns the reply; an error reply becomes an sdbus::Error with its name.
MessagePtr call(sd_bus* bus, sd_bus_message* m) {
    BusError error;
    sd_bus_message* reply = nullptr;
    const int r = sd_bus_call(bus, m, 0, &error, &reply);
    MessagePtr owned(reply);
    if (r < 0) {
        if (!sd_bus_error_is_set(&error)) fail_errno(r, "call failed");
        throw sdbus::Error(error.name(), error.message());
    }
    return owned;
}

namespace {

// "Member" → (the class's interface, Member); "Interface.Member" → split at the last dot.
std::pair<std::string, std::string> qualified(const std::string& text, const Target& t, const char* what) {
    const auto dot = text.rfind('.');
    if (dot != std::string::npos) return {text.substr(0, dot), text.substr(dot + 1)};
    if (t.interface.empty())
        throw UsageError(std::string("the instance's class has no interface configured: give the ") + what +
                         " as Interface.Name");
    return {t.interface, text};
}

MessagePtr properties_call(sd_bus* bus, const char* member, const std::string& interface, const std::string& name) {
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus, &raw, names::object_name, names::object_path,
                                           "org.freedesktop.DBus.Properties", member);
    MessagePtr m(raw);
    if (r >= 0) r = sd_bus_message_append(raw, "ss", interface.c_str(), name.c_str());
    if (r == -EINVAL) throw UsageError("'" + interface + "." + name + "' is not a valid interface and property name");
    if (r < 0) fail_errno(r, "cannot build the call");
    return m;
}

}  // namespace

int verb_get_property(Context& ctx, const std::string& id, const std::vector<std::string>& properties) {
    Target t = target_of(ctx, id);
    BusPtr bus = connect(t.address);
    for (const std::string& p : properties) {
        const auto [interface, name] = qualified(p, t, "property");
        MessagePtr m = properties_call(bus.get(), "Get", interface, name);
        MessagePtr reply = call(bus.get(), m.get());
        if (ctx.json()) std::cout << format_variant_json(reply.get()).dump() << '\n';
        else std::cout << format_variant_cmdline(reply.get()) << '\n';
    }
    return exit_ok;
}

int verb_set_property(Context& ctx, const std::string& id, const std::string& property,
                      const std::vector<std::string>& args) {
    if (args.empty()) throw UsageError("set-property needs the value's SIGNATURE and the value");
    const std::string& signature = args.front();
    const std::vector<std::string> values(args.begin() + 1, args.end());
    Target t = target_of(ctx, id);
    const auto [interface, name] = qualified(property, t, "property");
    BusPtr bus = connect(t.address);
    MessagePtr m = properties_call(bus.get(), "Set", interface, name);
    int r = sd_bus_message_open_container(m.get(), 'v', signature.c_str());
    if (r < 0) throw UsageError("'" + signature + "' is not the signature of one value");
    append_cmdline(m.get(), signature, values);
    if ((r = sd_bus_message_close_container(m.get())) < 0) fail_errno(r, "cannot build the call");
    call(bus.get(), m.get());
    return exit_ok;
}

int verb_call(Context& ctx, const std::string& id, const std::string& method, const std::vector<std::string>& args) {
    std::string interface;
    std::string member = method;
    if (const auto dot = method.rfind('.'); dot != std::string::npos) {
        interface = method.substr(0, dot);
        member = method.substr(dot + 1);
    }
    const std::string signature = args.empty() ? std::string() : args.front();
    const std::vector<std::string> values(args.empty() ? args.end() : args.begin() + 1, args.end());
    if (args.empty() && !values.empty()) throw UsageError("arguments need a signature first");

    Target t = target_of(ctx, id);
    if (interface.empty()) interface = t.interface;
    if (interface.empty())
        throw UsageError("the class of instance " + id + " has no interface configured: give METHOD as Interface.Member");

    BusPtr bus = connect(ctx.reachable(t.address));
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus.get(), &raw, names::object_name, names::object_path,
                                           interface.c_str(), member.c_str());
    MessagePtr m(raw);
    if (r < 0) {
        if (r == -EINVAL) throw UsageError("'" + method + "' is not a valid interface and member name");
        fail_errno(r, "cannot build the call");
    }
    append_cmdline(m.get(), signature, values);
    MessagePtr reply = call(bus.get(), m.get());
    if (ctx.json()) {
        std::cout << format_json(reply.get()).dump() << '\n';
    } else if (std::string text = format_cmdline(reply.get()); !text.empty()) {
        std::cout << text << '\n';
    }
    return exit_ok;
}

int verb_introspect(Context& ctx, const std::string& id) {
    Target t = target_of(ctx, id);
    BusPtr bus = connect(ctx.reachable(t.address));
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus.get(), &raw, names::object_name, names::object_path,
                                           "org.freedesktop.DBus.Introspectable", "Introspect");
    MessagePtr m(raw);
    if (r < 0) fail_errno(r, "cannot build the call");
    MessagePtr reply = call(bus.get(), m.get());
    const char* xml = nullptr;
    r = sd_bus_message_read(reply.get(), "s", &xml);
    if (r < 0) fail_errno(r, "cannot read the introspection data");
    if (ctx.json()) std::cout << json{{"interface", t.interface}, {"xml", xml}}.dump(2) << '\n';
    else std::cout << xml;
    return exit_ok;
}

}  // namespace offshootctl

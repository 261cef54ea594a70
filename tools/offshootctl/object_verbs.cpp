// object_verbs.cpp — `call` and `introspect`: straight to the instance's object over its
// private peer-to-peer address (never through offshootd), with raw sd-bus so that a
// busctl-style argument list can drive sd_bus_message_append and the reply can be walked
// generically.
//
// Why not run `busctl --address=… call` as a subprocess: busctl reports a failed call as
// "Call failed: <message>" without the error's name, while offshootctl promises
// "Error <name>: <message>" and exit code 1 for every D-Bus error; it would also make busctl a
// run-time dependency. The notation itself is small (busctl_format.cpp).
#include <iostream>
#include <memory>

#include "busctl_format.hpp"
#include "verbs.hpp"

namespace offshootctl {
namespace {

namespace names = offshoot::names;

struct BusUnref {
    void operator()(sd_bus* b) const noexcept { sd_bus_flush_close_unref(b); }
};
struct MessageUnref {
    void operator()(sd_bus_message* m) const noexcept { sd_bus_message_unref(m); }
};
using BusPtr = std::unique_ptr<sd_bus, BusUnref>;
using MessagePtr = std::unique_ptr<sd_bus_message, MessageUnref>;

// A D-Bus error for a local failure (errno), named the way sd-bus maps errnos.
[[noreturn]] void fail_errno(int r, const std::string& what) {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    sd_bus_error_set_errno(&e, r);
    std::string name = e.name ? e.name : "org.freedesktop.DBus.Error.Failed";
    std::string message = what + ": " + (e.message ? e.message : "failed");
    sd_bus_error_free(&e);
    throw sdbus::Error(name, message);
}

struct Target {
    std::string address;
    std::string interface;  // the class's, from offshootd's configuration
};

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

BusPtr connect(const std::string& address) {
    sd_bus* raw = nullptr;
    int r = sd_bus_new(&raw);
    BusPtr bus(raw);
    if (r >= 0) r = sd_bus_set_address(raw, address.c_str());
    // A bus client: Hello first, which the worker answers as a bus would.
    if (r >= 0) r = sd_bus_set_bus_client(raw, 1);
    if (r >= 0) r = sd_bus_start(raw);
    if (r < 0) fail_errno(r, "cannot connect to " + address);
    return bus;
}

// Sends `m` and returns the reply; an error reply becomes an sdbus::Error with its name.
MessagePtr call(sd_bus* bus, sd_bus_message* m) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    const int r = sd_bus_call(bus, m, 0, &error, &reply);
    MessagePtr owned(reply);
    if (r < 0) {
        if (!sd_bus_error_is_set(&error)) fail_errno(r, "call failed");
        sdbus::Error e(error.name, error.message ? error.message : "");
        sd_bus_error_free(&error);
        throw e;
    }
    return owned;
}

}  // namespace

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

    BusPtr bus = connect(t.address);
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
    BusPtr bus = connect(t.address);
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

// bus_driver.cpp — see bus_driver.hpp. Handlers follow one shape: read the arguments,
// answer from the server's connection table, reply.
#include "bus_driver.hpp"

#include "server.hpp"

#include <unistd.h>

#include <string_view>

namespace offshoot::worker {
namespace {

constexpr const char* driver_name = "org.freedesktop.DBus";
constexpr const char* driver_path = "/org/freedesktop/DBus";

Connection& connection_of(void* userdata) { return *static_cast<Connection*>(userdata); }

// Who owns `name`: the object's name owns itself (the sender stamped on its messages), the
// driver owns its name, and each peer that is still connected owns its unique name.
// Returns the owner, or nullptr; `peer` is set for peers.
const char* owner_of(const Server& server, std::string_view name, const Connection** peer) {
    *peer = nullptr;
    if (name == object_sender) return object_sender;
    if (name == driver_name) return driver_name;
    if (const Connection* c = server.find_peer(name)) {
        *peer = c;
        return c->unique_name.c_str();
    }
    return nullptr;
}

int method_hello(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    Connection& c = connection_of(userdata);
    if (c.said_hello)
        return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, "Already handled an Hello message");
    c.said_hello = true;
    return sd_bus_reply_method_return(m, "s", c.unique_name.c_str());
}

// Matches are evaluated on the client side: every signal goes to every peer anyway.
int method_match(sd_bus_message* m, void*, sd_bus_error*) {
    const char* rule = nullptr;
    int r = sd_bus_message_read(m, "s", &rule);
    if (r < 0) return r;
    return sd_bus_reply_method_return(m, nullptr);
}

int method_get_id(sd_bus_message* m, void* userdata, sd_bus_error*) {
    return sd_bus_reply_method_return(m, "s", connection_of(userdata).server->id_hex().c_str());
}

int method_get_name_owner(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    const char* name = nullptr;
    int r = sd_bus_message_read(m, "s", &name);
    if (r < 0) return r;
    const Connection* peer;
    const char* owner = owner_of(*connection_of(userdata).server, name, &peer);
    if (!owner)
        return sd_bus_error_setf(error, errors::dbus_name_has_no_owner,
                                 "Could not get owner of name '%s': no such name", name);
    return sd_bus_reply_method_return(m, "s", owner);
}

int method_name_has_owner(sd_bus_message* m, void* userdata, sd_bus_error*) {
    const char* name = nullptr;
    int r = sd_bus_message_read(m, "s", &name);
    if (r < 0) return r;
    const Connection* peer;
    return sd_bus_reply_method_return(
        m, "b", owner_of(*connection_of(userdata).server, name, &peer) != nullptr);
}

int reply_names(sd_bus_message* m, const Server* server) {
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_return(m, &raw);
    if (r < 0) return r;
    MessagePtr reply(raw);
    r = sd_bus_message_open_container(reply.get(), 'a', "s");
    if (r < 0) return r;
    r = sd_bus_message_append(reply.get(), "s", driver_name);
    if (r < 0) return r;
    if (server) {
        r = sd_bus_message_append(reply.get(), "s", object_sender);
        if (r < 0) return r;
        for (const auto& c : server->connections()) {
            if (c->closed) continue;
            r = sd_bus_message_append(reply.get(), "s", c->unique_name.c_str());
            if (r < 0) return r;
        }
    }
    r = sd_bus_message_close_container(reply.get());
    if (r < 0) return r;
    return sd_bus_send(nullptr, reply.get(), nullptr);
}

int method_list_names(sd_bus_message* m, void* userdata, sd_bus_error*) {
    return reply_names(m, connection_of(userdata).server);
}

// Nothing is activatable on a peer connection; dbus-daemon lists its own name here too.
int method_list_activatable_names(sd_bus_message* m, void*, sd_bus_error*) {
    return reply_names(m, nullptr);
}

template <bool Uid>
int method_get_connection_unix_id(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    const char* name = nullptr;
    int r = sd_bus_message_read(m, "s", &name);
    if (r < 0) return r;
    const Connection* peer;
    const char* owner = owner_of(*connection_of(userdata).server, name, &peer);
    if (!owner || std::string_view(owner) == driver_name)
        return sd_bus_error_setf(error, errors::dbus_name_has_no_owner,
                                 "Could not get %s of name '%s': no such name",
                                 Uid ? "UID" : "PID", name);
    uint32_t value;
    if constexpr (Uid) value = peer ? peer->peer.uid : ::getuid();
    else value = peer ? static_cast<uint32_t>(peer->peer.pid) : static_cast<uint32_t>(::getpid());
    return sd_bus_reply_method_return(m, "u", value);
}

const sd_bus_vtable driver_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_ARGS("Hello", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", unique_name),
                            method_hello, 0),
    SD_BUS_METHOD_WITH_ARGS("AddMatch", SD_BUS_ARGS("s", rule), SD_BUS_NO_RESULT,
                            method_match, 0),
    SD_BUS_METHOD_WITH_ARGS("RemoveMatch", SD_BUS_ARGS("s", rule), SD_BUS_NO_RESULT,
                            method_match, 0),
    SD_BUS_METHOD_WITH_ARGS("GetId", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", id), method_get_id, 0),
    SD_BUS_METHOD_WITH_ARGS("GetNameOwner", SD_BUS_ARGS("s", name),
                            SD_BUS_RESULT("s", unique_name), method_get_name_owner, 0),
    SD_BUS_METHOD_WITH_ARGS("NameHasOwner", SD_BUS_ARGS("s", name),
                            SD_BUS_RESULT("b", has_owner), method_name_has_owner, 0),
    SD_BUS_METHOD_WITH_ARGS("ListNames", SD_BUS_NO_ARGS, SD_BUS_RESULT("as", names),
                            method_list_names, 0),
    SD_BUS_METHOD_WITH_ARGS("ListActivatableNames", SD_BUS_NO_ARGS,
                            SD_BUS_RESULT("as", activatable_names),
                            method_list_activatable_names, 0),
    SD_BUS_METHOD_WITH_ARGS("GetConnectionUnixUser", SD_BUS_ARGS("s", name),
                            SD_BUS_RESULT("u", uid), method_get_connection_unix_id<true>, 0),
    SD_BUS_METHOD_WITH_ARGS("GetConnectionUnixProcessID", SD_BUS_ARGS("s", name),
                            SD_BUS_RESULT("u", pid), method_get_connection_unix_id<false>, 0),
    SD_BUS_VTABLE_END,
};

// org.freedesktop.DBus.Monitoring: monitor.hpp.
int method_become_monitor(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    Connection& c = connection_of(userdata);
    return c.server->monitors().become(c, m, error);
}

const sd_bus_vtable monitoring_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_ARGS("BecomeMonitor", SD_BUS_ARGS("as", rule, "u", flags), SD_BUS_NO_RESULT,
                            method_become_monitor, 0),
    SD_BUS_VTABLE_END,
};

}  // namespace

int add_bus_driver(sd_bus* bus, Connection* connection) {
    int r = sd_bus_add_object_vtable(bus, nullptr, driver_path, driver_name, driver_vtable, connection);
    if (r >= 0)
        r = sd_bus_add_object_vtable(bus, nullptr, driver_path, "org.freedesktop.DBus.Monitoring",
                                     monitoring_vtable, connection);
    return r;
}

}  // namespace offshoot::worker

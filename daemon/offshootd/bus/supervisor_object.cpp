// supervisor_object.cpp — org.offshoot1.Supervisor at /org/offshoot1.
//
// Each handler: read → validate → authorize → act → reply (hostnamed's shape). Spawn's reply
// is deferred until the worker reports ready.
#include "bus/boundary.hpp"
#include "daemon.hpp"
#include "policy/resolve.hpp"

#include <offshoot/wire/readiness.hpp>

#include <unistd.h>

namespace offshoot {
namespace {

Daemon& self(void* userdata) { return *static_cast<Daemon*>(userdata); }

// Spawn and SpawnWithOptions once the request is read: who asks → which class → within their
// quota → resolved into a spec (policy/resolve.cpp) → a handle → launched from the queue.
// Answered later, when the worker is ready or has failed (Instance::ready, launch_failed).
void spawn(Daemon& d, sd_bus_message* m, SpawnRequest req);

int method_spawn(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(&self(userdata).callers(), m, error, [&] {
        const char* cls = nullptr;
        uint32_t uid = 0;
        check_read(sd_bus_message_read(m, "su", &cls, &uid), "arguments");
        SpawnRequest req;
        req.class_name = cls;
        req.uid = uid;
        spawn(self(userdata), m, std::move(req));
        return 1;
    });
}

int method_spawn_with_options(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(&self(userdata).callers(), m, error, [&] {
        const char* cls = nullptr;
        check_read(sd_bus_message_read(m, "s", &cls), "class");
        SpawnRequest req;
        req.class_name = cls;
        decode_spawn_options(m, req);
        spawn(self(userdata), m, std::move(req));
        return 1;
    });
}

int method_list_classes(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(error, [&] {
        sd_bus_message* reply = nullptr;
        int r = sd_bus_message_new_method_return(m, &reply);
        MessagePtr owned{reply};
        if (r >= 0) r = sd_bus_message_open_container(reply, 'a', "(ss)");
        for (auto& [name, c] : self(userdata).classes())
            if (r >= 0) r = sd_bus_message_append(reply, "(ss)", name.c_str(), c.interface.c_str());
        if (r >= 0) r = sd_bus_message_close_container(reply);
        if (r >= 0) r = sd_bus_send(nullptr, reply, nullptr);
        return r;
    });
}

int method_list_broken_classes(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(error, [&] {
        sd_bus_message* reply = nullptr;
        int r = sd_bus_message_new_method_return(m, &reply);
        MessagePtr owned{reply};
        if (r >= 0) r = sd_bus_message_open_container(reply, 'a', "(sss)");
        for (const BrokenClass& b : self(userdata).broken_classes())
            if (r >= 0) r = sd_bus_message_append(reply, "(sss)", b.name.c_str(), b.source.c_str(), b.problem.c_str());
        if (r >= 0) r = sd_bus_message_close_container(reply);
        if (r >= 0) r = sd_bus_send(nullptr, reply, nullptr);
        return r;
    });
}

int append_strings(sd_bus_message* m, const char* key, const std::vector<std::string>& v) {
    int r = sd_bus_message_open_container(m, 'e', "sv");
    if (r >= 0) r = sd_bus_message_append(m, "s", key);
    if (r >= 0) r = sd_bus_message_open_container(m, 'v', "as");
    if (r >= 0) r = sd_bus_message_open_container(m, 'a', "s");
    for (auto& s : v)
        if (r >= 0) r = sd_bus_message_append(m, "s", s.c_str());
    if (r >= 0) r = sd_bus_message_close_container(m);
    if (r >= 0) r = sd_bus_message_close_container(m);
    if (r >= 0) r = sd_bus_message_close_container(m);
    return r;
}

// A class's containment, where it sets any, under the SpawnWithOptions key names.
int append_containment(sd_bus_message* m, const Containment& c) {
    int r = 0;
    for (const auto& k : resource_keys)
        if (r >= 0 && c.resources.set(k.id)) r = sd_bus_message_append(m, "{sv}", k.option, "t", c.resources[k.id]);
    const Sandbox& s = c.sandbox;
    for (auto [key, on] : {std::pair{"private-tmp", s.private_tmp}, {"private-network", s.private_network},
                           {"private-devices", s.private_devices}})
        if (r >= 0 && on) r = sd_bus_message_append(m, "{sv}", key, "b", 1);
    if (r >= 0 && s.protect_system != ProtectSystem::no)
        r = sd_bus_message_append(m, "{sv}", "protect-system", "s", to_string(s.protect_system));
    if (r >= 0 && s.protect_home != ProtectHome::no)
        r = sd_bus_message_append(m, "{sv}", "protect-home", "s", to_string(s.protect_home));
    for (auto [key, list] : {std::pair{"read-write-paths", &s.read_write_paths}, {"read-only-paths", &s.read_only_paths},
                             {"inaccessible-paths", &s.inaccessible_paths}})
        if (r >= 0 && !list->empty()) r = append_strings(m, key, *list);
    return r;
}

int method_describe_classes(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(error, [&] {
        sd_bus_message* reply = nullptr;
        int r = sd_bus_message_new_method_return(m, &reply);
        MessagePtr owned{reply};
        if (r >= 0) r = sd_bus_message_open_container(reply, 'a', "(ssa{sv})");
        for (auto& [name, c] : self(userdata).classes()) {
            if (r >= 0) r = sd_bus_message_open_container(reply, 'r', "ssa{sv}");
            if (r >= 0) r = sd_bus_message_append(reply, "ss", name.c_str(), c.interface.c_str());
            if (r >= 0) r = sd_bus_message_open_container(reply, 'a', "{sv}");
            if (r >= 0) r = append_strings(reply, "allowed-users", c.allowed_users);
            if (r >= 0) r = append_strings(reply, "allowed-callers", c.allowed_callers);
            if (r >= 0) r = sd_bus_message_append(reply, "{sv}", "allow-any-group", "b", static_cast<int>(c.allow_any_group));
            if (r >= 0) r = sd_bus_message_append(reply, "{sv}", "working-directory", "s", c.working_directory.c_str());
            if (r >= 0 && c.umask) r = sd_bus_message_append(reply, "{sv}", "umask", "u", static_cast<uint32_t>(*c.umask));
            if (r >= 0) r = sd_bus_message_append(reply, "{sv}", "source", "s", c.source.c_str());
            if (r >= 0) r = append_containment(reply, c.containment);
            if (r >= 0 && c.restart.policy != RestartPolicy::no)
                r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}", "restart", "s", to_string(c.restart.policy),
                                          "restart-usec", "t", c.restart.restart_usec, "start-limit-interval-usec",
                                          "t", c.restart.start_limit_interval_usec, "start-limit-burst", "u",
                                          c.restart.start_limit_burst);
            if (r >= 0) r = sd_bus_message_close_container(reply);
            if (r >= 0) r = sd_bus_message_close_container(reply);
        }
        if (r >= 0) r = sd_bus_message_close_container(reply);
        if (r >= 0) r = sd_bus_send(nullptr, reply, nullptr);
        return r;
    });
}

int method_list_instances(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(error, [&] {
        sd_bus_message* reply = nullptr;
        int r = sd_bus_message_new_method_return(m, &reply);
        MessagePtr owned{reply};
        if (r >= 0) r = sd_bus_message_open_container(reply, 'a', "(ossuus)");
        for (auto& [id, i] : self(userdata).instances()) {
            if (!i->exported() || r < 0) continue;
            r = sd_bus_message_append(reply, "(ossuus)", i->path().c_str(), i->spec().cls.name.c_str(),
                                      to_string(i->state()), i->spec().uid,
                                      static_cast<uint32_t>(i->main_pid()),
                                      i->spec().owner.unique_name.c_str());
        }
        if (r >= 0) r = sd_bus_message_close_container(reply);
        if (r >= 0) r = sd_bus_send(nullptr, reply, nullptr);
        return r;
    });
}

int property_version(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void*,
                     sd_bus_error*) {
    return sd_bus_message_append(reply, "s", OFFSHOOT_VERSION);
}

int property_instance_count(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply,
                            void* userdata, sd_bus_error*) {
    return sd_bus_message_append(reply, "u", self(userdata).exported_count());
}

// Every method is callable by anyone on the bus: offshootd authorizes each request itself
// from the caller's bus credentials.
constexpr sd_bus_vtable vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_NAMES("Spawn", "su", SD_BUS_PARAM(class) SD_BUS_PARAM(uid), "os",
                             SD_BUS_PARAM(instance) SD_BUS_PARAM(address), method_spawn,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("SpawnWithOptions", "sa{sv}", SD_BUS_PARAM(class) SD_BUS_PARAM(options),
                             "os", SD_BUS_PARAM(instance) SD_BUS_PARAM(address),
                             method_spawn_with_options, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("ListClasses", "", , "a(ss)", SD_BUS_PARAM(classes), method_list_classes,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("DescribeClasses", "", , "a(ssa{sv})", SD_BUS_PARAM(classes),
                             method_describe_classes, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("ListInstances", "", , "a(ossuus)", SD_BUS_PARAM(instances),
                             method_list_instances, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("ListBrokenClasses", "", , "a(sss)", SD_BUS_PARAM(classes),
                             method_list_broken_classes, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("InstanceCount", "u", property_instance_count, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_VTABLE_END};

void spawn(Daemon& d, sd_bus_message* m, SpawnRequest req) {
    if (d.shutting_down()) fail(errors::shutting_down, "offshootd is shutting down");
    validate_request(req);
    // A caller offshootd did not know yet was held by the bus filter until the bus said who it
    // is (Callers), so this does not wait for the bus.
    const Caller caller = d.callers().caller_of(m);
    const auto cls = d.classes().find(req.class_name);
    if (cls == d.classes().end()) {
        // A class whose file is broken is named with its file and what is wrong with it: the
        // caller (often the class's author) learns it here, not from offshootd's log alone.
        for (const BrokenClass& b : d.broken_classes())
            if (b.name == req.class_name)
                fail(errors::unknown_class,
                     "class '{}' is not usable: {}: {} (fix the file and restart offshootd; ListBrokenClasses "
                     "lists every unusable class configuration)",
                     b.name, b.source, b.problem);
        fail(errors::unknown_class, "no class named '{:.128}' is configured (ListClasses shows those that are)",
             req.class_name);
    }
    d.admit(caller);
    const bool start = req.start;
    Instance& i = d.add_instance(resolve(std::move(req), caller, cls->second, geteuid()));
    if (!start) {
        // A handle without a process, for whoever starts it (`offshootctl spawn --no-start`).
        i.publish();
        int r = sd_bus_reply_method_return(m, "os", i.path().c_str(), "");
        if (r < 0) log::debug("cannot reply to Spawn: {}", errno_text(r));
        return;
    }
    d.queue_launch(i, m);
}

}  // namespace

const sd_bus_vtable* Daemon::supervisor_vtable() { return vtable; }

}  // namespace offshoot

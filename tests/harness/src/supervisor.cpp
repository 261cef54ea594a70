// supervisor.cpp — typed Supervisor/Instance calls.
#include "offshoot/test/supervisor.hpp"

#include <system_error>

namespace offshoot::test {

namespace {

int append_value(sd_bus_message* m, const OptionValue& value) {
    return std::visit(
        [m](const auto& v) -> int {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, uint32_t>) {
                return sd_bus_message_append(m, "v", "u", v);
            } else if constexpr (std::is_same_v<T, int32_t>) {
                return sd_bus_message_append(m, "v", "i", v);
            } else if constexpr (std::is_same_v<T, uint64_t>) {
                return sd_bus_message_append(m, "v", "t", v);
            } else if constexpr (std::is_same_v<T, bool>) {
                return sd_bus_message_append(m, "v", "b", static_cast<int>(v));
            } else if constexpr (std::is_same_v<T, std::string>) {
                return sd_bus_message_append(m, "v", "s", v.c_str());
            } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
                int r = sd_bus_message_open_container(m, 'v', "as");
                if (r < 0) return r;
                r = sd_bus_message_open_container(m, 'a', "s");
                if (r < 0) return r;
                for (const auto& s : v)
                    if ((r = sd_bus_message_append(m, "s", s.c_str())) < 0) return r;
                if ((r = sd_bus_message_close_container(m)) < 0) return r;
                return sd_bus_message_close_container(m);
            } else {
                static_assert(std::is_same_v<T, std::vector<uint32_t>>);
                int r = sd_bus_message_open_container(m, 'v', "au");
                if (r < 0) return r;
                r = sd_bus_message_append_array(m, 'u', v.data(), v.size() * sizeof(uint32_t));
                if (r < 0) return r;
                return sd_bus_message_close_container(m);
            }
        },
        value);
}

SpawnReply read_spawn_reply(Reply reply) {
    SpawnReply out;
    if (!reply.ok()) {
        out.error_name = reply.error_name;
        out.error_message = reply.error_message;
        return out;
    }
    const char* path = nullptr;
    const char* address = nullptr;
    int r = sd_bus_message_read(reply.get(), "os", &path, &address);
    if (r < 0) {
        out.error_name = "(bad reply signature)";
        out.error_message = "Spawn reply is not (os)";
        return out;
    }
    out.path = path;
    out.address = address;
    return out;
}

[[noreturn]] void throw_read(int r, const char* what) {
    throw std::system_error(-r, std::generic_category(), what);
}

}  // namespace

std::string SpawnReply::describe() const {
    if (ok()) return "instance " + path + " at " + address;
    return "error " + error_name + ": " + error_message;
}

SpawnReply spawn(BusClient& bus, const std::string& class_name, uint32_t uid) {
    return read_spawn_reply(bus.call(kBusName, kSupervisorPath, kSupervisorInterface, "Spawn",
                                     [&](sd_bus_message* m) {
                                         return sd_bus_message_append(m, "su", class_name.c_str(), uid);
                                     }));
}

SpawnReply spawn_with_options(BusClient& bus, const std::string& class_name,
                              const SpawnOptions& options) {
    return read_spawn_reply(bus.call(
        kBusName, kSupervisorPath, kSupervisorInterface, "SpawnWithOptions", [&](sd_bus_message* m) {
            int r = sd_bus_message_append(m, "s", class_name.c_str());
            if (r < 0) return r;
            if ((r = sd_bus_message_open_container(m, 'a', "{sv}")) < 0) return r;
            for (const auto& [key, value] : options) {
                if ((r = sd_bus_message_open_container(m, 'e', "sv")) < 0) return r;
                if ((r = sd_bus_message_append(m, "s", key.c_str())) < 0) return r;
                if ((r = append_value(m, value)) < 0) return r;
                if ((r = sd_bus_message_close_container(m)) < 0) return r;
            }
            return sd_bus_message_close_container(m);
        }));
}

std::vector<ClassEntry> list_classes(BusClient& bus) {
    auto m = bus.call_checked(kBusName, kSupervisorPath, kSupervisorInterface, "ListClasses");
    std::vector<ClassEntry> out;
    int r = sd_bus_message_enter_container(m.get(), 'a', "(ss)");
    if (r < 0) throw_read(r, "ListClasses reply");
    const char *name, *iface;
    while ((r = sd_bus_message_read(m.get(), "(ss)", &name, &iface)) > 0) out.push_back({name, iface});
    if (r < 0) throw_read(r, "ListClasses entry");
    return out;
}

std::vector<InstanceEntry> list_instances(BusClient& bus) {
    auto m = bus.call_checked(kBusName, kSupervisorPath, kSupervisorInterface, "ListInstances");
    std::vector<InstanceEntry> out;
    int r = sd_bus_message_enter_container(m.get(), 'a', "(ossuus)");
    if (r < 0) throw_read(r, "ListInstances reply");
    const char *path, *cls, *state, *owner;
    uint32_t uid, pid;
    while ((r = sd_bus_message_read(m.get(), "(ossuus)", &path, &cls, &state, &uid, &pid, &owner)) > 0)
        out.push_back({path, cls, state, uid, pid, owner});
    if (r < 0) throw_read(r, "ListInstances entry");
    return out;
}

uint32_t instance_count(BusClient& bus) {
    return bus.get_u32_property(kBusName, kSupervisorPath, kSupervisorInterface, "InstanceCount");
}

Reply stop_instance(BusClient& bus, const std::string& path) {
    return bus.call(kBusName, path.c_str(), kInstanceInterface, "Stop");
}

WaitResult wait_instance(BusClient& bus, const std::string& path) {
    WaitResult out;
    Reply reply = bus.call(kBusName, path.c_str(), kInstanceInterface, "Wait");
    if (!reply.ok()) {
        out.error = reply.describe();
        return out;
    }
    const char* result = nullptr;
    int r = sd_bus_message_read(reply.get(), "si", &result, &out.code);
    if (r < 0) {
        out.error = "Wait reply is not (si)";
        return out;
    }
    out.result = result;
    return out;
}

std::string instance_state(BusClient& bus, const std::string& path) {
    return bus.get_string_property(kBusName, path.c_str(), kInstanceInterface, "State");
}

uint32_t instance_main_pid(BusClient& bus, const std::string& path) {
    return bus.get_u32_property(kBusName, path.c_str(), kInstanceInterface, "MainPID");
}

}  // namespace offshoot::test

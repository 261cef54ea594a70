// offshoot/test/supervisor.hpp — typed calls to org.offshoot1.Supervisor and
// org.offshoot1.Instance over a raw BusClient, keeping error names exact.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "offshoot/test/bus_client.hpp"

namespace offshoot::test {

struct SpawnReply {
    std::string path;
    std::string address;
    std::string error_name;
    std::string error_message;
    bool ok() const noexcept { return error_name.empty(); }
    std::string describe() const;
};

// One SpawnWithOptions option value; the alternative chosen fixes the D-Bus type sent
// (u, i, t, b, s, as, au) so tests can also send deliberately wrong types.
using OptionValue = std::variant<uint32_t, int32_t, uint64_t, bool, std::string,
                                 std::vector<std::string>, std::vector<uint32_t>>;
using SpawnOptions = std::vector<std::pair<std::string, OptionValue>>;

SpawnReply spawn(BusClient& bus, const std::string& class_name, uint32_t uid);
SpawnReply spawn_with_options(BusClient& bus, const std::string& class_name,
                              const SpawnOptions& options);

struct ClassEntry {
    std::string name;
    std::string interface;
};
struct InstanceEntry {
    std::string path;
    std::string class_name;
    std::string state;
    uint32_t uid = 0;
    uint32_t pid = 0;
    std::string owner;
};
// These throw CallFailure on an error reply.
std::vector<ClassEntry> list_classes(BusClient& bus);
std::vector<InstanceEntry> list_instances(BusClient& bus);
uint32_t instance_count(BusClient& bus);

// org.offshoot1.Instance on the handle at `path`.
Reply stop_instance(BusClient& bus, const std::string& path);
struct WaitResult {
    std::string result;
    int32_t code = -1;
    std::string error;  // non-empty when the call itself failed
};
WaitResult wait_instance(BusClient& bus, const std::string& path);
std::string instance_state(BusClient& bus, const std::string& path);
uint32_t instance_main_pid(BusClient& bus, const std::string& path);

}  // namespace offshoot::test

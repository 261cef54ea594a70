// options.hpp — a spawn request: what a caller asked for, decoded and bounds-checked.
//
// Spawn(su) and SpawnWithOptions(sa{sv}) both end up here. Decoding is strict: unknown keys,
// duplicate keys and wrong types are InvalidArgument, never ignored, and every size a caller
// controls is bounded before anything is allocated for it.
#pragma once

#include "config/containment.hpp"
#include "config/restart.hpp"

#include <offshoot/names.hpp>

#include <systemd/sd-bus.h>
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace offshoot {

// What a caller asks of an instance's containment (SpawnWithOptions): resource values in the
// units of systemd's properties (memory-max t …) and sandbox settings to add to the class's.
// Only ever tightens what the class sets (policy/tighten.hpp).
struct ContainmentRequest {
    std::array<std::optional<uint64_t>, resource_count> resources;
    std::optional<bool> private_tmp, private_network, private_devices;
    std::optional<ProtectSystem> protect_system;
    std::optional<ProtectHome> protect_home;
    std::vector<std::string> read_only_paths, inaccessible_paths;
    std::optional<uint64_t>& operator[](Resource r) { return resources[static_cast<std::size_t>(r)]; }
    const std::optional<uint64_t>& operator[](Resource r) const { return resources[static_cast<std::size_t>(r)]; }
};

struct SpawnRequest {
    std::string class_name;
    std::optional<uint32_t> uid;
    std::optional<uint32_t> gid;
    std::optional<std::vector<uint32_t>> groups;
    std::optional<std::string> cwd;
    std::vector<std::string> environment;  // KEY=VALUE
    std::optional<uint32_t> umask;
    std::vector<std::string> arguments;
    bool start = true;
    StopMode stop_mode = StopMode::terminate;
    uint64_t stop_timeout_usec = 10'000'000;
    bool tie_to_caller = false;
    std::optional<RestartPolicy> restart;  // within the class's Restart=
    ContainmentRequest containment;
};

namespace limits {
inline constexpr size_t class_name = 128;
inline constexpr size_t path = 4095;
inline constexpr size_t groups = 256;
inline constexpr size_t environment_count = 256;
inline constexpr size_t environment_entry = 8192;
inline constexpr size_t argument_count = 1024;
inline constexpr size_t arguments_total = 1 << 20;
inline constexpr size_t sandbox_paths = 64;  // entries of read-only-paths, inaccessible-paths
inline constexpr uint64_t stop_timeout_usec_max = 3600ull * 1'000'000;  // one hour
}  // namespace limits

// Reads the a{sv} at the message's read position into `req`. Throws offshoot::Error
// (InvalidArgument) with a message naming the key and what was expected.
void decode_spawn_options(sd_bus_message* m, SpawnRequest& req);

// Checks an id a caller supplied: (uid_t)-1, (uid_t)-2 and anything above INT_MAX are
// refused — they are "no change" markers or overflow artefacts, never real accounts.
void check_id(const char* what, uint32_t id);
// Validates the parts of a request that do not depend on the class or the user.
void validate_request(const SpawnRequest& req);
// Names of environment variables a caller may never set (dynamic loader and friends).
bool is_forbidden_environment_name(std::string_view name);

}  // namespace offshoot

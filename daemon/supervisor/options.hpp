// options.hpp — a spawn request: what a caller asked for, decoded and bounds-checked.
//
// Spawn(su) and SpawnWithOptions(sa{sv}) both end up here. Decoding is strict: unknown keys,
// duplicate keys and wrong types are InvalidArgument, never ignored, and every size a caller
// controls is bounded before anything is allocated for it.
#pragma once

#include <systemd/sd-bus.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace offshoot {

enum class StopMode { terminate, wait };

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
};

namespace limits {
inline constexpr size_t class_name = 128;
inline constexpr size_t path = 4095;
inline constexpr size_t groups = 256;
inline constexpr size_t environment_count = 256;
inline constexpr size_t environment_entry = 8192;
inline constexpr size_t argument_count = 1024;
inline constexpr size_t arguments_total = 1 << 20;
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

const char* to_string(StopMode m);

}  // namespace offshoot

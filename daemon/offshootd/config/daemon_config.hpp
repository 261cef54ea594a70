// daemon_config.hpp — offshootd's own settings (offshootd.conf, INI):
//
//   [Daemon]
//   MaxInstances=4096          handles at once, all callers together
//   MaxInstancesPerUser=64     handles one non-root caller uid may hold
//   SpawnRatePerSecond=10      sustained spawns per second per non-root caller uid …
//   SpawnRateBurst=20          … after a burst of this many
//
// Root is exempt from the per-user quota and the rate limit (it is trusted with the daemon
// itself); the global MaxInstances applies to everyone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace offshoot {

struct DaemonConfig {
    uint32_t max_instances = 4096;
    uint32_t max_instances_per_user = 64;
    double spawn_rate_per_second = 10;
    uint32_t spawn_rate_burst = 20;
};

// How offshootd was started: its command line (main.cpp) and offshootd.conf.
struct DaemonOptions {
    enum class Bus { system, session, address } bus = Bus::system;
    std::string address;
    std::string runtime_dir;
    std::vector<std::string> config_dirs;  // in override order (later wins)
    std::string plugin_dir;
    std::string worker_path;
    DaemonConfig limits;  // offshootd.conf
    uint64_t start_timeout_usec = 30'000'000;
};

// Parses the text of offshootd.conf over the defaults. nullopt + `error` when invalid.
std::optional<DaemonConfig> parse_daemon_config(std::string_view text, std::string& error);
// Reads a file; a missing file gives the defaults.
std::optional<DaemonConfig> load_daemon_config(const std::string& path, std::string& error);

// A token bucket: at most `burst` at once, refilled at `rate` per second.
class RateLimiter {
public:
    RateLimiter(double rate, uint32_t burst) : rate_(rate), burst_(burst), tokens_(burst) {}
    // Takes a token at `now_usec` (CLOCK_MONOTONIC); false, with the wait in `retry_usec`, if
    // none is left.
    bool take(uint64_t now_usec, uint64_t& retry_usec);
    bool full(uint64_t now_usec);

private:
    void refill(uint64_t now_usec);
    double rate_;
    uint32_t burst_;
    double tokens_;
    uint64_t last_usec_ = 0;
};

}  // namespace offshoot

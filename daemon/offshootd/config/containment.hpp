// containment.hpp — what contains an instance beyond its identity: its resources (cgroup
// limits, systemd.resource-control(5)) and its view of the system (namespaces, systemd.exec(5)).
//
// Class configs set these in [Exec] with systemd's names and syntax; callers may tighten them
// per instance through SpawnWithOptions (policy/tighten.hpp). Values are kept in the units of
// systemd's own D-Bus properties, so a scope gets them as they are (cgroup/scope.cpp):
//
//   MemoryMax= MemoryHigh= MemorySwapMax=   bytes: 64M, 1.5G, 1G512M, 25% (of RAM), infinity
//   TasksMax=                               N, N% (of the system's task limit), infinity
//   CPUQuota=                               20%, 150% → CPUQuotaPerSecUSec (µs of CPU per second)
//   CPUWeight= IOWeight=                    1..10000 (CPUWeight= also idle)
//   PrivateTmp= PrivateDevices= PrivateNetwork=            yes | no
//   ProtectSystem=  yes | full | strict | no        ProtectHome=  yes | read-only | tmpfs | no
//   ReadWritePaths= ReadOnlyPaths= InaccessiblePaths=      absolute paths, "-" = may be missing
//
// An empty assignment resets the setting (a list to empty), as in systemd.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace offshoot {

// "infinity" for a limit, "unset" for a weight: systemd's own D-Bus value for both.
inline constexpr uint64_t no_limit = UINT64_MAX;
// What the kernel and systemd use for a weight nobody set.
inline constexpr uint64_t default_weight = 100;

enum class Resource { memory_max, memory_high, memory_swap_max, tasks_max, cpu_quota, cpu_weight, io_weight };
inline constexpr std::size_t resource_count = 7;

// One resource key under each of its names.
struct ResourceKey {
    Resource id;
    const char* config;    // [Exec] key
    const char* option;    // SpawnWithOptions key (type t)
    const char* property;  // systemd's property (StartTransientUnit, Instance properties)
    bool weight;           // a share (lower = less), not a limit
};
inline constexpr ResourceKey resource_keys[resource_count] = {
    {Resource::memory_max, "MemoryMax", "memory-max", "MemoryMax", false},
    {Resource::memory_high, "MemoryHigh", "memory-high", "MemoryHigh", false},
    {Resource::memory_swap_max, "MemorySwapMax", "memory-swap-max", "MemorySwapMax", false},
    {Resource::tasks_max, "TasksMax", "tasks-max", "TasksMax", false},
    {Resource::cpu_quota, "CPUQuota", "cpu-quota-per-sec-usec", "CPUQuotaPerSecUSec", false},
    {Resource::cpu_weight, "CPUWeight", "cpu-weight", "CPUWeight", true},
    {Resource::io_weight, "IOWeight", "io-weight", "IOWeight", true},
};
const ResourceKey& key_of(Resource r);

struct ResourceControl {
    std::array<uint64_t, resource_count> value = filled();
    uint64_t& operator[](Resource r) { return value[static_cast<std::size_t>(r)]; }
    uint64_t operator[](Resource r) const { return value[static_cast<std::size_t>(r)]; }
    bool set(Resource r) const { return (*this)[r] != no_limit; }
    bool any() const;

private:
    static std::array<uint64_t, resource_count> filled() {
        std::array<uint64_t, resource_count> a{};
        a.fill(no_limit);
        return a;
    }
};

enum class ProtectSystem { no, yes, full, strict };
enum class ProtectHome { no, yes, read_only, tmpfs };
const char* to_string(ProtectSystem p);
const char* to_string(ProtectHome p);
std::optional<ProtectSystem> parse_protect_system(std::string_view v);
std::optional<ProtectHome> parse_protect_home(std::string_view v);

struct Sandbox {
    bool private_tmp = false;
    bool private_devices = false;
    bool private_network = false;
    ProtectSystem protect_system = ProtectSystem::no;
    ProtectHome protect_home = ProtectHome::no;
    // As written: absolute, a leading "-" means the path may be missing.
    std::vector<std::string> read_write_paths;
    std::vector<std::string> read_only_paths;
    std::vector<std::string> inaccessible_paths;
    // Whether the instance needs a mount namespace (anything but PrivateNetwork= alone).
    bool needs_mount_namespace() const;
    bool any() const { return needs_mount_namespace() || private_network; }
};

struct Containment {
    ResourceControl resources;
    Sandbox sandbox;
};

// The host's totals that percentages refer to, as systemd computes them: physical memory
// (capped by the root cgroup's limit) and the most tasks the system allows.
uint64_t physical_memory();
uint64_t system_tasks_max();

// systemd's parsers (parse_size base 1024, parse_permyriad), for the values of the keys above.
std::optional<uint64_t> parse_size(std::string_view text);
std::optional<uint32_t> parse_permyriad(std::string_view text, bool unbounded);

// Parses one [Exec] key if it is one of the keys above: false if it is not; true otherwise,
// with `error` set when the value is invalid.
bool parse_containment_key(std::string_view key, std::string_view value, Containment& c, std::string& error);

// Checks a path list entry ("-" prefix allowed): absolute, normalized enough to compare
// (no "..", no control characters, not longer than PATH_MAX). Empty string when fine.
std::string check_sandbox_path(std::string_view entry);
// The path without its "-" prefix, and whether it had one.
std::string_view sandbox_path(std::string_view entry, bool* optional = nullptr);

}  // namespace offshoot

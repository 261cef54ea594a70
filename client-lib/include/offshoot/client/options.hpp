// offshoot/client/options.hpp — what a caller may ask of Spawn, and what an instance ended with.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <offshoot/names.hpp>  // StopMode

#include <sdbus-c++/Types.h>

namespace offshoot {


// SpawnWithOptions' a{sv}. Only the fields that are set are sent, except tie_to_caller, which is
// always sent: the client library's default (true) differs from the bus default (false).
// An aggregate, so designated initializers read well:
//     sup.spawn("Identity", {.uid = 65534, .cwd = "/srv/a"});
struct SpawnOptions {
    std::optional<uint32_t> uid;
    std::optional<uint32_t> gid;                     // required for a uid without a passwd entry
    std::optional<std::vector<uint32_t>> groups;     // supplementary groups
    std::optional<std::string> cwd;                  // absolute; entered as the target user
    std::optional<std::vector<std::string>> environment;  // KEY=VALUE
    std::optional<uint32_t> umask;
    std::optional<std::vector<std::string>> arguments;    // handed to the class's constructor
    std::optional<bool> start;                       // false: create the handle, start() later
    std::optional<StopMode> stop_mode;
    std::optional<uint64_t> stop_timeout_usec;       // then SIGKILL
    // The restart policy for this instance, within the class's Restart= (docs/lifecycle.md,
    // "Restart"): "no", "on-success", "on-failure", "on-abnormal", "on-abort" or "always".
    std::optional<std::string> restart;
    // Stop the instance when this client's bus connection goes away, however it goes away.
    bool tie_to_caller = true;
};

// The a{sv} sent to SpawnWithOptions: keys and D-Bus types exactly as org.offshoot1.Supervisor.xml documents them
// (uid u, gid u, groups au, cwd s, environment as, umask u, arguments as, start b,
// stop-mode s, stop-timeout-usec t, tie-to-caller b).
std::map<std::string, sdbus::Variant> to_dbus(const SpawnOptions& options);

// "terminate" / "wait".
const char* to_string(StopMode mode) noexcept;

// How an instance's process ended: Wait's (result, code) and the Exited signal's arguments.
// result: success, exit-code, signal, core-dump, timeout, spawn-failed; code: the exit code,
// or the signal number for signal/core-dump.
struct ExitStatus {
    std::string result;
    int code = 0;

    [[nodiscard]] bool success() const noexcept { return result == "success"; }
    friend bool operator==(const ExitStatus&, const ExitStatus&) = default;
};

// An automatic restart (the Restarted signal): what ended the last worker, and the count of
// restarts now. The restarted worker is ready at the same address.
struct RestartInfo {
    ExitStatus cause;
    uint32_t n_restarts = 0;
};

// Rows of ListClasses and ListInstances.
struct ClassInfo {
    std::string name;
    std::string interface;
};

struct InstanceInfo {
    std::string path;
    std::string class_name;
    std::string state;
    uint32_t uid = 0;
    uint32_t pid = 0;
    std::string owner;  // the spawning client's unique bus name
};

}  // namespace offshoot

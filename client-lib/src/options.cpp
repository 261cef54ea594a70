// options.cpp — SpawnOptions → SpawnWithOptions' a{sv} (keys and types of org.offshoot1.Supervisor.xml).
#include "offshoot/client/options.hpp"

namespace offshoot {

const char* to_string(StopMode mode) noexcept { return stop_mode_name(mode); }

std::map<std::string, sdbus::Variant> to_dbus(const SpawnOptions& options) {
    std::map<std::string, sdbus::Variant> out;
    // Only what the caller set: the daemon applies its own defaults (and the class's) to the rest.
    auto put = [&out](const char* key, const auto& value) {
        if (value)
            out.emplace(key, sdbus::Variant(*value));
    };
    put("uid", options.uid);
    put("gid", options.gid);
    put("groups", options.groups);
    put("cwd", options.cwd);
    put("environment", options.environment);
    put("umask", options.umask);
    put("arguments", options.arguments);
    put("start", options.start);
    if (options.stop_mode)
        out.emplace("stop-mode", sdbus::Variant(std::string(to_string(*options.stop_mode))));
    put("stop-timeout-usec", options.stop_timeout_usec);
    put("restart", options.restart);
    out.emplace("tie-to-caller", sdbus::Variant(options.tie_to_caller));
    return out;
}

}  // namespace offshoot

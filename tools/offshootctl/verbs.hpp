// verbs.hpp — offshootctl's verbs. Each returns the process's exit code; failures are thrown
// (sdbus::Error → 1, UsageError → 2) and turned into exit codes by main().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "context.hpp"

namespace offshootctl {

// supervisor_verbs.cpp — through offshootd.
int verb_classes(Context& ctx);
int verb_list(Context& ctx);
int verb_status(Context& ctx, const std::string& id);

struct SpawnArgs {
    std::string class_name;
    std::optional<uint32_t> uid;
    std::optional<uint32_t> gid;
    std::optional<std::string> cwd;
    std::vector<std::string> environment;
    std::vector<std::string> arguments;
    bool no_start = false;
    bool wait = false;
};
int verb_spawn(Context& ctx, const SpawnArgs& args);

int verb_start(Context& ctx, const std::string& id);
int verb_stop(Context& ctx, const std::string& id);
int verb_kill(Context& ctx, const std::string& id, const std::string& signal);
int verb_wait(Context& ctx, const std::string& id);
int verb_release(Context& ctx, const std::string& id);

// object_verbs.cpp — over the instance's private connection.
int verb_call(Context& ctx, const std::string& id, const std::string& method, const std::vector<std::string>& args);
int verb_introspect(Context& ctx, const std::string& id);

// "TERM", "SIGTERM", "term" or "15" → 15; a UsageError otherwise.
int parse_signal(const std::string& text);

}  // namespace offshootctl

// verbs.hpp — offshootctl's verbs. Each returns the process's exit code; failures are thrown
// (sdbus::Error → 1, UsageError → 2) and turned into exit codes by main().
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "context.hpp"

namespace offshootctl {

// supervisor_verbs.cpp — through offshootd.
int verb_classes(Context& ctx);
// broken_classes.cpp — the class configurations offshootd could not use, for `classes`: as
// JSON objects {name, broken: true, source, problem} appended to `out`, or as text.
void append_broken_classes(Context& ctx, json& out);
void print_broken_classes(Context& ctx, std::ostream& out);
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
    std::optional<std::string> restart;  // a restart policy within the class's Restart=
};
int verb_spawn(Context& ctx, const SpawnArgs& args);

int verb_start(Context& ctx, const std::string& id);
int verb_stop(Context& ctx, const std::string& id);
int verb_kill(Context& ctx, const std::string& id, const std::string& signal);
int verb_wait(Context& ctx, const std::string& id);
int verb_release(Context& ctx, const std::string& id);
// Every finished handle (exited, failed) this caller may release: its own, or all for root.
int verb_release_finished(Context& ctx);

// object_verbs.cpp — over the instance's private connection.
int verb_call(Context& ctx, const std::string& id, const std::string& method, const std::vector<std::string>& args);
int verb_introspect(Context& ctx, const std::string& id);
int verb_get_property(Context& ctx, const std::string& id, const std::vector<std::string>& properties);
int verb_set_property(Context& ctx, const std::string& id, const std::string& property,
                      const std::vector<std::string>& args);
// monitor_verb.cpp — the instance's traffic as it happens (BecomeMonitor).
int verb_monitor(Context& ctx, const std::string& id, const std::vector<std::string>& rules);

// return_value.cpp — what a task handed back (WaitReturnValue), for `wait` and `spawn --wait`:
// printed as "Value: <busctl notation>" when there is one; as JSON (null when none).
void print_return_value(Context& ctx, const std::string& path);
json return_value_json(Context& ctx, const std::string& path);

// "TERM", "SIGTERM", "term" or "15" → 15; a UsageError otherwise.
int parse_signal(const std::string& text);

}  // namespace offshootctl

// restart.hpp — a class's restart policy, as systemd.service(5) and systemd.unit(5) name it:
// Restart=, RestartSec=, StartLimitIntervalSec=, StartLimitBurst= in the class config's [Exec],
// and the per-instance `restart` option of SpawnWithOptions (within what the class allows).
//
// Which ends restart an instance (systemd's table, with offshoot's Results):
//
//   Result            no  always  on-success  on-failure  on-abnormal  on-abort
//   success               X       X
//   exit-code             X                   X
//   signal, core-dump     X                   X           X            X
//   timeout, oom-kill     X                   X           X
//   spawn-failed          X                   X
//
// Never after Stop(), Release(), the owner's going away (tie-to-caller) or offshootd's shutdown.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace offshoot {

enum class RestartPolicy { no, always, on_success, on_failure, on_abnormal, on_abort };

std::optional<RestartPolicy> parse_restart_policy(std::string_view text);
const char* to_string(RestartPolicy p);

// Whether an instance that ended with `result` restarts under `p`.
bool restarts_after(RestartPolicy p, std::string_view result);

// Whether `requested` restarts after nothing that `allowed` does not: a caller may choose a
// policy for an instance only within what its class allows.
bool restart_within(RestartPolicy requested, RestartPolicy allowed);

struct RestartSettings {
    RestartPolicy policy = RestartPolicy::no;
    uint64_t restart_usec = 100'000;                 // RestartSec= (systemd's default, 100 ms)
    uint64_t start_limit_interval_usec = 10'000'000;  // StartLimitIntervalSec= (10 s); 0: no limit
    uint32_t start_limit_burst = 5;                   // StartLimitBurst=
};

// A time span as systemd writes one: "100ms", "5s", "1min 30s", a bare number of seconds;
// "infinity" is refused (a restart that never comes is Restart=no). Nullopt when invalid.
std::optional<uint64_t> parse_timespan_usec(std::string_view text);

// Takes one [Exec] key if it is a restart key: true then, with `error` set when its value is
// wrong; false for any other key.
bool parse_restart_key(std::string_view key, std::string_view value, RestartSettings& s, std::string& error);

}  // namespace offshoot

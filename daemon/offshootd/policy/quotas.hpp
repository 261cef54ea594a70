// quotas.hpp — how much one caller may ask of offshootd (offshootd.conf, [Daemon]): handles at
// once for everyone (MaxInstances=), and for each non-root caller uid its handles at once
// (MaxInstancesPerUser=) and its spawn rate (SpawnRatePerSecond= after SpawnRateBurst=). Root
// is exempt from the per-user ones: it is trusted with the daemon itself.
#pragma once

#include "config/daemon_config.hpp"
#include "policy/users.hpp"

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>

namespace offshoot {

class Quotas {
public:
    explicit Quotas(const DaemonConfig& limits) : limits_(limits) {}

    // Whether `caller` may create one more handle now (`handles`: all there are), at
    // CLOCK_MONOTONIC `now_usec`; throws LimitExceeded naming the limit. Takes a token of the
    // caller's spawn rate when it may.
    void admit(const Caller& caller, std::size_t handles, uint64_t now_usec);
    // A restart of an instance `owner` owns takes a token of their spawn rate as a Spawn does:
    // 0 when it took one (or `owner` is root), else the µs until one is there.
    uint64_t admit_restart(uid_t owner, uint64_t now_usec);
    // A handle owned by `owner` was created / forgotten.
    void handle_added(uid_t owner) { ++handles_by_owner_[owner]; }
    void handle_removed(uid_t owner);

private:
    const DaemonConfig& limits_;
    std::map<uid_t, uint32_t> handles_by_owner_;
    std::map<uid_t, RateLimiter> rate_limiters_;
};

}  // namespace offshoot

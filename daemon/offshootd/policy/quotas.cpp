// quotas.cpp — see quotas.hpp.
#include "policy/quotas.hpp"

#include "offshoot/common/errors.hpp"

#include <algorithm>
#include <iterator>

namespace offshoot {

void Quotas::admit(const Caller& caller, std::size_t handles, uint64_t now) {
    if (handles >= limits_.max_instances)
        fail(errors::limit_exceeded, "offshootd holds {} instance handles, its limit (MaxInstances=)", handles);
    if (caller.uid == 0) return;  // root is trusted with the daemon itself
    const auto owned = handles_by_owner_.find(caller.uid);
    if (owned != handles_by_owner_.end() && owned->second >= limits_.max_instances_per_user)
        fail(errors::limit_exceeded,
             "uid {} holds {} instance handles, its limit (MaxInstancesPerUser=); release finished ones", caller.uid,
             owned->second);
    if (rate_limiters_.size() > 4096)  // forget callers whose bucket has refilled
        for (auto it = rate_limiters_.begin(); it != rate_limiters_.end();)
            it = it->second.full(now) ? rate_limiters_.erase(it) : std::next(it);
    auto it = rate_limiters_.try_emplace(caller.uid, limits_.spawn_rate_per_second, limits_.spawn_rate_burst).first;
    uint64_t retry = 0;
    if (!it->second.take(now, retry))
        fail(errors::limit_exceeded, "uid {} is spawning faster than {} per second (SpawnRatePerSecond=); try again in {} ms",
             caller.uid, limits_.spawn_rate_per_second, (retry + 999) / 1000);
}

uint64_t Quotas::admit_restart(uid_t owner, uint64_t now) {
    if (owner == 0) return 0;
    auto it = rate_limiters_.try_emplace(owner, limits_.spawn_rate_per_second, limits_.spawn_rate_burst).first;
    uint64_t retry = 0;
    return it->second.take(now, retry) ? 0 : std::max<uint64_t>(retry, 1);
}

void Quotas::handle_removed(uid_t owner) {
    if (auto it = handles_by_owner_.find(owner); it != handles_by_owner_.end() && --it->second == 0)
        handles_by_owner_.erase(it);
}

}  // namespace offshoot

// offshoot/test/deadline.hpp — a point in time that waits in the tests must not pass, and
// wait_until(), the one place where a test polls (only for conditions that raise no event).
#pragma once

#include <chrono>
#include <functional>

namespace offshoot::test {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class Deadline {
public:
    explicit Deadline(Clock::duration from_now) : at_(Clock::now() + from_now) {}

    bool expired() const { return Clock::now() >= at_; }
    Clock::duration remaining() const {
        auto left = at_ - Clock::now();
        return left > Clock::duration::zero() ? left : Clock::duration::zero();
    }
    // For poll(): milliseconds left, rounded up so a wait never ends before the deadline.
    int poll_timeout_ms() const;
    // For sd_bus_wait(): microseconds left.
    uint64_t remaining_usec() const;

private:
    Clock::time_point at_;
};

// Polls a cheap predicate every `interval` until it holds or the deadline passes. Use it only
// where no event exists to wait on (a process exiting is an event: use its pidfd instead).
bool wait_until(const std::function<bool()>& predicate, const Deadline& deadline,
                Clock::duration interval = 5ms);

}  // namespace offshoot::test

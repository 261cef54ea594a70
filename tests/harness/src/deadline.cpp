// deadline.cpp — Deadline conversions and wait_until().
#include "offshoot/test/deadline.hpp"

#include <thread>

namespace offshoot::test {

int Deadline::poll_timeout_ms() const {
    auto left = remaining();
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return static_cast<int>(ms);
}

uint64_t Deadline::remaining_usec() const {
    auto us = std::chrono::ceil<std::chrono::microseconds>(remaining()).count();
    return static_cast<uint64_t>(us);
}

bool wait_until(const std::function<bool()>& predicate, const Deadline& deadline,
                Clock::duration interval) {
    for (;;) {
        if (predicate()) return true;
        if (deadline.expired()) return false;
        std::this_thread::sleep_for(std::min(interval, deadline.remaining()));
    }
}

}  // namespace offshoot::test

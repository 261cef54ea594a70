// readiness.hpp — the worker's end of the readiness channel (fd 4, OFFSHOOT_NOTIFY_FD): one
// datagram, "READY=1" or "ERROR=<step>\nERRNO=<n>\nMESSAGE=<text>", then close — except that a
// task's worker keeps it open after READY=1 for the value run() hands back ("VALUE=…"). The
// format is offshoot/wire/readiness.hpp's.
#pragma once

#include "offshoot/common/fd.hpp"

#include <string_view>

namespace offshoot::worker {

class Readiness {
public:
    // Takes the channel named by $OFFSHOOT_NOTIFY_FD (and unsets it, so class code and its
    // children never see it). Without it (the worker run by hand) reports only go to the log.
    static Readiness from_environment();

    Readiness() = default;
    explicit Readiness(Fd fd) noexcept : fd_(std::move(fd)) {}

    // Both send their datagram and close the channel (ready() keeps it open with
    // `keep_open`, for send_value()); later calls do nothing.
    void ready(bool keep_open = false);
    // errno_value 0 means "not a system error" (e.g. an exception from class code).
    void fail(std::string_view step, int errno_value, std::string_view message);
    // A task's return value (offshoot::Task::return_value_datagram()), then close.
    void send_value(std::string_view datagram);

    bool connected() const noexcept { return static_cast<bool>(fd_); }

private:
    void send(std::string_view datagram, bool keep_open = false);
    Fd fd_;
};

}  // namespace offshoot::worker

// readiness.hpp — the worker's end of the readiness channel (fd 4, OFFSHOOT_NOTIFY_FD):
// exactly one datagram, "READY=1" or "ERROR=<step>\nERRNO=<n>\nMESSAGE=<text>", then close.
// See offshoot/common/protocol.hpp.
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

    // Both send the one datagram and close the channel; later calls do nothing.
    void ready();
    // errno_value 0 means "not a system error" (e.g. an exception from class code).
    void fail(std::string_view step, int errno_value, std::string_view message);

    bool connected() const noexcept { return static_cast<bool>(fd_); }

private:
    void send(std::string_view datagram);
    Fd fd_;
};

}  // namespace offshoot::worker

// output_relay.hpp — a worker's stdout and stderr, read by offshootd and logged line by line
// as that instance's, never written to offshootd's own descriptors: a class that shared
// offshootd's log file could write lines that look like offshootd's. Each line is logged with
// the instance's id, class and pid in front and its control characters escaped (log::escape);
// a worker that writes faster than RateLimitBurst-style bounds allow has the excess counted and
// reported instead. Under systemd workers get a journal stream of their own (spawn) and no
// relay is needed.
#pragma once

#include "config/daemon_config.hpp"

#include "offshoot/common/fd.hpp"
#include "offshoot/common/sd_ptr.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace offshoot {

class OutputRelay {
public:
    // `read_end` is the pipe's read end (made non-blocking here); `label` names the instance
    // in every line ("instance 3 (Counter) pid 1234").
    OutputRelay(sd_event* event, Fd read_end, std::string label);
    OutputRelay(const OutputRelay&) = delete;
    OutputRelay& operator=(const OutputRelay&) = delete;
    ~OutputRelay();

    // Logs what the pipe holds now, up to a bound: the process has exited and its last words
    // (a crash report, say) should come before the line that says so.
    void drain();
    // False once the last writer has closed the pipe.
    bool open() const noexcept { return static_cast<bool>(fd_); }

private:
    static int on_readable(sd_event_source* s, int fd, uint32_t revents, void* userdata);
    // Reads at most `budget` bytes; false at end of file (or on an error).
    bool read_some(size_t budget);
    void line(std::string_view text);
    void finish();

    sd_event* event_;
    Fd fd_;
    EventSourcePtr source_;
    std::string label_;
    std::string partial_;  // a line not ended yet
    RateLimiter limit_;
    uint64_t suppressed_ = 0;
};

}  // namespace offshoot

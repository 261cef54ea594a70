// output_relay.cpp — see output_relay.hpp.
#include "instance/output_relay.hpp"

#include "offshoot/common/log.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace offshoot {
namespace {

// Longer lines are logged in pieces of this size.
constexpr size_t max_line = 4096;
// Per wake-up, so one chatty worker cannot hold the loop up.
constexpr size_t read_budget = 64 * 1024;
// journald's defaults per service are 10,000 lines in 30 s; per instance a tenth of that.
constexpr double lines_per_second = 100;
constexpr uint32_t line_burst = 1000;

}  // namespace

OutputRelay::OutputRelay(sd_event* event, Fd read_end, std::string label)
    : event_(event), fd_(std::move(read_end)), label_(std::move(label)), limit_(lines_per_second, line_burst) {
    const int flags = ::fcntl(fd_.get(), F_GETFL);
    if (flags >= 0) (void)::fcntl(fd_.get(), F_SETFL, flags | O_NONBLOCK);
    sd_event_source* s = nullptr;
    if (sd_event_add_io(event_, &s, fd_.get(), EPOLLIN, on_readable, this) >= 0) source_.reset(s);
    else log::warning("{}: cannot watch its output; it is discarded", label_);
}

OutputRelay::~OutputRelay() {
    if (fd_) drain();
}

int OutputRelay::on_readable(sd_event_source*, int, uint32_t, void* userdata) {
    auto& self = *static_cast<OutputRelay*>(userdata);
    if (!self.read_some(read_budget)) self.finish();
    return 0;
}

void OutputRelay::drain() {
    if (fd_ && !read_some(4 * read_budget)) finish();
}

bool OutputRelay::read_some(size_t budget) {
    char buf[16384];
    while (budget > 0) {
        const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno == EAGAIN;
        if (n == 0) return false;
        budget -= std::min(budget, static_cast<size_t>(n));
        std::string_view data(buf, static_cast<size_t>(n));
        for (size_t nl; (nl = data.find('\n')) != std::string_view::npos; data.remove_prefix(nl + 1)) {
            partial_.append(data.substr(0, nl));
            line(partial_);
            partial_.clear();
        }
        partial_.append(data);
        while (partial_.size() >= max_line) {
            line(std::string_view(partial_).substr(0, max_line));
            partial_.erase(0, max_line);
        }
    }
    return true;
}

void OutputRelay::line(std::string_view text) {
    uint64_t now = 0, retry = 0;
    (void)sd_event_now(event_, CLOCK_MONOTONIC, &now);
    if (!limit_.take(now, retry)) {
        ++suppressed_;
        return;
    }
    if (suppressed_) {
        log::notice("{}: {} lines of its output suppressed (more than {} per second)", label_, suppressed_,
                    lines_per_second);
        suppressed_ = 0;
    }
    // log::escape makes a control character in `text` visible instead of letting it act.
    log::info("{}: {}", label_, text);
}

void OutputRelay::finish() {
    if (!partial_.empty()) line(partial_);
    partial_.clear();
    if (suppressed_) log::notice("{}: {} lines of its output suppressed", label_, suppressed_);
    suppressed_ = 0;
    source_.reset();  // allowed from its own callback: sd-event defers the free
    fd_.reset();
}

}  // namespace offshoot

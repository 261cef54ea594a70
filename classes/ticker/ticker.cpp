// ticker.cpp — Ticker: the loop example. Arguments are delays in milliseconds, e.g.
// ["100", "200", "300"]. Each iteration counts, emits Tick(count) and returns the next delay;
// the iteration after the last delay returns std::nullopt, so N delays make N + 1 ticks (the
// first as soon as the instance is ready). end() writes the count to "ticker-end" in the
// working directory (best effort: a directory the instance cannot write only loses the file),
// so that whoever spawned it can see that end() ran. Count() answers between iterations.
//
// Everything runs on the worker's loop thread: no synchronisation needed.
#include "org.offshoot1.example.Ticker_adaptor.hpp"

#include <offshoot/worker.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace {

// Longest delay accepted: 2^32 − 1 ms (about 49 days).
constexpr uint64_t max_delay_ms = 0xffff'ffff;

class Ticker final : public org::offshoot1::example::Ticker_adaptor, public offshoot::Loop {
public:
    explicit Ticker(const offshoot::ClassContext& ctx) {
        for (const auto& a : ctx.arguments) {
            uint64_t ms = 0;
            auto [p, ec] = std::from_chars(a.data(), a.data() + a.size(), ms);
            if (a.empty() || ec != std::errc() || p != a.data() + a.size() || ms > max_delay_ms)
                throw offshoot::Error(offshoot::error_name::invalid_args,
                                      "Ticker takes delays in milliseconds (0 to " +
                                          std::to_string(max_delay_ms) + "), not '" + a + "'");
            delays_.emplace_back(ms);
        }
    }

    std::optional<std::chrono::milliseconds> loop() override {
        ++count_;
        emitTick(count_);
        if (next_ < delays_.size()) return delays_[next_++];
        return std::nullopt;
    }

    void end() override {
        const std::string text = std::to_string(count_) + "\n";
        const int fd = ::open("ticker-end", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
            std::fprintf(stderr, "Ticker: cannot write ticker-end: %s\n", offshoot::errno_text(errno).c_str());
        if (fd >= 0) ::close(fd);
    }

    uint64_t Count() override { return count_; }

private:
    std::vector<std::chrono::milliseconds> delays_;
    size_t next_ = 0;
    uint64_t count_ = 0;
};

}  // namespace

OFFSHOOT_CLASS(Ticker)

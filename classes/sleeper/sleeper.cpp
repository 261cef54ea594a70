// sleeper.cpp — Sleeper: the task example. Arguments [milliseconds, exit-code] (the exit code
// defaults to 0); run() sleeps that long, then the process exits with the code, and hands back
// what happened: {"slept-ms": t, "stopped": b} (Instance.WaitReturnValue). Remaining() answers
// while it sleeps. A Stop in terminate mode cuts the sleep short (wait_for_stop).
//
// run() runs on a thread of its own while Remaining() runs on the worker's loop thread: the
// state they share is atomic.
#include "org.offshoot1.example.Sleeper_adaptor.hpp"

#include <offshoot/worker.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace {

using Clock = std::chrono::steady_clock;

// Longest sleep accepted: 2^32 − 1 ms (about 49 days), far from any clock overflow.
constexpr uint64_t max_milliseconds = 0xffff'ffff;

bool parse_number(std::string_view text, uint64_t max, uint64_t& out) {
    if (text.empty()) return false;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && p == text.data() + text.size() && out <= max;
}

[[noreturn]] void bad_arguments(const std::string& why) {
    throw offshoot::Error(offshoot::error_name::invalid_args,
                          "Sleeper takes arguments [milliseconds, exit-code]: " + why);
}

class Sleeper final : public org::offshoot1::example::Sleeper_adaptor, public offshoot::Task {
public:
    explicit Sleeper(const offshoot::ClassContext& ctx) {
        const auto& args = ctx.arguments;
        if (args.empty() || args.size() > 2)
            bad_arguments("got " + std::to_string(args.size()) + " arguments");
        uint64_t ms = 0, code = 0;
        if (!parse_number(args[0], max_milliseconds, ms))
            bad_arguments("'" + args[0] + "' is not a number of milliseconds (0 to " +
                          std::to_string(max_milliseconds) + ")");
        if (args.size() == 2 && !parse_number(args[1], 255, code))
            bad_arguments("'" + args[1] + "' is not an exit code (0 to 255)");
        duration_ = std::chrono::milliseconds(ms);
        exit_code_ = static_cast<int>(code);
    }

    int run() override {
        const Clock::time_point start = Clock::now();
        const Clock::time_point deadline = start + duration_;
        deadline_.store(deadline.time_since_epoch().count());
        const bool stopped = wait_for_stop(deadline);
        finished_.store(true);
        const auto slept = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
        set_return_value(std::map<std::string, offshoot::Variant>{
            {"slept-ms", static_cast<uint64_t>(slept)}, {"stopped", stopped}});
        // Stopped early: the worker exits 0 after a stop whatever run() returns.
        return stopped ? 0 : exit_code_;
    }

    uint64_t Remaining() override {
        if (finished_.load()) return 0;
        const Clock::rep deadline = deadline_.load();
        if (deadline == 0) return static_cast<uint64_t>(duration_.count());  // not started yet
        const auto left = Clock::time_point(Clock::duration(deadline)) - Clock::now();
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
        return ms > 0 ? static_cast<uint64_t>(ms) : 0;
    }

private:
    std::chrono::milliseconds duration_{0};
    int exit_code_ = 0;
    std::atomic<Clock::rep> deadline_{0};  // steady_clock ticks; 0 until run() starts
    std::atomic<bool> finished_{false};
};

}  // namespace

OFFSHOOT_CLASS(Sleeper)

// restart.cpp — see restart.hpp.
#include "config/restart.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <utility>

namespace offshoot {
namespace {

constexpr std::array<std::pair<RestartPolicy, const char*>, 6> policy_names{{
    {RestartPolicy::no, "no"},
    {RestartPolicy::always, "always"},
    {RestartPolicy::on_success, "on-success"},
    {RestartPolicy::on_failure, "on-failure"},
    {RestartPolicy::on_abnormal, "on-abnormal"},
    {RestartPolicy::on_abort, "on-abort"},
}};

// The ends a policy restarts after, one bit each: the rows of restart.hpp's table.
enum End : unsigned { clean = 1, exit_code = 2, signal = 4, timeout = 8, spawn_failed = 16 };

unsigned ends_of(RestartPolicy p) {
    switch (p) {
    case RestartPolicy::no: return 0;
    case RestartPolicy::always: return clean | exit_code | signal | timeout | spawn_failed;
    case RestartPolicy::on_success: return clean;
    case RestartPolicy::on_failure: return exit_code | signal | timeout | spawn_failed;
    case RestartPolicy::on_abnormal: return signal | timeout;
    case RestartPolicy::on_abort: return signal;
    }
    return 0;
}

unsigned end_of(std::string_view result) {
    if (result == "success") return clean;
    if (result == "exit-code") return exit_code;
    if (result == "signal" || result == "core-dump") return signal;
    if (result == "timeout" || result == "oom-kill") return timeout;
    if (result == "spawn-failed") return spawn_failed;
    return 0;  // start-limit-hit and anything else: never
}

// One unit of a time span, in µs (systemd's spellings).
std::optional<uint64_t> unit_usec(std::string_view u) {
    if (u.empty() || u == "s" || u == "sec" || u == "second" || u == "seconds") return 1'000'000;
    if (u == "ms" || u == "msec") return 1'000;
    if (u == "us" || u == "usec" || u == "µs") return 1;
    if (u == "m" || u == "min" || u == "minute" || u == "minutes") return 60'000'000;
    if (u == "h" || u == "hr" || u == "hour" || u == "hours") return 3'600'000'000ull;
    return std::nullopt;
}

}  // namespace

std::optional<RestartPolicy> parse_restart_policy(std::string_view text) {
    for (const auto& [p, name] : policy_names)
        if (text == name) return p;
    return std::nullopt;
}

const char* to_string(RestartPolicy p) {
    for (const auto& [q, name] : policy_names)
        if (p == q) return name;
    return "no";
}

bool restarts_after(RestartPolicy p, std::string_view result) { return (ends_of(p) & end_of(result)) != 0; }

bool restart_within(RestartPolicy requested, RestartPolicy allowed) {
    return (ends_of(requested) & ~ends_of(allowed)) == 0;
}

std::optional<uint64_t> parse_timespan_usec(std::string_view text) {
    uint64_t total = 0;
    size_t i = 0;
    bool any = false;
    while (i < text.size()) {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        if (i == text.size()) break;
        uint64_t n = 0;
        auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
        if (ec != std::errc()) return std::nullopt;
        i = static_cast<size_t>(end - text.data());
        while (i < text.size() && text[i] == ' ') ++i;
        size_t j = i;
        while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j])) &&
               !std::isdigit(static_cast<unsigned char>(text[j])))
            ++j;
        const auto mult = unit_usec(text.substr(i, j - i));
        if (!mult || n > (UINT64_MAX - total) / *mult) return std::nullopt;
        total += n * *mult;
        any = true;
        i = j;
    }
    if (!any) return std::nullopt;
    return total;
}

bool parse_restart_key(std::string_view key, std::string_view value, RestartSettings& s, std::string& error) {
    if (key == "Restart") {
        if (value == "on-watchdog")
            error = "Restart=on-watchdog does not apply: a worker has no watchdog (use on-failure or on-abnormal)";
        else if (const auto p = parse_restart_policy(value)) s.policy = *p;
        else error = "Restart= must be no, on-success, on-failure, on-abnormal, on-abort or always";
    } else if (key == "RestartSec") {
        const auto t = parse_timespan_usec(value);
        if (!t || *t > 3'600'000'000ull) error = "RestartSec= must be a time span of at most 1h, such as 100ms or 5s";
        else s.restart_usec = *t;
    } else if (key == "StartLimitIntervalSec") {
        const auto t = parse_timespan_usec(value);
        if (!t) error = "StartLimitIntervalSec= must be a time span such as 10s (0: no limit)";
        else s.start_limit_interval_usec = *t;
    } else if (key == "StartLimitBurst") {
        uint32_t n = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > 1000)
            error = "StartLimitBurst= must be a number from 1 to 1000";
        else s.start_limit_burst = n;
    } else {
        return false;
    }
    return true;
}

}  // namespace offshoot

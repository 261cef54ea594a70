// reliability_support.hpp — what the reliability tests share on top of the integration tests'
// fixture and lifecycle helpers: counts that are CI-sized unless the environment asks for the
// full ones (scripts/soak.sh), offshootd's resident memory, Echo/Counter calls with checked
// results, and printing figures other than durations.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "lifecycle_support.hpp"

namespace offshoot::test {

inline constexpr const char* kEchoInterface = "org.offshoot1.example.Echo";

// A count from the environment (scripts/soak.sh sets the full ones), else the CI default.
inline int count_from_env(const char* name, int ci_default) {
    const char* v = std::getenv(name);
    if (!v || !*v) return ci_default;
    const int n = std::atoi(v);
    return n > 0 ? n : ci_default;
}

// VmRSS of a process in KiB (0 when it is gone).
inline long rss_kib(pid_t pid) {
    auto fields = read_status_fields(pid);
    if (!fields) return 0;
    auto it = fields->find("VmRSS");
    return it == fields->end() ? 0 : std::atol(it->second.c_str());
}

// The bound on offshootd's RSS growth over a test: `plain` KiB, or in the sanitizer build that
// plus AddressSanitizer's quarantine (256 MiB by default) — freed memory waits there before it
// is reused, so RSS grows by up to that much without any leak. Leaks are LeakSanitizer's to
// find in that build: it runs when offshootd exits and fails the exit status TestDaemon checks.
inline long rss_growth_bound_kib(long plain) {
#if defined(__SANITIZE_ADDRESS__)
    return plain + 256L * 1024 + 16L * 1024;
#else
    return plain;
#endif
}

// A measured figure that is not a duration, printed for the log and the closing note.
inline void report_value(const std::string& what, double value, const char* unit) {
    std::printf("[  FIGURE  ] %s: %.1f %s\n", what.c_str(), value, unit);
    std::fflush(stdout);
    ::testing::Test::RecordProperty(what, std::to_string(value));
}

// Counter.Increment(by) → the new value (throws CallFailure).
inline int64_t counter_increment(BusClient& peer, int64_t by) {
    auto m = peer.call_checked(kObjectName, kObjectPath, kCounterInterface, "Increment",
                               [by](sd_bus_message* c) { return sd_bus_message_append(c, "x", by); });
    int64_t v = 0;
    if (sd_bus_message_read(m.get(), "x", &v) < 0) throw CallFailure("(read)", "Increment");
    return v;
}

// Echo.Ping(v) → v (throws CallFailure).
inline int64_t echo_ping(BusClient& peer, int64_t v) {
    auto m = peer.call_checked(kObjectName, kObjectPath, kEchoInterface, "Ping",
                               [v](sd_bus_message* c) { return sd_bus_message_append(c, "x", v); });
    int64_t out = 0;
    if (sd_bus_message_read(m.get(), "x", &out) < 0) throw CallFailure("(read)", "Ping");
    return out;
}

// Echo.Echo(ay) → ay (throws CallFailure).
inline std::string echo_bytes(BusClient& peer, const std::string& data) {
    auto m = peer.call_checked(kObjectName, kObjectPath, kEchoInterface, "Echo", [&](sd_bus_message* c) {
        return sd_bus_message_append_array(c, 'y', data.data(), data.size());
    });
    const void* p = nullptr;
    size_t n = 0;
    if (sd_bus_message_read_array(m.get(), 'y', &p, &n) < 0) throw CallFailure("(read)", "Echo");
    return std::string(static_cast<const char*>(p), n);
}

}  // namespace offshoot::test

// tunnel_ping.cpp — offshoot-bench-tunnel: Echo.Ping round trips on each of several D-Bus
// addresses of ONE instance, measured one after the other in the same run, so that a tunnel's
// cost is printed next to the direct connection's (scripts/bench-remote.sh: direct socket,
// systemd-stdio-bridge alone, ssh + systemd-stdio-bridge).
//
//   offshoot-bench-tunnel [--calls=N] NAME=ADDRESS [NAME=ADDRESS …]
//
// Per address: the time to connect (sd_bus_start with Hello: for a tunnel, starting the
// bridge, and ssh's handshake), then N Ping calls after 100 to warm up; one JSON line each:
//   {"name": …, "connect_ms": …, "n": N, "p50_us": …, "p90_us": …, "p99_us": …}
#include <systemd/sd-bus.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t0) { return std::chrono::duration<double, std::micro>(Clock::now() - t0).count(); }

[[noreturn]] void die(const std::string& what, int r, const sd_bus_error* e = nullptr) {
    std::fprintf(stderr, "offshoot-bench-tunnel: %s: %s\n", what.c_str(), e && e->message ? e->message : std::strerror(-r));
    std::exit(1);
}

void ping(sd_bus* bus, int64_t v, const std::string& name) {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    int r = sd_bus_call_method(bus, "org.offshoot1.Object", "/org/offshoot1/object", "org.offshoot1.example.Echo",
                               "Ping", &e, &reply, "x", v);
    if (r < 0) die(name + ": Ping", r, &e);
    int64_t got = -1;
    r = sd_bus_message_read(reply, "x", &got);
    sd_bus_message_unref(reply);
    if (r < 0 || got != v) die(name + ": Ping answered wrongly", r < 0 ? r : -EBADMSG);
}

double percentile(std::vector<double>& v, double q) {
    std::sort(v.begin(), v.end());
    const size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    long calls = 2000;
    std::vector<std::pair<std::string, std::string>> targets;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const size_t eq = a.find('=');
        if (a.rfind("--calls=", 0) == 0) calls = std::atol(a.c_str() + 8);
        else if (a.rfind("--", 0) != 0 && eq != std::string::npos && eq > 0) targets.emplace_back(a.substr(0, eq), a.substr(eq + 1));
        else {
            std::fprintf(stderr, "usage: %s [--calls=N] NAME=ADDRESS [NAME=ADDRESS …]\n", argv[0]);
            return 2;
        }
    }
    if (targets.empty() || calls < 1) return 2;
    for (const auto& [name, address] : targets) {
        const auto t0 = Clock::now();
        sd_bus* bus = nullptr;
        int r = sd_bus_new(&bus);
        if (r >= 0) r = sd_bus_set_address(bus, address.c_str());
        if (r >= 0) r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0) r = sd_bus_start(bus);
        if (r < 0) die(name + ": connect to " + address, r);
        ping(bus, 0, name);  // Hello is answered: the connection is up
        const double connect_ms = us_since(t0) / 1000;
        for (int64_t v = 1; v <= 100; ++v) ping(bus, v, name);
        std::vector<double> us;
        us.reserve(static_cast<size_t>(calls));
        for (long n = 0; n < calls; ++n) {
            const auto c0 = Clock::now();
            ping(bus, n, name);
            us.push_back(us_since(c0));
        }
        sd_bus_flush_close_unref(bus);
        std::printf("{\"name\": \"%s\", \"connect_ms\": %.1f, \"n\": %ld, \"p50_us\": %.1f, \"p90_us\": %.1f, "
                    "\"p99_us\": %.1f}\n",
                    name.c_str(), connect_ms, calls, percentile(us, 0.5), percentile(us, 0.9), percentile(us, 0.99));
        std::fflush(stdout);
    }
    return 0;
}

// common.cpp — configuration, sd-bus helpers, latency samples and the shared Echo instance.
#include "common.hpp"

#include <offshoot/client.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace offshoot::bench {

Config& config() {
    static Config c;
    return c;
}

void fail(const std::string& what) {
    std::fprintf(stderr, "offshoot-bench: %s\n", what.c_str());
    std::fflush(stderr);
    std::_Exit(1);  // no destructors: threads of the client library may be mid-call
}

int check(int r, const char* what, const sd_bus_error* error) {
    if (r >= 0) return r;
    std::string text = what;
    text += ": ";
    text += error && error->message ? error->message : std::strerror(-r);
    fail(text);
}

BusPtr open_bus(const std::string& address) {
    sd_bus* raw = nullptr;
    check(sd_bus_new(&raw), "sd_bus_new");
    BusPtr bus(raw);
    check(sd_bus_set_address(raw, address.c_str()), ("address " + address).c_str());
    check(sd_bus_set_bus_client(raw, 1), "sd_bus_set_bus_client");
    check(sd_bus_start(raw), ("connect to " + address).c_str());
    return bus;
}

void sdbus_ping(sd_bus* bus, const char* destination, int64_t v) {
    BusError e;
    sd_bus_message* reply = nullptr;
    int r = sd_bus_call_method(bus, destination, object_path, echo_iface, "Ping", &e, &reply, "x", v);
    check(r, "Echo.Ping", &e);
    MessagePtr owned(reply);
    int64_t got = 0;
    check(sd_bus_message_read(reply, "x", &got), "Echo.Ping reply");
    if (got != v) fail("Echo.Ping answered " + std::to_string(got) + " to " + std::to_string(v));
}

double Samples::percentile(double q) {
    if (us_.empty()) return 0;
    if (!sorted_) {
        std::sort(us_.begin(), us_.end());
        sorted_ = true;
    }
    size_t rank = static_cast<size_t>(q * static_cast<double>(us_.size()) + 0.999999);
    return us_[std::clamp<size_t>(rank, 1, us_.size()) - 1];
}

void Samples::report(benchmark::State& state, double bytes_per_op) {
    if (us_.empty()) {
        state.SkipWithError("no samples");
        return;
    }
    double p50 = percentile(0.5);
    state.counters["p50_us"] = p50;
    state.counters["p90_us"] = percentile(0.9);
    state.counters["n"] = static_cast<double>(us_.size());
    if (bytes_per_op > 0) state.counters["MBps"] = bytes_per_op / p50;  // bytes/µs = MB/s
}

namespace {

struct SharedEchoState {
    std::optional<Supervisor> supervisor;
    Instance instance;
    SharedEcho echo;
};

SharedEchoState& shared_state() {
    static SharedEchoState s;
    return s;
}

}  // namespace

const SharedEcho& shared_echo() {
    auto& s = shared_state();
    if (!s.instance) {
        try {
            s.supervisor = Supervisor::at(config().bus);
            s.instance = s.supervisor->spawn(config().echo_class, config().uid);
            s.echo.address = s.instance.address();
            s.echo.pid = s.instance.pid();
        } catch (const Error& e) {
            fail("spawning the shared " + config().echo_class + ": " + e.getName() + ": " + e.getMessage());
        }
    }
    return s.echo;
}

void release_shared_echo() {
    auto& s = shared_state();
    try {
        if (s.instance) s.instance.release();
    } catch (const Error&) {
        // Gone already: nothing to clean up.
    }
    s.supervisor.reset();
}

}  // namespace offshoot::bench

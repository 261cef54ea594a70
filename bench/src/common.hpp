// common.hpp — what every benchmark of offshoot-bench shares: the run's configuration, sd-bus
// connections (in the product's own RAII types, offshoot/common/sd_ptr.hpp), per-operation
// latency samples (median/p90 reported as counters), and the one Echo instance the call
// benchmarks talk to.
//
// Every figure is reported as counters on the Google Benchmark result, so that scripts/bench.sh
// (through bench/report.py) reads one JSON file per placement:
//   p50_us, p90_us   per-operation latency (one call, one spawn, one copy)
//   MBps             payload bytes per second at the median round trip (10^6 bytes)
//   calls_per_s      pipelined rate
#pragma once

#include <offshoot/names.hpp>

#include <benchmark/benchmark.h>
#include <offshoot/common/sd_ptr.hpp>  // offshoot::BusPtr, MessagePtr, CredsPtr, BusError
#include <systemd/sd-bus.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace offshoot::bench {

// Set once in main() from the command line (see main.cpp's usage text).
struct Config {
    std::string bus;                     // the private dbus-daemon offshootd serves on
    uint32_t uid = 65534;                // instances run as this uid
    std::string echo_class = "Echo";
    int calls = 20000;                   // round trips per call benchmark
    int spawns = 200;                    // spawns per spawn benchmark
    int scale = 1000;                    // live instances in the scale benchmark
    int64_t payload_budget = 32 << 20;   // bytes echoed per payload size (bounds the iterations)
    int async_calls = 50000;             // calls per pipelining benchmark
    std::string helper_dir;              // where offshoot-bench-sdbus-server lives
};
Config& config();

[[noreturn]] void fail(const std::string& what);
// Fails with `what` and strerror(-r) (sd-bus convention) or the error's message.
int check(int r, const char* what, const sd_bus_error* error = nullptr);

// An sd-bus client connection to `address`, Hello included (as busctl and sdbus-c++ do).
BusPtr open_bus(const std::string& address);

// offshoot's names (offshoot/names.hpp), and the Echo class's interface.
inline constexpr const char* supervisor_name = names::bus_name;
inline constexpr const char* supervisor_path = names::supervisor_path;
inline constexpr const char* supervisor_iface = names::supervisor_interface;
inline constexpr const char* instance_iface = names::instance_interface;
inline constexpr const char* object_name = names::object_name;
inline constexpr const char* object_path = names::object_path;
inline constexpr const char* echo_iface = "org.offshoot1.example.Echo";

// Echo.Ping(v) on an sd-bus connection; fails the run unless the answer is v.
void sdbus_ping(sd_bus* bus, const char* destination, int64_t v);

using Clock = std::chrono::steady_clock;
inline double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// Per-operation latencies of one benchmark.
class Samples {
public:
    explicit Samples(size_t expected = 0) { us_.reserve(expected); }
    void add(Clock::duration d) { us_.push_back(micros(d)); }
    void add_us(double us) { us_.push_back(us); }
    size_t size() const { return us_.size(); }
    // Nearest-rank percentile, q in [0, 1].
    double percentile(double q);
    // Sets p50_us, p90_us, n (and MBps when bytes_per_op > 0) on the benchmark's counters.
    void report(benchmark::State& state, double bytes_per_op = 0);

private:
    std::vector<double> us_;
    bool sorted_ = false;
};

// Times one operation and records it.
template <class F>
inline void timed(Samples& s, F&& f) {
    auto t0 = Clock::now();
    f();
    s.add(Clock::now() - t0);
}

// The Echo instance the call, payload and async benchmarks share, spawned on first use through
// liboffshoot-client (tie-to-caller: it ends with this process).
struct SharedEcho {
    std::string address;  // its private D-Bus address
    uint32_t pid = 0;
};
const SharedEcho& shared_echo();
void release_shared_echo();  // before exit, while the client library's threads may still join

// Payload sizes of the Echo rows and their raw-copy baseline: 64 B … 16 MiB. The element-wise
// row stops at 1 MiB (16 MiB one byte at a time takes seconds per call).
inline constexpr int64_t payload_sizes[] = {64, int64_t{4} << 10, int64_t{64} << 10, int64_t{1} << 20,
                                            int64_t{16} << 20};
inline constexpr int64_t elementwise_max_size = int64_t{1} << 20;
// The sealed-memfd rows (docs/payloads.md): the sizes where a copy through the socket costs.
inline constexpr int64_t memfd_sizes[] = {int64_t{64} << 10, int64_t{1} << 20, int64_t{16} << 20};

// Registration, one function per area (main.cpp calls them in this order).
void register_baselines();
void register_calls();
void register_elementwise_bytes();  // ay through sdbus-c++'s own templates (elementwise_bytes.cpp)
void register_callbacks();  // a call that calls back into its caller (callbacks.cpp)
void register_spawn();
void register_scale();

}  // namespace offshoot::bench

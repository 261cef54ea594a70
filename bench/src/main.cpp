// offshoot-bench — offshoot's call latency, payload throughput, pipelining, callbacks into the
// caller, spawn latency and scale, each next to its baseline measured in the same run (see bench/RESULTS.md).
//
//   offshoot-bench --bus=ADDR [--uid=65534] [--calls=20000] [--spawns=200] [--scale=1000]
//                  [--async-calls=50000] [--payload-budget=BYTES] [--benchmark_* flags]
//
// ADDR is a bus on which offshootd serves org.offshoot1 (a private dbus-daemon: the routed
// baseline registers a name there too). The placement (one core or free) is this process's
// CPU affinity, which every peer it starts inherits; scripts/bench.sh runs the whole tree —
// dbus-daemon, offshootd (and so its workers), this program — under `taskset -c 0` for the
// one-core placement. Results: Google Benchmark's output, the figures in counters (common.hpp).
#include "common.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

const char usage[] =
    "usage: offshoot-bench --bus=ADDR [--uid=U] [--calls=N] [--spawns=N] [--scale=N]\n"
    "                      [--async-calls=N] [--payload-budget=BYTES] [--benchmark_* flags]\n";

bool take(const std::string& arg, const char* name, std::string& value) {
    std::string prefix = std::string("--") + name + "=";
    if (arg.rfind(prefix, 0) != 0) return false;
    value = arg.substr(prefix.size());
    return true;
}

long positive(const std::string& value, const char* name) {
    char* end = nullptr;
    long v = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || v <= 0) {
        std::fprintf(stderr, "offshoot-bench: --%s needs a positive number, not '%s'\n%s", name, value.c_str(), usage);
        std::exit(2);
    }
    return v;
}

std::string cpus_allowed() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("Cpus_allowed_list:", 0) == 0) return line.substr(line.find_first_not_of(" \t", 18));
    return "?";
}

}  // namespace

int main(int argc, char** argv) {
    using namespace offshoot::bench;
    benchmark::Initialize(&argc, argv);
    auto& c = config();
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i], v;
        if (take(a, "bus", v)) c.bus = v;
        else if (take(a, "uid", v)) c.uid = static_cast<uint32_t>(positive(v, "uid"));
        else if (take(a, "calls", v)) c.calls = static_cast<int>(positive(v, "calls"));
        else if (take(a, "spawns", v)) c.spawns = static_cast<int>(positive(v, "spawns"));
        else if (take(a, "scale", v)) c.scale = static_cast<int>(positive(v, "scale"));
        else if (take(a, "async-calls", v)) c.async_calls = static_cast<int>(positive(v, "async-calls"));
        else if (take(a, "payload-budget", v)) c.payload_budget = positive(v, "payload-budget");
        else {
            std::fprintf(stderr, "offshoot-bench: unknown argument '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    if (c.bus.empty()) {
        std::fprintf(stderr, "%s", usage);
        return 2;
    }
    {
        // Helpers live next to this program (build tree and install tree alike).
        char exe[4096];
        ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
        std::string self = n > 0 ? std::string(exe, static_cast<size_t>(n)) : std::string(argv[0]);
        c.helper_dir = self.substr(0, self.rfind('/'));
    }
    benchmark::AddCustomContext("cpus_allowed", cpus_allowed());
    benchmark::AddCustomContext("calls", std::to_string(c.calls));
    benchmark::AddCustomContext("spawns", std::to_string(c.spawns));
    benchmark::AddCustomContext("scale", std::to_string(c.scale));

    register_baselines();
    register_calls();
    register_elementwise_bytes();
    register_callbacks();
    register_spawn();
    register_scale();
    benchmark::RunSpecifiedBenchmarks();
    release_shared_echo();
    benchmark::Shutdown();
    return 0;
}

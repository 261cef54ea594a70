// callbacks.cpp — a call that calls back into its caller, next to a plain call, over one Walker
// instance's private connection with plain sd-bus (the caller's Sink exported on that same
// connection, as a client of the instance does it):
//   callback/walk_empty   Walker.Walk on an empty directory: an asynchronous method (answered
//                         from a thread of its own), no callback
//   callback/walk_one     Walk on a directory of one entry: the same plus one
//                         org.offshoot1.example.Sink.Entry round trip into the caller — from
//                         the walk's thread through the worker's loop, to this process and back
// The callback's own cost is walk_one − walk_empty; call/offshoot_sdbus (calls.cpp) is a plain
// call on the same transport. bench/report.py prints them side by side.
#include "common.hpp"

#include <offshoot/client.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>

namespace offshoot::bench {
namespace {

constexpr const char* walker_iface = "org.offshoot1.example.Walker";
constexpr const char* sink_path = "/bench/sink";

// A directory uid config().uid may read, with `entries` files in it; removed at the end.
class Tree {
public:
    explicit Tree(int entries) {
        char dir[] = "/tmp/offshoot-bench-walk-XXXXXX";
        if (!::mkdtemp(dir)) fail("mkdtemp");
        path_ = dir;
        ::chmod(dir, 0755);
        for (int i = 0; i < entries; ++i) std::ofstream(path_ + "/" + std::to_string(i)) << "x";
        entries_ = entries;
    }
    Tree(const Tree&) = delete;
    Tree& operator=(const Tree&) = delete;
    ~Tree() {
        for (int i = 0; i < entries_; ++i) ::unlink((path_ + "/" + std::to_string(i)).c_str());
        ::rmdir(path_.c_str());
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    int entries_ = 0;
};

int on_entry(sd_bus_message* m, void* userdata, sd_bus_error*) {
    ++*static_cast<uint64_t*>(userdata);
    return sd_bus_reply_method_return(m, "");
}

const sd_bus_vtable sink_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Entry", "s", "", on_entry, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

// One Walk, served to the end: the Sink's calls are answered while the reply is awaited (a
// blocking sd_bus_call would leave them unread).
uint32_t walk(sd_bus* bus, const std::string& directory) {
    std::optional<uint32_t> count;
    int r = sd_bus_call_method_async(
        bus, nullptr, object_name, object_path, walker_iface, "Walk",
        [](sd_bus_message* m, void* userdata, sd_bus_error*) {
            uint32_t n = 0;
            if (sd_bus_message_is_method_error(m, nullptr)) fail(std::string("Walk failed: ") + sd_bus_message_get_error(m)->message);
            check(sd_bus_message_read(m, "u", &n), "Walk's reply");
            *static_cast<std::optional<uint32_t>*>(userdata) = n;
            return 0;
        },
        &count, "so", directory.c_str(), sink_path);
    check(r, "Walk");
    while (!count) {
        r = check(sd_bus_process(bus, nullptr), "sd_bus_process");
        if (r == 0) check(sd_bus_wait(bus, UINT64_MAX), "sd_bus_wait");
    }
    return *count;
}

void walk_benchmark(benchmark::State& state, int entries) {
    Tree tree(entries);
    auto supervisor = Supervisor::at(config().bus);
    Instance walker = supervisor.spawn("Walker", config().uid);
    BusPtr bus = open_bus(walker.address());
    uint64_t calls_back = 0;
    check(sd_bus_add_object_vtable(bus.get(), nullptr, sink_path, "org.offshoot1.example.Sink", sink_vtable,
                                   &calls_back),
          "exporting the Sink");
    for (int i = 0; i < 100; ++i)
        if (walk(bus.get(), tree.path()) != static_cast<uint32_t>(entries)) fail("Walk counted wrongly");
    Samples s(state.max_iterations);
    for (auto _ : state)
        timed(s, [&] {
            if (walk(bus.get(), tree.path()) != static_cast<uint32_t>(entries)) fail("Walk counted wrongly");
        });
    if (calls_back != static_cast<uint64_t>(entries) * (100 + s.size())) fail("the Sink missed callbacks");
    s.report(state);
}

}  // namespace

void register_callbacks() {
    // A quarter of the plain calls' count: each Walk starts a thread in the worker.
    const auto n = static_cast<benchmark::IterationCount>(std::max(10, config().calls / 4));
    benchmark::RegisterBenchmark("callback/walk_empty", [](benchmark::State& s) { walk_benchmark(s, 0); })
        ->Iterations(n)->Unit(benchmark::kMicrosecond)->UseRealTime();
    benchmark::RegisterBenchmark("callback/walk_one", [](benchmark::State& s) { walk_benchmark(s, 1); })
        ->Iterations(n)->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace offshoot::bench

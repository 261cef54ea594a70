// spawn.cpp — Spawn → first successful call (what was bench/spawn_latency.cpp):
//   spawn/offshoot_sdbus    Supervisor.Spawn(Echo, uid) → connect to the returned address →
//                           Echo.Ping answered; plain sd-bus, so it measures offshoot, not a
//                           binding. The Release that follows is not timed.
//   spawn/offshoot_client   the same through liboffshoot-client, as a user writes it:
//                           Supervisor::spawn + Instance::proxy<P>() + Ping (includes
//                           SpawnWithOptions and the proxy's event-loop thread).
#include "common.hpp"

#include "echo_proxy.hpp"

#include <offshoot/client.hpp>

namespace offshoot::bench {
namespace {

void release(sd_bus* bus, const std::string& path) {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int r = sd_bus_call_method(bus, supervisor_name, path.c_str(), instance_iface, "Release", &e, nullptr, "");
    check(r, "Instance.Release", &e);
}

void spawn_sdbus(benchmark::State& state) {
    BusPtr bus = open_bus(config().bus);
    const std::string cls = config().echo_class;
    Samples s(state.max_iterations);
    for (auto _ : state) {
        std::string path;
        timed(s, [&] {
            sd_bus_error e = SD_BUS_ERROR_NULL;
            sd_bus_message* reply = nullptr;
            int r = sd_bus_call_method(bus.get(), supervisor_name, supervisor_path, supervisor_iface, "Spawn", &e,
                                       &reply, "su", cls.c_str(), config().uid);
            check(r, "Supervisor.Spawn", &e);
            MessagePtr owned(reply);
            const char *p = nullptr, *address = nullptr;
            check(sd_bus_message_read(reply, "os", &p, &address), "Spawn reply");
            path = p;
            BusPtr peer = open_bus(address);
            sdbus_ping(peer.get(), object_name, 1);
        });
        state.PauseTiming();
        release(bus.get(), path);
        state.ResumeTiming();
    }
    s.report(state);
}

void spawn_client(benchmark::State& state) {
    Supervisor supervisor = Supervisor::at(config().bus);
    const std::string cls = config().echo_class;
    Samples s(state.max_iterations);
    for (auto _ : state) {
        Instance instance;
        Connected<EchoProxy> proxy;
        try {
            timed(s, [&] {
                instance = supervisor.spawn(cls, config().uid);
                proxy = instance.proxy<EchoProxy>();
                if (proxy->Ping(1) != 1) fail("Echo.Ping answered wrongly");
            });
            state.PauseTiming();
            proxy.reset();
            instance.release();
            state.ResumeTiming();
        } catch (const Error& e) {
            fail("spawn through liboffshoot-client: " + e.getName() + ": " + e.getMessage());
        }
    }
    s.report(state);
}

}  // namespace

void register_spawn() {
    const auto& c = config();
    benchmark::RegisterBenchmark("spawn/offshoot_sdbus", spawn_sdbus)
        ->Iterations(c.spawns)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark("spawn/offshoot_client", spawn_client)
        ->Iterations(c.spawns)->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace offshoot::bench

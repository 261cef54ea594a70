// spawn.cpp — Spawn → first successful call (what was bench/spawn_latency.cpp):
//   spawn/offshoot_sdbus    Supervisor.Spawn(Echo, uid) → connect to the returned address →
//                           Echo.Ping answered; plain sd-bus, so it measures offshoot, not a
//                           binding. The Release that follows is not timed.
//   spawn/offshoot_client   the same through liboffshoot-client, as a user writes it:
//                           Supervisor::spawn + Instance::proxy<P>() + Ping (includes
//                           SpawnWithOptions and the proxy's event-loop thread).
//   spawn/contained/<what>  spawn/offshoot_sdbus through SpawnWithOptions with one containment
//                           key, to set next to spawn/contained/none (the same call without
//                           one): private-tmp, private-network, protect-system=strict (each a
//                           namespace step in the spawn child), memory-max (a cgroup of the
//                           instance's own; offshootd's embedded engine in this benchmark —
//                           systemd's scopes are not measured here).
//   spawn/restart           a restart (issue 20): Resilient (Faulty's plugin, Restart=on-failure,
//                           RestartSec=100ms) crashed with Crash("exit") → connect again to the
//                           same address → a call answered by the restarted worker. The spawn
//                           before it (a fresh instance each time: StartLimitBurst=3) and the
//                           Release after it are not timed; the time includes the 100 ms wait.
#include "common.hpp"

#include "echo_proxy.hpp"

#include <offshoot/client.hpp>

namespace offshoot::bench {
namespace {

void release(sd_bus* bus, const std::string& path) {
    BusError e;
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
            BusError e;
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

// SpawnWithOptions(Echo, uid, `key`) → connect → Ping; key "" for none.
void spawn_contained(benchmark::State& state, const std::string& key) {
    BusPtr bus = open_bus(config().bus);
    const std::string cls = config().echo_class;
    Samples s(state.max_iterations);
    for (auto _ : state) {
        std::string path;
        timed(s, [&] {
            BusError e;
            sd_bus_message* raw = nullptr;
            int r = sd_bus_message_new_method_call(bus.get(), &raw, supervisor_name, supervisor_path, supervisor_iface,
                                                   "SpawnWithOptions");
            MessagePtr call(raw);
            if (r >= 0) r = sd_bus_message_append(raw, "s", cls.c_str());
            if (r >= 0) r = sd_bus_message_open_container(raw, 'a', "{sv}");
            if (r >= 0) r = sd_bus_message_append(raw, "{sv}", "uid", "u", config().uid);
            if (r >= 0 && (key == "private-tmp" || key == "private-network"))
                r = sd_bus_message_append(raw, "{sv}", key.c_str(), "b", 1);
            if (r >= 0 && key == "protect-system") r = sd_bus_message_append(raw, "{sv}", key.c_str(), "s", "strict");
            if (r >= 0 && key == "memory-max") r = sd_bus_message_append(raw, "{sv}", key.c_str(), "t", uint64_t{256} << 20);
            if (r >= 0) r = sd_bus_message_close_container(raw);
            check(r, "building SpawnWithOptions");
            sd_bus_message* reply = nullptr;
            check(sd_bus_call(bus.get(), raw, 0, &e, &reply), ("SpawnWithOptions " + key).c_str(), &e);
            MessagePtr owned(reply);
            const char *p = nullptr, *address = nullptr;
            check(sd_bus_message_read(reply, "os", &p, &address), "SpawnWithOptions reply");
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

// A call the instance answers with its class's error (Faulty.Throw): true when it did.
bool answers_throw(sd_bus* peer) {
    BusError e;
    int r = sd_bus_call_method(peer, object_name, object_path, "org.offshoot1.example.Faulty", "Throw", &e,
                               nullptr, "s", "x");
    return r < 0 && sd_bus_error_has_name(&e, "org.offshoot1.example.Faulty.Error");
}

void spawn_restart(benchmark::State& state) {
    BusPtr bus = open_bus(config().bus);
    Samples s(state.max_iterations);
    for (auto _ : state) {
        state.PauseTiming();
        BusError e;
        sd_bus_message* reply = nullptr;
        int r = sd_bus_call_method(bus.get(), supervisor_name, supervisor_path, supervisor_iface, "Spawn", &e, &reply,
                                   "su", "Resilient", config().uid);
        check(r, "Supervisor.Spawn(Resilient)", &e);
        MessagePtr owned(reply);
        const char *p = nullptr, *a = nullptr;
        check(sd_bus_message_read(reply, "os", &p, &a), "Spawn reply");
        const std::string path = p, address = a;
        BusPtr peer = open_bus(address);
        if (!answers_throw(peer.get())) fail("Resilient did not answer before the crash");
        state.ResumeTiming();
        timed(s, [&] {
            BusError crash;
            if (sd_bus_call_method(peer.get(), object_name, object_path, "org.offshoot1.example.Faulty",
                                   "Crash", &crash, nullptr, "s", "exit") >= 0)
                fail("Crash(\"exit\") answered");
            BusPtr again = open_bus(address);
            if (!answers_throw(again.get())) fail("the restarted Resilient did not answer");
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
    benchmark::RegisterBenchmark("spawn/restart", spawn_restart)
        ->Iterations(c.spawns)->Unit(benchmark::kMillisecond)->UseRealTime();
    for (const char* key : {"none", "private-tmp", "private-network", "protect-system", "memory-max"})
        benchmark::RegisterBenchmark((std::string("spawn/contained/") + key).c_str(), spawn_contained,
                                     std::string(key == std::string("none") ? "" : key))
            ->Iterations(c.spawns)->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace offshoot::bench

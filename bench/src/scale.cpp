// scale.cpp — scale/<N>: N live Echo instances at once.
//   Spawns N instances one after the other (SpawnWithOptions, tie-to-caller, so they end with
//   this process whatever happens), timing each tenth of them (each hundred at N = 1,000);
//   checks that every one answers Echo.Ping on its own address; reads offshootd's RSS, open
//   fds and CPU time (/proc/<pid>/schedstat) and each worker's PSS
//   (/proc/<pid>/smaps_rollup); then sends all N Stop calls at once and times until every one
//   has returned (Stop returns when the process is gone); then releases the handles.
// Counters: block<k>_ms (k = 0..9), last_over_first, block<k>_supervisor_cpu_us (offshootd's
// CPU per spawn in that tenth), supervisor_cpu_last_over_first, supervisor_rss_MiB (at N),
// supervisor_rss_before_MiB, supervisor_fds, supervisor_fd_limit, pss_per_instance_MiB,
// rss_per_instance_MiB, supervisor_cpu_us_per_spawn, stop_all_s, callable.
#include "common.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <dirent.h>

#include <fstream>
#include <map>
#include <sstream>

namespace offshoot::bench {
namespace {

pid_t supervisor_pid(sd_bus* bus) {
    sd_bus_creds* raw = nullptr;
    check(sd_bus_get_name_creds(bus, supervisor_name, SD_BUS_CREDS_PID, &raw), "offshootd's pid");
    CredsPtr creds(raw);
    pid_t pid = 0;
    check(sd_bus_creds_get_pid(creds.get(), &pid), "offshootd's pid");
    return pid;
}

// A "Key:   1234 kB" line of a /proc file, in KiB; -1 when absent.
double proc_kib(const std::string& file, const std::string& key) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        if (line.compare(0, key.size() + 1, key + ":") == 0) return std::stod(line.substr(key.size() + 1));
    }
    return -1;
}

// CPU time of a process, in µs: its main thread's run time from /proc/<pid>/schedstat
// (nanoseconds; offshootd is single-threaded by design), else utime + stime from
// /proc/<pid>/stat (clock ticks, 10 ms each — too coarse for a handful of spawns).
double cpu_us(pid_t pid) {
    {
        std::ifstream sched("/proc/" + std::to_string(pid) + "/schedstat");
        double run_ns = 0;
        if (sched >> run_ns) return run_ns / 1e3;
    }
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream rest(all.substr(all.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    // Fields after comm start at 3 (state); utime and stime are 14 and 15.
    for (int i = 3; i <= 15 && rest >> field; ++i)
        if (i >= 14) ticks += std::stod(field);
    return ticks * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string cpus_allowed(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("Cpus_allowed_list:", 0) == 0) return line.substr(line.find_first_not_of(" \t", 18));
    return "?";
}

int open_fds(pid_t pid) {
    int n = 0;
    if (DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ++n;
        ::closedir(d);
    }
    return n;
}

double fd_limit(pid_t pid) {
    rlimit lim{};
    if (::prlimit(pid, RLIMIT_NOFILE, nullptr, &lim) < 0) return -1;
    return lim.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(lim.rlim_cur);
}

// ListInstances → pid of each handle path.
std::map<std::string, uint32_t> instance_pids(sd_bus* bus) {
    BusError e;
    sd_bus_message* reply = nullptr;
    check(sd_bus_call_method(bus, supervisor_name, supervisor_path, supervisor_iface, "ListInstances", &e, &reply, ""),
          "ListInstances", &e);
    MessagePtr owned(reply);
    std::map<std::string, uint32_t> pids;
    check(sd_bus_message_enter_container(reply, 'a', "(ossuus)"), "ListInstances reply");
    const char *path, *cls, *state, *owner;
    uint32_t uid, pid;
    while (check(sd_bus_message_read(reply, "(ossuus)", &path, &cls, &state, &uid, &pid, &owner), "row") > 0)
        pids[path] = pid;
    return pids;
}

// Calls `method` on every handle at once and waits for all the replies; returns the failures
// (and the first error in `first_error`). The bus must allow that many pending replies per
// connection (bench.sh's dbus-daemon config raises max_replies_per_connection).
int call_all(sd_bus* bus, const std::vector<std::string>& paths, const char* method, std::string& first_error) {
    struct Pending {
        int left = 0, failed = 0;
        std::string* first_error;
    } pending{static_cast<int>(paths.size()), 0, &first_error};
    auto on_reply = [](sd_bus_message* m, void* userdata, sd_bus_error*) -> int {
        auto* p = static_cast<Pending*>(userdata);
        if (sd_bus_message_is_method_error(m, nullptr)) {
            if (p->failed++ == 0) {
                const sd_bus_error* e = sd_bus_message_get_error(m);
                *p->first_error = std::string(e->name) + ": " + (e->message ? e->message : "");
            }
        }
        --p->left;
        return 0;
    };
    for (const auto& path : paths)
        check(sd_bus_call_method_async(bus, nullptr, supervisor_name, path.c_str(), instance_iface, method, on_reply,
                                       &pending, ""),
              method);
    while (pending.left > 0) {
        int r = check(sd_bus_process(bus, nullptr), "sd_bus_process");
        if (r == 0) check(sd_bus_wait(bus, UINT64_MAX), "sd_bus_wait");
    }
    return pending.failed;
}

void scale(benchmark::State& state) {
    const int n = static_cast<int>(state.range(0));
    const int block = std::max(1, n / 10);
    BusPtr bus = open_bus(config().bus);
    const pid_t sup = supervisor_pid(bus.get());
    const std::string status = "/proc/" + std::to_string(sup) + "/status";
    const std::string cls = config().echo_class;

    for (auto _ : state) {
        const double rss_before = proc_kib(status, "VmRSS");
        const double cpu_before = cpu_us(sup);
        std::vector<std::string> paths, addresses;
        std::vector<double> blocks_ms, blocks_cpu_us;
        auto t_block = Clock::now();
        double cpu_block = cpu_before;
        for (int i = 0; i < n; ++i) {
            BusError e;
            sd_bus_message* reply = nullptr;
            int r = sd_bus_call_method(bus.get(), supervisor_name, supervisor_path, supervisor_iface, "SpawnWithOptions",
                                       &e, &reply, "sa{sv}", cls.c_str(), 2, "uid", "u", config().uid,
                                       "tie-to-caller", "b", 1);
            check(r, ("SpawnWithOptions #" + std::to_string(i + 1)).c_str(), &e);
            MessagePtr owned(reply);
            const char *path = nullptr, *address = nullptr;
            check(sd_bus_message_read(reply, "os", &path, &address), "SpawnWithOptions reply");
            paths.emplace_back(path);
            addresses.emplace_back(address);
            if ((i + 1) % block == 0 && blocks_ms.size() < 10) {
                auto now = Clock::now();
                blocks_ms.push_back(micros(now - t_block) / 1e3);
                t_block = now;
                // offshootd's own CPU per spawn in this block: tells growing work in the
                // supervisor apart from a busier machine.
                const double cpu = cpu_us(sup);
                blocks_cpu_us.push_back((cpu - cpu_block) / block);
                cpu_block = cpu;
            }
        }
        const double cpu_after = cpu_us(sup);
        const double rss_at_n = proc_kib(status, "VmRSS");
        const int fds_at_n = open_fds(sup);

        int callable = 0;
        for (const auto& address : addresses) {
            BusPtr peer = open_bus(address);
            sdbus_ping(peer.get(), object_name, 7);
            ++callable;
        }

        double pss_kib = 0, rss_kib = 0;
        int measured = 0;
        std::string worker_cpus;
        auto pids = instance_pids(bus.get());
        for (const auto& path : paths) {
            auto it = pids.find(path);
            if (it == pids.end() || it->second == 0) continue;
            if (worker_cpus.empty()) worker_cpus = cpus_allowed(it->second);
            const std::string rollup = "/proc/" + std::to_string(it->second) + "/smaps_rollup";
            pss_kib += proc_kib(rollup, "Pss");
            rss_kib += proc_kib(rollup, "Rss");
            ++measured;
        }

        std::string stop_error, release_error;
        auto t_stop = Clock::now();
        int stop_failures = call_all(bus.get(), paths, "Stop", stop_error);
        const double stop_s = micros(Clock::now() - t_stop) / 1e6;
        int release_failures = call_all(bus.get(), paths, "Release", release_error);
        if (stop_failures || release_failures) {
            // Reported, not fatal: the other figures of the run stay usable.
            state.SkipWithError((std::to_string(stop_failures) + " Stop calls failed (" + stop_error + "), " +
                                 std::to_string(release_failures) + " Release calls failed (" + release_error + ")")
                                    .c_str());
            return;
        }

        for (size_t k = 0; k < blocks_ms.size(); ++k) state.counters["block" + std::to_string(k) + "_ms"] = blocks_ms[k];
        if (!blocks_ms.empty() && blocks_ms.front() > 0)
            state.counters["last_over_first"] = blocks_ms.back() / blocks_ms.front();
        for (size_t k = 0; k < blocks_cpu_us.size(); ++k)
            state.counters["block" + std::to_string(k) + "_supervisor_cpu_us"] = blocks_cpu_us[k];
        if (!blocks_cpu_us.empty() && blocks_cpu_us.front() > 0)
            state.counters["supervisor_cpu_last_over_first"] = blocks_cpu_us.back() / blocks_cpu_us.front();
        state.counters["block_size"] = block;
        state.counters["supervisor_rss_before_MiB"] = rss_before / 1024;
        state.counters["supervisor_rss_MiB"] = rss_at_n / 1024;
        state.counters["supervisor_rss_after_MiB"] = proc_kib(status, "VmRSS") / 1024;
        state.counters["supervisor_fds"] = fds_at_n;
        state.counters["supervisor_fds_after"] = open_fds(sup);
        state.counters["supervisor_fd_limit"] = fd_limit(sup);
        state.counters["supervisor_cpu_us_per_spawn"] = (cpu_after - cpu_before) / n;
        state.counters["spawn_ms_mean"] = [&] {
            double sum = 0;
            for (double b : blocks_ms) sum += b;
            return sum / (block * static_cast<double>(blocks_ms.size()));
        }();
        if (measured > 0) {
            state.counters["pss_per_instance_MiB"] = pss_kib / measured / 1024;
            state.counters["rss_per_instance_MiB"] = rss_kib / measured / 1024;
        }
        state.counters["measured"] = measured;
        state.counters["callable"] = callable;
        state.counters["stop_all_s"] = stop_s;
        // The placement reaches the workers only if offshootd's affinity is inherited.
        state.SetLabel("worker cpus " + worker_cpus);
    }
}

}  // namespace

void register_scale() {
    benchmark::RegisterBenchmark("scale", scale)
        ->Arg(config().scale)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();
}

}  // namespace offshoot::bench

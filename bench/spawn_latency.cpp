// spawn_latency.cpp — Spawn → first successful call on the instance, N times; prints
// median and p90 in microseconds. Uses plain sd-bus, so it measures offshoot, not a binding.
//
//   offshoot-spawn-latency --address=BUS [--count=100] [--class=Counter] [--uid=65534]
#include <systemd/sd-bus.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

sd_bus* open_bus(const char* address) {
    sd_bus* b = nullptr;
    if (sd_bus_new(&b) < 0 || sd_bus_set_address(b, address) < 0 || sd_bus_set_bus_client(b, 1) < 0 ||
        sd_bus_start(b) < 0) {
        std::fprintf(stderr, "cannot connect to %s\n", address);
        std::exit(1);
    }
    return b;
}

void die(const char* what, const sd_bus_error& e, int r) {
    std::fprintf(stderr, "%s: %s\n", what, e.message ? e.message : std::strerror(-r));
    std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
    std::string address, cls = "Counter";
    int count = 100;
    unsigned uid = 65534;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--address=", 0) == 0) address = a.substr(10);
        else if (a.rfind("--count=", 0) == 0) count = std::atoi(a.c_str() + 8);
        else if (a.rfind("--class=", 0) == 0) cls = a.substr(8);
        else if (a.rfind("--uid=", 0) == 0) uid = static_cast<unsigned>(std::strtoul(a.c_str() + 6, nullptr, 10));
        else {
            std::fprintf(stderr, "usage: %s --address=BUS [--count=N] [--class=C] [--uid=U]\n", argv[0]);
            return 2;
        }
    }
    if (address.empty() || count <= 0) return 2;
    sd_bus* bus = open_bus(address.c_str());
    std::vector<double> us;
    for (int n = 0; n < count; ++n) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message* reply = nullptr;
        auto t0 = std::chrono::steady_clock::now();
        int r = sd_bus_call_method(bus, "org.offshoot1", "/org/offshoot1", "org.offshoot1.Supervisor", "Spawn",
                                   &e, &reply, "su", cls.c_str(), uid);
        if (r < 0) die("Spawn", e, r);
        const char *path = nullptr, *addr = nullptr;
        sd_bus_message_read(reply, "os", &path, &addr);
        std::string p = path, a = addr;
        sd_bus_message_unref(reply);
        sd_bus* peer = open_bus(a.c_str());
        r = sd_bus_call_method(peer, "org.offshoot1.Object", "/org/offshoot1/object",
                               "org.freedesktop.DBus.Peer", "Ping", &e, nullptr, "");
        if (r < 0) die("first call", e, r);
        auto t1 = std::chrono::steady_clock::now();
        us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        sd_bus_flush_close_unref(peer);
        r = sd_bus_call_method(bus, "org.offshoot1", p.c_str(), "org.offshoot1.Instance", "Release", &e, nullptr, "");
        if (r < 0) die("Release", e, r);
    }
    std::sort(us.begin(), us.end());
    auto pct = [&](double q) { return us[std::min(us.size() - 1, static_cast<size_t>(q * us.size()))]; };
    std::printf("spawn-to-first-call class=%s n=%d median=%.0f us p90=%.0f us min=%.0f us max=%.0f us\n",
                cls.c_str(), count, pct(0.5), pct(0.9), us.front(), us.back());
    sd_bus_flush_close_unref(bus);
    return 0;
}

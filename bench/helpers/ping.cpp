// ping.cpp — offshoot-bench-ping: a fixed number of Echo calls on one plain sd-bus connection,
// for profiling (valgrind --tool=callgrind on either end counts instructions per call
// repeatably; compare two counts to subtract start-up).
//
//   offshoot-bench-ping --address=ADDR [--count=N] [--size=BYTES] [--in-flight=K] [--destination=NAME]
//   (--size=0: Echo.Ping(x); otherwise Echo.Echo(ay) with BYTES bytes; --in-flight=K > 1:
//   Echo.Ping with K asynchronous calls kept in flight)
#include <systemd/sd-bus.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int die(const char* what, int r, const sd_bus_error* e = nullptr) {
    std::fprintf(stderr, "offshoot-bench-ping: %s: %s\n", what, e && e->message ? e->message : std::strerror(-r));
    return 1;
}

struct Pipeline {
    sd_bus* bus;
    const char* destination;
    long total, issued = 0, done = 0;
    int error = 0;

    static int on_reply(sd_bus_message* m, void* userdata, sd_bus_error*) {
        auto* p = static_cast<Pipeline*>(userdata);
        if (sd_bus_message_is_method_error(m, nullptr)) p->error = -EIO;
        ++p->done;
        if (p->issued < p->total) p->issue();
        return 0;
    }
    void issue() {
        int r = sd_bus_call_method_async(bus, nullptr, destination, "/org/offshoot1/object",
                                         "org.offshoot1.example.Echo", "Ping", on_reply, this, "x",
                                         static_cast<int64_t>(issued++));
        if (r < 0) error = r;
    }
    int run(long in_flight) {
        for (long i = 0; i < in_flight && issued < total; ++i) issue();
        while (done < total && error == 0) {
            int r = sd_bus_process(bus, nullptr);
            if (r < 0) return r;
            if (r == 0 && (r = sd_bus_wait(bus, UINT64_MAX)) < 0) return r;
        }
        return error;
    }
};

}  // namespace

int main(int argc, char** argv) {
    std::string address, destination = "org.offshoot1.Object";
    long count = 1000, size = 0, in_flight = 1;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--address=", 0) == 0) address = a.substr(10);
        else if (a.rfind("--count=", 0) == 0) count = std::atol(a.c_str() + 8);
        else if (a.rfind("--size=", 0) == 0) size = std::atol(a.c_str() + 7);
        else if (a.rfind("--destination=", 0) == 0) destination = a.substr(14);
        else if (a.rfind("--in-flight=", 0) == 0) in_flight = std::atol(a.c_str() + 12);
        else {
            std::fprintf(stderr, "usage: %s --address=ADDR [--count=N] [--size=BYTES] [--destination=NAME]\n", argv[0]);
            return 2;
        }
    }
    if (address.empty() || count < 0 || size < 0 || in_flight < 1) return 2;
    sd_bus* bus = nullptr;
    int r = sd_bus_new(&bus);
    if (r >= 0) r = sd_bus_set_address(bus, address.c_str());
    if (r >= 0) r = sd_bus_set_bus_client(bus, 1);
    if (r >= 0) r = sd_bus_start(bus);
    if (r < 0) return die("connect", r);
    std::vector<uint8_t> data(static_cast<size_t>(size), 0x5a);
    if (in_flight > 1) {
        Pipeline p{bus, destination.c_str(), count};
        r = p.run(in_flight);
        sd_bus_flush_close_unref(bus);
        return r < 0 ? die("pipelined calls", r) : 0;
    }
    for (long n = 0; n < count; ++n) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message* reply = nullptr;
        if (size == 0) {
            r = sd_bus_call_method(bus, destination.c_str(), "/org/offshoot1/object", "org.offshoot1.example.Echo",
                                   "Ping", &e, &reply, "x", static_cast<int64_t>(n));
        } else {
            sd_bus_message* call = nullptr;
            r = sd_bus_message_new_method_call(bus, &call, destination.c_str(), "/org/offshoot1/object",
                                               "org.offshoot1.example.Echo", "Echo");
            if (r >= 0) r = sd_bus_message_append_array(call, 'y', data.data(), data.size());
            if (r >= 0) r = sd_bus_call(bus, call, 0, &e, &reply);
            sd_bus_message_unref(call);
        }
        if (r < 0) return die("call", r, &e);
        sd_bus_message_unref(reply);
    }
    sd_bus_flush_close_unref(bus);
    return 0;
}

// sdbus_echo_server.cpp — offshoot-bench-sdbus-server: the routed baseline. A plain sd-bus
// service that owns a name on a bus (through its dbus-daemon) and serves
// org.offshoot1.example.Echo at /org/offshoot1/object — what a user gets by writing an
// ordinary D-Bus service instead of using offshoot. Prints "READY\n" on stdout once it owns
// the name; exits when the bus goes away or on SIGTERM.
//
//   offshoot-bench-sdbus-server --address=ADDR --name=NAME
#include <systemd/sd-bus.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

int ping(sd_bus_message* m, void*, sd_bus_error*) {
    int64_t v = 0;
    int r = sd_bus_message_read(m, "x", &v);
    if (r < 0) return r;
    return sd_bus_reply_method_return(m, "x", v);
}

int echo(sd_bus_message* m, void*, sd_bus_error*) {
    const void* data = nullptr;
    size_t size = 0;
    int r = sd_bus_message_read_array(m, 'y', &data, &size);
    if (r < 0) return r;
    sd_bus_message* reply = nullptr;
    r = sd_bus_message_new_method_return(m, &reply);
    if (r < 0) return r;
    r = sd_bus_message_append_array(reply, 'y', data, size);
    if (r >= 0) r = sd_bus_send(nullptr, reply, nullptr);
    sd_bus_message_unref(reply);
    return r;
}

const sd_bus_vtable echo_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Ping", "x", "x", ping, 0),
    SD_BUS_METHOD("Echo", "ay", "ay", echo, 0),
    SD_BUS_VTABLE_END,
};

int die(const char* what, int r) {
    std::fprintf(stderr, "offshoot-bench-sdbus-server: %s: %s\n", what, std::strerror(-r));
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::string address, name;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--address=", 0) == 0) address = a.substr(10);
        else if (a.rfind("--name=", 0) == 0) name = a.substr(7);
    }
    if (address.empty() || name.empty()) {
        std::fprintf(stderr, "usage: %s --address=ADDR --name=NAME\n", argv[0]);
        return 2;
    }
    sd_bus* bus = nullptr;
    int r = sd_bus_new(&bus);
    if (r < 0) return die("sd_bus_new", r);
    if ((r = sd_bus_set_address(bus, address.c_str())) < 0) return die("address", r);
    if ((r = sd_bus_set_bus_client(bus, 1)) < 0) return die("bus client", r);
    if ((r = sd_bus_start(bus)) < 0) return die("connect", r);
    r = sd_bus_add_object_vtable(bus, nullptr, "/org/offshoot1/object", "org.offshoot1.example.Echo", echo_vtable,
                                 nullptr);
    if (r < 0) return die("vtable", r);
    if ((r = sd_bus_request_name(bus, name.c_str(), 0)) < 0) return die("request name", r);
    std::fputs("READY\n", stdout);
    std::fflush(stdout);
    for (;;) {
        r = sd_bus_process(bus, nullptr);
        if (r < 0) break;  // the bus went away: done
        if (r > 0) continue;
        if (sd_bus_wait(bus, UINT64_MAX) < 0) break;
    }
    sd_bus_flush_close_unref(bus);
    return 0;
}

// test-adaptorgen-peer.hpp — serves one offshoot::Object on the server end of a socketpair
// (sd-bus server mode, as offshoot-worker does, on a thread of its own) and hands the test a
// direct client connection to the other end. The server thread ends when the client hangs up.
#pragma once

#include <offshoot/worker.hpp>

#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

#include <sys/socket.h>

#include <stdexcept>
#include <string>
#include <thread>

namespace offshoot::test {

class PeerPair final : public SignalSink {
public:
    explicit PeerPair(Object& object) : object_(object) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) throw std::runtime_error("socketpair");
        sd_id128_t id;
        check(sd_id128_randomize(&id), "sd_id128_randomize");
        check(sd_bus_new(&server_), "sd_bus_new (server)");
        check(sd_bus_set_fd(server_, sv[0], sv[0]), "sd_bus_set_fd (server)");
        check(sd_bus_set_server(server_, 1, id), "sd_bus_set_server");
        check(object.add_to_bus(server_, &slot_), "add_to_bus");
        check(sd_bus_start(server_), "sd_bus_start (server)");
        object.set_signal_sink(this);

        check(sd_bus_new(&client_), "sd_bus_new (client)");
        check(sd_bus_set_fd(client_, sv[1], sv[1]), "sd_bus_set_fd (client)");
        check(sd_bus_start(client_), "sd_bus_start (client)");

        thread_ = std::thread([this] { serve(); });
    }

    PeerPair(const PeerPair&) = delete;
    PeerPair& operator=(const PeerPair&) = delete;

    ~PeerPair() override {
        sd_bus_flush_close_unref(client_);  // the server sees the hang-up and its loop ends
        thread_.join();
        object_.set_signal_sink(nullptr);
        sd_bus_slot_unref(slot_);
        sd_bus_close_unref(server_);
    }

    sd_bus* client() const noexcept { return client_; }

    void for_each_bus(void (*fn)(sd_bus* bus, void* userdata), void* userdata) override { fn(server_, userdata); }

private:
    static void check(int r, const char* what) {
        if (r < 0) throw std::runtime_error(std::string(what) + ": " + std::to_string(r));
    }

    void serve() {
        for (;;) {
            int r = sd_bus_process(server_, nullptr);
            if (r < 0) return;
            if (r > 0) continue;
            r = sd_bus_wait(server_, UINT64_MAX);
            if (r < 0 && r != -EINTR) return;
        }
    }

    Object& object_;
    sd_bus* server_ = nullptr;
    sd_bus* client_ = nullptr;
    sd_bus_slot* slot_ = nullptr;
    std::thread thread_;
};

}  // namespace offshoot::test

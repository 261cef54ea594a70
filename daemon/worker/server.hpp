// server.hpp — the worker's peer-to-peer D-Bus server: accepts connections on the listening
// socket, checks each peer's SO_PEERCRED uid (the owner or root), and serves the one object
// on every accepted connection with sd-bus in server mode, all on one sd-event loop.
//
// Each accepted connection is its own sd_bus (sd_bus_set_fd + sd_bus_set_server); the
// org.freedesktop.DBus facade (bus_driver.hpp) answers what bus clients expect from a
// broker. Signals the object emits go to every open connection (SignalSink).
#pragma once

#include "offshoot/common/fd.hpp"
#include "offshoot/common/sd_ptr.hpp"
#include "offshoot/object.hpp"

#include <sys/socket.h>
#include <systemd/sd-id128.h>

#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace offshoot::worker {

class Server;

// One accepted peer.
struct Connection {
    Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    // Closes before BusPtr's sd_bus_flush_close_unref runs: flushing a connection that is
    // still authenticating first waits for the authentication to finish (up to sd-bus' 90 s
    // timeout), blocking the whole worker. Whatever had to be flushed was (Server::close_all).
    ~Connection() {
        if (bus) sd_bus_close(bus.get());
    }

    Server* server = nullptr;
    BusPtr bus;
    std::string unique_name;  // ":1.<n>", answered to Hello
    ucred peer{};
    // Until the SASL exchange is over: see Server::on_authenticating.
    EventSourcePtr auth_watch;
    bool said_hello = false;
    // The peer has sent its first message (Hello, for bus clients). Signals wait for it: a
    // bus client that receives anything before its Hello reply drops the connection (sd-bus
    // answers that with EIO), and a loop may emit while a client is still connecting.
    bool heard_from = false;
    // A message arrived in this loop iteration: Server::on_drain reads on while more are there.
    bool busy = false;
    bool closed = false;  // disconnected; freed by the server's reaper
};

class Server final : public SignalSink {
public:
    // `listener` is a listening SOCK_STREAM unix socket (made non-blocking here).
    Server(sd_event* event, Fd listener, uid_t owner_uid, Object& object);
    ~Server() override;
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Registers the object's vtable on a scratch bus so a bad vtable or interface name fails
    // start-up (StartupError "register") instead of every later connection.
    static void verify_object(Object& object);

    // Starts accepting. Throws StartupError("listen", …).
    void listen();

    // Stops accepting, flushes what is queued for each peer (bounded by flush_timeout_usec
    // in total, so a peer that does not read cannot hold the exit up), closes everything.
    void close_all(uint64_t flush_timeout_usec);

    // SignalSink: every open connection whose peer has sent its first message. Only on the
    // loop thread (sd-bus connections are not thread-safe): from another thread — a task's
    // run() — it throws offshoot::Error instead of corrupting a connection.
    void for_each_bus(void (*fn)(sd_bus* bus, void* userdata), void* userdata) override;

    // For the org.freedesktop.DBus facade.
    const std::string& id_hex() const noexcept { return id_hex_; }
    const Connection* find_peer(std::string_view unique_name) const noexcept;
    const std::vector<std::unique_ptr<Connection>>& connections() const noexcept {
        return connections_;
    }
    size_t open_connections() const noexcept;

private:
    static int on_listener(sd_event_source* s, int fd, uint32_t revents, void* userdata);
    static int on_resume_accepting(sd_event_source* s, uint64_t usec, void* userdata);
    static int on_authenticating(sd_event_source* s, void* userdata);
    static int on_disconnected(sd_bus_message* m, void* userdata, sd_bus_error* error);
    static int on_incoming(sd_bus_message* m, void* userdata, sd_bus_error* error);
    static int on_reap(sd_event_source* s, void* userdata);
    static int on_drain(sd_event_source* s, void* userdata);

    void accept_pending();
    void pause_accepting();
    int add_connection(Fd fd, const ucred& peer);

    sd_event* event_;
    std::thread::id loop_thread_ = std::this_thread::get_id();
    Fd listener_;
    uid_t owner_uid_;
    Object& object_;
    sd_id128_t id_;
    std::string id_hex_;
    uint64_t next_peer_ = 1;
    EventSourcePtr listen_source_;
    EventSourcePtr resume_source_;
    EventSourcePtr reap_source_;
    EventSourcePtr drain_source_;
    std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace offshoot::worker

// server.hpp — the worker's peer-to-peer D-Bus server: accepts connections on the listening
// socket, checks each peer's SO_PEERCRED uid (the owner or root), and serves the one object
// on every accepted connection with sd-bus in server mode, all on one sd-event loop.
//
// Each accepted connection is its own sd_bus (sd_bus_set_fd + sd_bus_set_server); the
// org.freedesktop.DBus facade (bus_driver.hpp) answers what bus clients expect from a
// broker. Signals the object emits go to every open connection (SignalSink); monitors
// (monitor.hpp) get a copy of everything instead.
#pragma once

#include "monitor.hpp"

#include "offshoot/common/fd.hpp"
#include "offshoot/common/sd_ptr.hpp"
#include "offshoot/object.hpp"

#include <sys/socket.h>
#include <systemd/sd-id128.h>

#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace offshoot::worker {

class Server;

// What a server admits (ServerLimits::...). dbus-daemon bounds the same things
// (max_incomplete_connections, auth_timeout, max_connections_per_user).
struct ServerLimits {
    // Connections open at once, authenticated or not (the class's MaxConnections=). Past it a
    // new connection is closed at once.
    size_t max_connections = 256;
    // Connections still in the SASL exchange. Past it the OLDEST of them is closed to admit the
    // new one, so idle connections that never authenticate (a leaky client, or a flood) cannot
    // lock out a client that does: it needs well under a millisecond.
    size_t max_authenticating = 64;
    // How long a connection may take to authenticate.
    uint64_t auth_timeout_usec = 5'000'000;
    // Negotiate descriptor passing (the class's interface has an `h` argument); the
    // connection's socket is then watched by fd_guard.
    bool pass_fds = false;
};

// One accepted peer.
struct Connection {
    Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    // Closes before BusPtr's sd_bus_flush_close_unref runs: flushing a connection that is
    // still authenticating first waits for the authentication to finish (up to sd-bus' 90 s
    // timeout), blocking the whole worker. Whatever had to be flushed was (Server::close_all).
    ~Connection() { close(); }
    // Stops watching the socket (fd_guard) and closes it; idempotent.
    void close() noexcept;

    Server* server = nullptr;
    BusPtr bus;
    int fd = -1;              // the socket; the bus owns it
    bool guarded = false;     // fd_guard watches `fd`
    std::string unique_name;  // ":1.<n>", answered to Hello
    ucred peer{};
    // Until the SASL exchange is over the server drives sd-bus itself (Server::on_auth_io) from
    // an io source of its own, and the connection waits in Server::authenticating_ (oldest
    // first) with a deadline. Then sd_bus_attach_event takes over.
    EventSourcePtr auth_io;
    uint64_t auth_deadline_usec = 0;
    std::list<Connection*>::iterator auth_position;
    bool authenticating = false;
    bool said_hello = false;
    // The peer has sent its first message (Hello, for bus clients). Signals wait for it: a
    // bus client that receives anything before its Hello reply drops the connection (sd-bus
    // answers that with EIO), and a loop may emit while a client is still connecting.
    bool heard_from = false;
    // A message arrived in this loop iteration: Server::on_drain reads on while more are there.
    bool busy = false;
    bool closed = false;  // disconnected; freed by the server's reaper
    // BecomeMonitor was answered: the connection receives copies (those its rules match) and
    // may send nothing more (monitor.hpp).
    bool monitor = false;
    std::vector<MatchRule> rules;
};

class Server final : public SignalSink {
public:
    // `listener` is a listening SOCK_STREAM unix socket (made non-blocking here).
    Server(sd_event* event, Fd listener, uid_t owner_uid, Object& object, ServerLimits limits = {});
    ~Server() override;
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Registers the object's vtable on a scratch bus so a bad vtable or interface name fails
    // start-up (StartupError "register") instead of every later connection.
    static void verify_object(Object& object);
    // Whether any member of the object's interface takes or returns a descriptor (`h`).
    static bool uses_fds(const Object& object);

    // Starts accepting. Throws StartupError("listen", …).
    void listen();

    // Stops accepting, flushes what is queued for each peer (bounded by flush_timeout_usec
    // in total, so a peer that does not read cannot hold the exit up), closes everything.
    void close_all(uint64_t flush_timeout_usec);

    // SignalSink: every open connection whose peer has sent its first message. Only on the
    // loop thread (sd-bus connections are not thread-safe): from another thread — a task's
    // run() — it throws offshoot::Error instead of corrupting a connection.
    void for_each_bus(void (*fn)(sd_bus* bus, void* userdata), void* userdata) override;
    // SignalSink: the unique name answered to the Hello of the peer on `bus` (the destination of
    // calls back into it, offshoot/caller.hpp), "" if it said none.
    std::string peer_name(sd_bus* bus) const override;

    // For the org.freedesktop.DBus facade.
    const std::string& id_hex() const noexcept { return id_hex_; }
    uid_t owner_uid() const noexcept { return owner_uid_; }
    std::thread::id loop_thread() const noexcept { return loop_thread_; }
    Monitors& monitors() noexcept { return monitors_; }
    const Connection* find_peer(std::string_view unique_name) const noexcept;
    const std::vector<std::unique_ptr<Connection>>& connections() const noexcept {
        return connections_;
    }
    size_t open_connections() const noexcept;

private:
    friend class Monitors;  // closes monitors that do not read (drop)

    static int on_listener(sd_event_source* s, int fd, uint32_t revents, void* userdata);
    static int on_resume_accepting(sd_event_source* s, uint64_t usec, void* userdata);
    static int on_auth_io(sd_event_source* s, int fd, uint32_t revents, void* userdata);
    static int on_auth_deadline(sd_event_source* s, uint64_t usec, void* userdata);
    static int on_disconnected(sd_bus_message* m, void* userdata, sd_bus_error* error);
    static int on_incoming(sd_bus_message* m, void* userdata, sd_bus_error* error);
    static int on_reap(sd_event_source* s, void* userdata);
    static int on_drain(sd_event_source* s, void* userdata);

    void accept_pending();
    void pause_accepting();
    int add_connection(Fd fd, const ucred& peer);
    // One sd_bus_process(); a failure closes the connection. True while there is more to do.
    bool process(Connection& c);
    // Moves the SASL exchange on; once it is over, start_running().
    void authenticate(Connection& c);
    // The SASL exchange is over: sd_bus_attach_event takes the connection.
    void start_running(Connection& c);
    // Ends a connection now (mark closed, leave the authentication queue); freed by on_reap.
    void drop(Connection& c, const char* why);
    void leave_authentication(Connection& c);
    void arm_auth_deadline();
    void schedule_reap();

    sd_event* event_;
    std::thread::id loop_thread_ = std::this_thread::get_id();
    Fd listener_;
    uid_t owner_uid_;
    Object& object_;
    ServerLimits limits_;
    sd_id128_t id_;
    std::string id_hex_;
    uint64_t next_peer_ = 1;
    uint64_t refused_ = 0;  // connections refused past max_connections (logged now and then)
    EventSourcePtr listen_source_;
    EventSourcePtr resume_source_;
    EventSourcePtr reap_source_;
    EventSourcePtr drain_source_;
    EventSourcePtr auth_timer_;
    std::vector<std::unique_ptr<Connection>> connections_;
    std::list<Connection*> authenticating_;  // oldest first; all share one timeout
    std::vector<Connection*> busy_;          // got a message this iteration (on_drain)
    // Last: destroyed first, so the send hook is off before any connection goes.
    Monitors monitors_{*this};
};

}  // namespace offshoot::worker

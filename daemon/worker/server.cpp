// server.cpp — see server.hpp.
#include "server.hpp"

#include "bus_driver.hpp"
#include "plugin.hpp"

#include "offshoot/common/log.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace offshoot::worker {
namespace {

// How long accepting pauses when the process is out of descriptors or memory: the listener
// stays readable, and a level-triggered source would otherwise spin.
constexpr uint64_t accept_pause_usec = 100'000;

// Messages one connection may have processed per loop iteration (Server::on_drain).
constexpr int drain_batch = 64;

uint64_t now_usec() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

std::string strerr(int negative_errno) { return std::strerror(-negative_errno); }

}  // namespace

Server::Server(sd_event* event, Fd listener, uid_t owner_uid, Object& object)
    : event_(event), listener_(std::move(listener)), owner_uid_(owner_uid), object_(object) {
    // One id per server, as D-Bus means it: it names the address, not the connection.
    if (sd_id128_randomize(&id_) < 0) id_ = SD_ID128_NULL;
    char hex[SD_ID128_STRING_MAX];
    id_hex_ = sd_id128_to_string(id_, hex);
}

Server::~Server() = default;

void Server::verify_object(Object& object) {
    sd_bus* raw = nullptr;
    int r = sd_bus_new(&raw);
    if (r < 0) throw StartupError("register", -r, "sd_bus_new: " + strerr(r));
    BusPtr scratch(raw);
    r = sd_bus_add_object_vtable(scratch.get(), nullptr, object_path, object.interface_name(),
                                 object.vtable(), &object);
    if (r < 0)
        throw StartupError("register", -r,
                           std::string("cannot register interface ") + object.interface_name() +
                               " at " + object_path + ": " + strerr(r) +
                               (r == -EINVAL ? " (invalid interface name or vtable)" : ""));
}

void Server::listen() {
    int flags = ::fcntl(listener_.get(), F_GETFL);
    if (flags < 0 || ::fcntl(listener_.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
        int e = errno;
        throw StartupError("listen", e, std::string("fcntl(O_NONBLOCK): ") + std::strerror(e));
    }
    sd_event_source* s = nullptr;
    int r = sd_event_add_io(event_, &s, listener_.get(), EPOLLIN, on_listener, this);
    if (r < 0) throw StartupError("listen", -r, "sd_event_add_io: " + strerr(r));
    listen_source_.reset(s);
    s = nullptr;
    r = sd_event_add_post(event_, &s, on_drain, this);
    if (r < 0) throw StartupError("listen", -r, "sd_event_add_post: " + strerr(r));
    drain_source_.reset(s);
}

// sd-bus' event-loop glue (sd_bus_attach_event) processes one message per loop iteration: with
// calls pipelined on a connection, every message costs an epoll_wait and a pass through
// sd-event besides its own reads and reply. After an iteration in which a connection received
// a message, this reads on — up to drain_batch messages — while sd-bus has more to do.
// The price, one recvmsg that finds nothing once a burst is over, comes after the reply has
// been sent.
int Server::on_drain(sd_event_source*, void* userdata) {
    auto* self = static_cast<Server*>(userdata);
    for (size_t i = 0; i < self->connections_.size(); ++i) {
        Connection& c = *self->connections_[i];
        if (!c.busy) continue;
        for (int n = 1; n < drain_batch && !c.closed; ++n)
            if (sd_bus_process(c.bus.get(), nullptr) <= 0) break;
        c.busy = false;
    }
    return 0;
}

int Server::on_listener(sd_event_source*, int, uint32_t, void* userdata) {
    static_cast<Server*>(userdata)->accept_pending();
    return 0;
}

int Server::on_resume_accepting(sd_event_source*, uint64_t, void* userdata) {
    auto* self = static_cast<Server*>(userdata);
    self->resume_source_.reset();
    if (self->listen_source_) sd_event_source_set_enabled(self->listen_source_.get(), SD_EVENT_ON);
    return 0;
}

void Server::pause_accepting() {
    sd_event_source_set_enabled(listen_source_.get(), SD_EVENT_OFF);
    sd_event_source* s = nullptr;
    if (sd_event_add_time_relative(event_, &s, CLOCK_MONOTONIC, accept_pause_usec, 0,
                                   on_resume_accepting, this) >= 0)
        resume_source_.reset(s);
    else
        sd_event_source_set_enabled(listen_source_.get(), SD_EVENT_ON);
}

void Server::accept_pending() {
    for (;;) {
        Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!fd) {
            int e = errno;
            if (e == EAGAIN || e == EWOULDBLOCK) return;
            // The peer gave up before we got to it, or a signal: next one.
            if (e == EINTR || e == ECONNABORTED || e == EPROTO) continue;
            log::warning("accept: {}; pausing for {} ms", std::strerror(e), accept_pause_usec / 1000);
            pause_accepting();
            return;
        }
        ucred peer{};
        socklen_t len = sizeof peer;
        if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0) {
            log::warning("refusing a connection: SO_PEERCRED: {}", std::strerror(errno));
            continue;
        }
        // The socket file's owner and mode are the first gate; this is the second, for
        // whatever got through the first (a socket made too permissive, an inherited fd).
        if (peer.uid != owner_uid_ && peer.uid != 0) {
            log::notice("refusing a connection from pid {} uid {}: only uid {} and root may connect",
                        peer.pid, peer.uid, owner_uid_);
            continue;
        }
        int r = add_connection(std::move(fd), peer);
        if (r < 0)
            log::warning("cannot serve the connection from pid {} uid {}: {}", peer.pid, peer.uid,
                         strerr(r));
    }
}

int Server::add_connection(Fd fd, const ucred& peer) {
    auto c = std::make_unique<Connection>();
    c->server = this;
    c->peer = peer;
    c->unique_name = ":1." + std::to_string(next_peer_++);

    sd_bus* raw = nullptr;
    int r = sd_bus_new(&raw);
    if (r < 0) return r;
    c->bus.reset(raw);
    sd_bus* bus = raw;

    r = sd_bus_set_fd(bus, fd.get(), fd.get());
    if (r < 0) return r;
    (void)fd.release();  // the bus closes it from now on

    // Server mode: we answer the client's SASL exchange (EXTERNAL, checked against the
    // peer's credentials by sd-bus), and no broker stamps senders, so we set ours.
    if ((r = sd_bus_set_server(bus, 1, id_)) < 0) return r;
    if ((r = sd_bus_set_sender(bus, object_sender)) < 0) return r;
    // Every peer that got this far is the owner or root. Without this sd-bus would demand
    // CAP_SYS_ADMIN of the caller for every vtable member not flagged UNPRIVILEGED.
    if ((r = sd_bus_set_trusted(bus, 1)) < 0) return r;
    if ((r = sd_bus_negotiate_fds(bus, 1)) < 0) return r;
    // We flush with a deadline ourselves (close_all); sd-bus' own exit-time flush has none.
    if ((r = sd_bus_set_close_on_exit(bus, 0)) < 0) return r;
    (void)sd_bus_set_description(bus, c->unique_name.c_str());

    r = sd_bus_add_object_vtable(bus, nullptr, object_path, object_.interface_name(),
                                 object_.vtable(), &object_);
    if (r < 0) return r;
    if ((r = add_bus_driver(bus, c.get())) < 0) return r;
    if ((r = sd_bus_add_filter(bus, nullptr, on_incoming, c.get())) < 0) return r;
    // sd-bus reports a closed connection (EOF, I/O error, failed authentication, protocol
    // error) as this local signal; sd_bus_match_signal installs no AddMatch in server mode.
    r = sd_bus_match_signal(bus, nullptr, nullptr, "/org/freedesktop/DBus/Local",
                            "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, c.get());
    if (r < 0) return r;
    if ((r = sd_bus_start(bus)) < 0) return r;
    if ((r = sd_bus_attach_event(bus, event_, SD_EVENT_PRIORITY_NORMAL)) < 0) return r;
    sd_event_source* watch = nullptr;
    if ((r = sd_event_add_post(event_, &watch, on_authenticating, c.get())) < 0) return r;
    c->auth_watch.reset(watch);

    log::debug("serving {} (pid {} uid {})", c->unique_name, peer.pid, peer.uid);
    connections_.push_back(std::move(c));
    return 0;
}

// sd-bus in server mode reads the client's SASL lines in chunks, so the first message a
// client pipelines behind "BEGIN" (gdbus sends BEGIN and Hello in one write) ends up in
// sd-bus' read buffer, not in the socket. sd-bus' event-loop glue then waits for POLLIN
// (sd_bus_get_events/get_timeout only look at the socket and the parsed-message queue), which
// never comes: the client waits for the Hello reply, the server for more input. So until the
// connection is running, this post source (run after every loop iteration that dispatched
// anything) checks, and once it is, processes whatever is buffered, then goes away. Later
// reads never overrun a message, so this is needed only once per connection.
int Server::on_authenticating(sd_event_source*, void* userdata) {
    auto* c = static_cast<Connection*>(userdata);
    sd_bus* bus = c->bus.get();
    if (sd_bus_is_open(bus) > 0) {
        if (sd_bus_is_ready(bus) <= 0) return 0;  // still authenticating
        // Bounded: what was read during authentication holds a few messages at most; after
        // that the socket's POLLIN drives the connection again.
        for (int i = 0; i < 1024 && !c->closed; ++i)
            if (sd_bus_process(bus, nullptr) <= 0) break;
    }
    // (A connection closed meanwhile is freed by on_disconnected.) Freeing a source from its
    // own callback is allowed: sd-event defers it until the dispatch returns.
    c->auth_watch.reset();
    return 0;
}

int Server::on_incoming(sd_bus_message*, void* userdata, sd_bus_error*) {
    auto* c = static_cast<Connection*>(userdata);
    c->heard_from = true;
    c->busy = true;
    return 0;  // on to the object or the bus driver
}

int Server::on_disconnected(sd_bus_message*, void* userdata, sd_bus_error*) {
    auto* c = static_cast<Connection*>(userdata);
    Server* self = c->server;
    log::debug("{} disconnected", c->unique_name);
    c->closed = true;
    // Freeing the bus here would pull it out from under its own sd_bus_process(); a
    // one-shot defer source frees it once this dispatch is over.
    if (!self->reap_source_) {
        sd_event_source* s = nullptr;
        if (sd_event_add_defer(self->event_, &s, on_reap, self) < 0) return 0;  // reaped at exit
        self->reap_source_.reset(s);
    }
    sd_event_source_set_enabled(self->reap_source_.get(), SD_EVENT_ONESHOT);
    return 0;
}

int Server::on_reap(sd_event_source*, void* userdata) {
    auto* self = static_cast<Server*>(userdata);
    std::erase_if(self->connections_, [](const auto& c) { return c->closed; });
    return 0;
}

const Connection* Server::find_peer(std::string_view unique_name) const noexcept {
    for (const auto& c : connections_)
        if (!c->closed && c->unique_name == unique_name) return c.get();
    return nullptr;
}

size_t Server::open_connections() const noexcept {
    return static_cast<size_t>(std::count_if(connections_.begin(), connections_.end(),
                                             [](const auto& c) { return !c->closed; }));
}

void Server::for_each_bus(void (*fn)(sd_bus*, void*), void* userdata) {
    if (std::this_thread::get_id() != loop_thread_)
        throw Error(error_name::failed,
                    "signals can only be emitted on the worker's loop thread, not from a task's "
                    "run() (see offshoot/shapes.hpp)");
    // By index: fn only queues messages, but be safe against a vector that grows meanwhile.
    for (size_t i = 0; i < connections_.size(); ++i) {
        Connection& c = *connections_[i];
        if (!c.closed && c.heard_from && sd_bus_is_open(c.bus.get()) > 0) fn(c.bus.get(), userdata);
    }
}

void Server::close_all(uint64_t flush_timeout_usec) {
    listen_source_.reset();
    resume_source_.reset();
    drain_source_.reset();
    listener_.reset();
    const uint64_t deadline = now_usec() + flush_timeout_usec;
    for (auto& c : connections_) {
        sd_bus* bus = c->bus.get();
        uint64_t queued = 0;
        while (!c->closed && sd_bus_get_n_queued_write(bus, &queued) >= 0 && queued > 0) {
            uint64_t now = now_usec();
            if (now >= deadline) {
                log::warning("{} does not read; dropping {} queued messages", c->unique_name,
                             queued);
                break;
            }
            // sd_bus_process() writes out the queue; it may also dispatch a call that
            // arrived meanwhile, which the still-existing object answers.
            int r = sd_bus_process(bus, nullptr);
            if (r < 0) break;
            if (r == 0 && sd_bus_wait(bus, deadline - now) < 0) break;
        }
        sd_bus_close(bus);
    }
    connections_.clear();
    reap_source_.reset();
}

}  // namespace offshoot::worker

// server.cpp — see server.hpp.
#include "server.hpp"

#include "bus_driver.hpp"
#include "fd_guard.hpp"
#include "startup_error.hpp"

#include "offshoot/common/errors.hpp"
#include "offshoot/common/log.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
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


}  // namespace

void Connection::close() noexcept {
    if (!bus) return;
    // Both must let go of the descriptor before it is closed and its number can be reused: an
    // io source freed later would remove the next connection's socket from the loop's epoll
    // (sd-event unregisters by number), and the guard would watch the wrong stream.
    auth_io.reset();
    if (guarded) fd_guard::unwatch(fd);
    guarded = false;
    // A hang-up ends the object's calls into this peer by itself (sd-bus answers each with
    // NoReply); closing it from this side does not, so the SDK ends them.
    offshoot::detail::fail_calls_on(bus.get(), "the worker closed the connection");
    sd_bus_close(bus.get());
}

Server::Server(sd_event* event, Fd listener, uid_t owner_uid, Object& object, ServerLimits limits)
    : event_(event), listener_(std::move(listener)), owner_uid_(owner_uid), object_(object), limits_(limits) {
    // One id per server, as D-Bus means it: it names the address, not the connection.
    if (sd_id128_randomize(&id_) < 0) id_ = SD_ID128_NULL;
    char hex[SD_ID128_STRING_MAX];
    id_hex_ = sd_id128_to_string(id_, hex);
}

Server::~Server() = default;

void Server::verify_object(Object& object) {
    sd_bus* raw = nullptr;
    int r = sd_bus_new(&raw);
    if (r < 0) throw StartupError("register", -r, "sd_bus_new: " + errno_text(r));
    BusPtr scratch(raw);
    r = sd_bus_add_object_vtable(scratch.get(), nullptr, object_path, object.interface_name(),
                                 object.vtable(), &object);
    if (r < 0)
        throw StartupError("register", -r,
                           std::string("cannot register interface ") + object.interface_name() +
                               " at " + object_path + ": " + errno_text(r) +
                               (r == -EINVAL ? " (invalid interface name or vtable)" : ""));
}

bool Server::uses_fds(const Object& object) {
    auto has_fd = [](const char* signature) { return signature && std::strchr(signature, 'h'); };
    for (const sd_bus_vtable* v = object.vtable(); v && v->type != _SD_BUS_VTABLE_END; ++v) {
        switch (v->type) {
        case _SD_BUS_VTABLE_METHOD:
            if (has_fd(v->x.method.signature) || has_fd(v->x.method.result)) return true;
            break;
        case _SD_BUS_VTABLE_SIGNAL:
            if (has_fd(v->x.signal.signature)) return true;
            break;
        case _SD_BUS_VTABLE_PROPERTY:
        case _SD_BUS_VTABLE_WRITABLE_PROPERTY:
            if (has_fd(v->x.property.signature)) return true;
            break;
        default:
            break;
        }
    }
    return false;
}

void Server::listen() {
    int flags = ::fcntl(listener_.get(), F_GETFL);
    if (flags < 0 || ::fcntl(listener_.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
        int e = errno;
        throw StartupError("listen", e, "fcntl(O_NONBLOCK): " + errno_text(e));
    }
    sd_event_source* s = nullptr;
    int r = sd_event_add_io(event_, &s, listener_.get(), EPOLLIN, on_listener, this);
    if (r < 0) throw StartupError("listen", -r, "sd_event_add_io: " + errno_text(r));
    listen_source_.reset(s);
    s = nullptr;
    r = sd_event_add_post(event_, &s, on_drain, this);
    if (r < 0) throw StartupError("listen", -r, "sd_event_add_post: " + errno_text(r));
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
    // Only the connections that received something (on_incoming): the work per wake-up does not
    // grow with the number of idle connections.
    std::vector<Connection*> busy;
    busy.swap(self->busy_);
    for (Connection* c : busy) {
        for (int n = 1; n < drain_batch && !c->closed; ++n)
            if (!self->process(*c)) break;
        c->busy = false;
    }
    return 0;
}

// sd_bus_process() on a connection, outside sd-bus's own event glue. The glue closes a
// connection whose processing fails; called from here, a failure (EIO for descriptors where
// none were negotiated, EBADMSG from fd_guard, a protocol error) would leave it open and
// deaf, so it is closed here. True while there is more to do.
bool Server::process(Connection& c) {
    const int r = sd_bus_process(c.bus.get(), nullptr);
    if (r < 0) {
        drop(c, r == -EBADMSG ? "it sent an invalid message" : "processing its messages failed");
        return false;
    }
    return r > 0 && !c.closed;
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
            log::warning("accept: {}; pausing for {} ms", errno_text(e), accept_pause_usec / 1000);
            pause_accepting();
            return;
        }
        ucred peer{};
        socklen_t len = sizeof peer;
        if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0) {
            log::warning("refusing a connection: SO_PEERCRED: {}", errno_text(errno));
            continue;
        }
        // The socket file's owner and mode are the first gate; this is the second, for
        // whatever got through the first (a socket made too permissive, an inherited fd).
        if (peer.uid != owner_uid_ && peer.uid != 0) {
            log::notice("refusing a connection from pid {} uid {}: only uid {} and root may connect",
                        peer.pid, peer.uid, owner_uid_);
            continue;
        }
        if (open_connections() >= limits_.max_connections) {
            // Said once, then every 100th time: a client retrying in a loop must not flood the log.
            if (refused_++ % 100 == 0)
                log::warning("refusing a connection from pid {} uid {}: {} connections are open, the class's "
                             "limit (MaxConnections=); {} refused so far",
                             peer.pid, peer.uid, limits_.max_connections, refused_);
            continue;
        }
        if (authenticating_.size() >= limits_.max_authenticating)
            drop(*authenticating_.front(), "the oldest of too many connections still authenticating");
        int r = add_connection(std::move(fd), peer);
        if (r < 0)
            log::warning("cannot serve the connection from pid {} uid {}: {}", peer.pid, peer.uid,
                         errno_text(r));
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

    if (limits_.pass_fds) {
        if (!fd_guard::watch(fd.get())) return -EMFILE;
        c->guarded = true;
        c->fd = fd.get();
    }
    r = sd_bus_set_fd(bus, fd.get(), fd.get());
    if (r < 0) {
        if (c->guarded) fd_guard::unwatch(fd.get());
        c->guarded = false;
        return r;
    }
    c->fd = fd.release();  // the bus closes it from now on

    // Server mode: we answer the client's SASL exchange (EXTERNAL, checked against the
    // peer's credentials by sd-bus), and no broker stamps senders, so we set ours.
    if ((r = sd_bus_set_server(bus, 1, id_)) < 0) return r;
    if ((r = sd_bus_set_sender(bus, object_sender)) < 0) return r;
    // Every peer that got this far is the owner or root. Without this sd-bus would demand
    // CAP_SYS_ADMIN of the caller for every vtable member not flagged UNPRIVILEGED.
    if ((r = sd_bus_set_trusted(bus, 1)) < 0) return r;
    // Descriptors only where the interface has them (fd_guard.hpp): elsewhere sd-bus closes
    // any that arrive, and the connection with them.
    if ((r = sd_bus_negotiate_fds(bus, limits_.pass_fds)) < 0) return r;
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
    uint64_t now = 0;
    (void)sd_event_now(event_, CLOCK_MONOTONIC, &now);
    c->auth_deadline_usec = now + limits_.auth_timeout_usec;
    c->authenticating = true;
    c->auth_position = authenticating_.insert(authenticating_.end(), c.get());
    if (authenticating_.size() == 1) arm_auth_deadline();

    log::debug("serving {} (pid {} uid {})", c->unique_name, peer.pid, peer.uid);
    Connection& added = *c;
    connections_.push_back(std::move(c));
    // sd_bus_start() may already have read what the client sent (busctl sends its whole SASL
    // exchange at once) without answering it: the socket will not become readable again until
    // it does, so take the first step now. It adds the io source if the exchange must wait.
    authenticate(added);
    return 0;
}

// The SASL exchange runs on an io source of the server's own rather than on sd-bus's event
// glue, for two reasons. sd-bus in server mode reads the client's SASL lines in chunks, so a
// first message pipelined behind "BEGIN" (gdbus sends BEGIN and Hello in one write) ends up in
// sd-bus' read buffer, not in the socket, where sd-bus' glue (which only polls the socket)
// would never look: start_running() processes it. And each connection's work happens only
// when its own socket is ready — nothing runs per idle connection on every wake-up, as a
// post source per connection did (1,100 idle connections kept the worker at 100 % CPU).
int Server::on_auth_io(sd_event_source*, int, uint32_t, void* userdata) {
    auto* c = static_cast<Connection*>(userdata);
    c->server->authenticate(*c);
    return 0;
}

void Server::authenticate(Connection& c) {
    sd_bus* bus = c.bus.get();
    // Off epoll before sd-bus runs: sd_bus_process() closes the socket when the peer hangs up or
    // its exchange fails, and a registration outlives close() while another process holds the
    // socket — a child the class forks during a call dispatched below has a copy of every
    // descriptor. Removed after the close, epoll_ctl(DEL) would meet a closed number (EBADF)
    // and leave the socket registered under a source about to be freed; sd-event aborts when
    // epoll hands that back (process_epoll, "Code should not be reached"). Disabling it now
    // unregisters it while the number is still the socket; it is enabled again below if the
    // exchange must wait.
    if (c.auth_io) (void)sd_event_source_set_enabled(c.auth_io.get(), SD_EVENT_OFF);
    int r = 0;
    // sd_bus_process() answers what is buffered one step at a time: on while it makes progress.
    for (int i = 0; i < 16 && !c.closed; ++i)
        if ((r = sd_bus_process(bus, nullptr)) <= 0) break;
    if (c.closed) return;
    if (r < 0 || sd_bus_is_open(bus) <= 0) {
        drop(c, "its authentication failed");
        return;
    }
    if (sd_bus_is_ready(bus) > 0) {
        start_running(c);
        return;
    }
    const int events = sd_bus_get_events(bus);
    if (events < 0) {
        drop(c, "sd-bus cannot say what it waits for");
        return;
    }
    if (!c.auth_io) {
        sd_event_source* io = nullptr;
        if (sd_event_add_io(event_, &io, c.fd, static_cast<uint32_t>(events), on_auth_io, &c) < 0) {
            drop(c, "sd_event_add_io failed");
            return;
        }
        c.auth_io.reset(io);
        return;
    }
    if (sd_event_source_set_io_events(c.auth_io.get(), static_cast<uint32_t>(events)) < 0 ||
        sd_event_source_set_enabled(c.auth_io.get(), SD_EVENT_ON) < 0)
        drop(c, "the loop cannot watch its socket");
}

void Server::start_running(Connection& c) {
    leave_authentication(c);
    c.auth_io.reset();  // allowed inside its own callback: sd-event defers the free
    int r = sd_bus_attach_event(c.bus.get(), event_, SD_EVENT_PRIORITY_NORMAL);
    if (r < 0) {
        drop(c, "sd_bus_attach_event failed");
        return;
    }
    // Bounded: what was read during authentication holds a few messages at most; after that
    // the socket's POLLIN drives the connection.
    for (int i = 0; i < drain_batch && !c.closed; ++i)
        if (!process(c)) break;
}

void Server::leave_authentication(Connection& c) {
    if (!c.authenticating) return;
    const bool was_first = authenticating_.front() == &c;
    authenticating_.erase(c.auth_position);
    c.authenticating = false;
    if (was_first) arm_auth_deadline();
}

void Server::arm_auth_deadline() {
    if (authenticating_.empty()) {
        if (auth_timer_) (void)sd_event_source_set_enabled(auth_timer_.get(), SD_EVENT_OFF);
        return;
    }
    const uint64_t at = authenticating_.front()->auth_deadline_usec;
    if (!auth_timer_) {
        sd_event_source* t = nullptr;
        if (sd_event_add_time(event_, &t, CLOCK_MONOTONIC, at, 1000, on_auth_deadline, this) < 0) return;
        auth_timer_.reset(t);
        return;
    }
    (void)sd_event_source_set_time(auth_timer_.get(), at);
    (void)sd_event_source_set_enabled(auth_timer_.get(), SD_EVENT_ONESHOT);
}

int Server::on_auth_deadline(sd_event_source*, uint64_t now, void* userdata) {
    auto* self = static_cast<Server*>(userdata);
    // Oldest first, and all with the same timeout: the expired ones are at the front.
    while (!self->authenticating_.empty() && self->authenticating_.front()->auth_deadline_usec <= now)
        self->drop(*self->authenticating_.front(), "it did not authenticate in time");
    self->arm_auth_deadline();
    return 0;
}

void Server::drop(Connection& c, const char* why) {
    if (c.closed) return;
    log::debug("closing {} (pid {} uid {}): {}", c.unique_name, c.peer.pid, c.peer.uid, why);
    monitors_.forget(c);
    leave_authentication(c);
    c.auth_io.reset();
    c.closed = true;
    c.close();
    schedule_reap();
}

void Server::schedule_reap() {
    if (!reap_source_) {
        sd_event_source* s = nullptr;
        if (sd_event_add_defer(event_, &s, on_reap, this) < 0) return;  // reaped at exit
        reap_source_.reset(s);
    }
    sd_event_source_set_enabled(reap_source_.get(), SD_EVENT_ONESHOT);
}

int Server::on_incoming(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto* c = static_cast<Connection*>(userdata);
    c->heard_from = true;
    if (!c->busy) {
        c->busy = true;
        c->server->busy_.push_back(c);
    }
    // Copies for the monitors; a monitor that sends anything is closed, as on a bus (closing
    // is allowed here: the bus is freed later, by on_reap). sd-bus's own local messages
    // (Disconnected) pass through filters too: they are no traffic.
    Server* self = c->server;
    const char* path = sd_bus_message_get_path(m);
    const bool local = path && std::strcmp(path, "/org/freedesktop/DBus/Local") == 0;
    if (self->monitors_.any() && !local && !self->monitors_.incoming(*c, m)) {
        self->drop(*c, "a monitor sent a message");
        return 1;  // and it is not dispatched
    }
    return 0;  // on to the object or the bus driver
}

int Server::on_disconnected(sd_bus_message*, void* userdata, sd_bus_error*) {
    auto* c = static_cast<Connection*>(userdata);
    Server* self = c->server;
    log::debug("{} disconnected", c->unique_name);
    self->monitors_.forget(*c);
    c->closed = true;
    self->leave_authentication(*c);
    // sd-bus has closed the socket already (process_closing); the authentication's io source
    // (off epoll since authenticate() called sd-bus) and the guard's stream must go now, before
    // accept() can hand out the same number again (Connection::close): left to the reaper, the
    // guard's unwatch would remove the stream of the next connection given that number, whose
    // descriptors would then go unguarded.
    c->auth_io.reset();
    if (c->guarded) fd_guard::unwatch(c->fd);
    c->guarded = false;
    // Freeing the bus here would pull it out from under its own sd_bus_process(); a
    // one-shot defer source frees it once this dispatch is over.
    self->schedule_reap();
    return 0;
}

int Server::on_reap(sd_event_source*, void* userdata) {
    auto* self = static_cast<Server*>(userdata);
    std::erase_if(self->busy_, [](const Connection* c) { return c->closed; });
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
    // The peers' sends are not copied to monitors one by one: they get one emission of their
    // own afterwards, which the send hook hands to each of them (monitor.hpp).
    monitors_.begin_broadcast();
    for (size_t i = 0; i < connections_.size(); ++i) {
        Connection& c = *connections_[i];
        if (!c.closed && !c.monitor && c.heard_from && sd_bus_is_open(c.bus.get()) > 0) fn(c.bus.get(), userdata);
    }
    monitors_.end_broadcast();
    if (sd_bus* capture = monitors_.capture_bus()) {
        monitors_.set_capture(capture);
        fn(capture, userdata);
        monitors_.set_capture(nullptr);
    }
}

std::string Server::peer_name(sd_bus* bus) const {
    for (const auto& c : connections_)
        if (c->bus.get() == bus) return c->said_hello ? c->unique_name : std::string();
    return {};
}

void Server::close_all(uint64_t flush_timeout_usec) {
    listen_source_.reset();
    resume_source_.reset();
    drain_source_.reset();
    auth_timer_.reset();
    listener_.reset();
    authenticating_.clear();
    busy_.clear();
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
        c->close();
    }
    connections_.clear();
    reap_source_.reset();
}

}  // namespace offshoot::worker

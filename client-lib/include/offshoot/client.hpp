// offshoot/client.hpp — liboffshoot-client: spawn instances of offshoot classes and use them
// through generated sdbus-c++ proxies, as if they were local objects.
//
//     auto sup = offshoot::Supervisor::system();
//     auto counter = offshoot::make_bridge<CounterProxy>(sup, "Counter", 65534);
//     counter->Increment(5);                // runs in its own process, as uid 65534
//     // end of scope: the private connection closes, then the instance is stopped
//
// Threads: a Supervisor runs its bus connection's event loop on a thread of its own (it
// delivers the Exited signals behind Instance::on_exit); every Connected<P> has one for its
// private connection's signals and async replies, while synchronous calls run on the caller's
// thread (client/connected.hpp: calls_only has no thread, with_callbacks the classic loop).
// Calls may be made from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "offshoot/client/connected.hpp"
#include "offshoot/client/names.hpp"
#include "offshoot/client/options.hpp"
#include "offshoot/client/remote.hpp"
#include "offshoot/sealed_memfd.hpp"   // big payloads as a sealed memfd ('h')
#include "offshoot/shared_buffer.hpp"  // … or in a reused memfd ('h')

namespace offshoot {

namespace detail {
struct SupervisorLink;  // the supervisor connection, shared by a Supervisor and its Instances
struct InstanceHandle;
}  // namespace detail

// How long Spawn/Start may take before the call fails (the worker must report readiness).
inline constexpr std::chrono::seconds spawn_timeout{30};

// An instance handle (/org/offshoot1/instance/<id>), owned RAII-style: the destructor stops the
// instance and releases its handle unless release() or detach() was called — the context
// manager of the Python libraries offshoot replaces. Move-only. Every accessor asks offshootd
// (properties of org.offshoot1.Instance) and throws Error on failure. Like a std::unique_ptr,
// one Instance is for one thread at a time; the instance's proxies may be used from any thread.
class Instance {
public:
    Instance() noexcept;  // empty
    Instance(Instance&&) noexcept;
    Instance& operator=(Instance&&) noexcept;  // stops the instance held before
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;
    ~Instance();  // Stop + Release, errors swallowed (destructors don't throw)

    explicit operator bool() const noexcept { return handle_ != nullptr; }

    const std::string& path() const;  // the handle's object path (no call)
    uint64_t id() const;
    std::string class_name() const;
    std::string address() const;  // private D-Bus address; empty unless running
    uint32_t pid() const;
    uint32_t uid() const;
    uint32_t gid() const;
    std::vector<uint32_t> groups() const;
    std::string cwd() const;
    std::string state() const;   // created, running, stopping, exited, failed, restarting
    std::string result() const;  // empty while running (see ExitStatus)
    int exit_code() const;
    int exit_signal() const;
    std::string owner() const;
    uint32_t n_restarts() const;         // NRestarts: automatic restarts since Spawn/Start
    std::string restart_policy() const;  // Restart: the policy in effect ("no", "on-failure", …)

    // Starts a created or finished instance: a fresh process (new pid and address).
    void start();
    // Stops the process; returns when it is gone.
    void stop();
    // Sends a signal to the process.
    void kill(int signal);
    // Returns when the process is gone (at once if it already is), with how it ended.
    ExitStatus wait();
    // Forgets the handle on the daemon (stopping a running instance first). Leaves this empty.
    void release();
    // Hands the instance over: this becomes empty and nothing is stopped. Returns the handle's
    // path (Supervisor::adopt takes it back). An instance spawned with tie_to_caller still
    // ends when the Supervisor's connection closes.
    std::string detach();

    // Calls `callback` each time the process ends, with the Exited signal's status: on the
    // Supervisor's event-loop thread, or at once on this thread if it has already ended.
    // Keep the callback short; don't destroy this Instance from inside it.
    void on_exit(std::function<void(const ExitStatus&)> callback);
    // Calls `callback` each time the restart policy has restarted the instance and the new
    // worker is ready (the Restarted signal), on the Supervisor's event-loop thread. A proxy
    // on the old worker fails its calls from then on: its connection is closed. It is not
    // reconnected behind your back — a generated proxy is bound to its connection for life
    // (sdbus-c++ 1.2 cannot move one) and your proxy class may hold state of its own — so make
    // a new one: proxy<P>() again, or Bridge::reconnect() (docs/lifecycle.md, "Restart").
    void on_restart(std::function<void(const RestartInfo&)> callback);

    // A generated proxy P on the instance's object, over a new private connection to its
    // address, with signals delivered (see client/connected.hpp for the shape of P).
    // Extra arguments go to P's constructor after (connection, destination, path).
    template <class P, class... Extra>
    Connected<P> proxy(Extra&&... extra) const {
        return Connected<P>(open_private_connection(), names::object_name, names::object_path,
                            std::forward<Extra>(extra)...);
    }
    // The same without a thread: no signals, no async replies (calls_only_t).
    template <class P, class... Extra>
    Connected<P> proxy(calls_only_t, Extra&&... extra) const {
        return Connected<P>(calls_only, open_private_connection(), names::object_name,
                            names::object_path, std::forward<Extra>(extra)...);
    }
    // The same with sdbus-c++'s classic loop, for objects the caller exports (with_callbacks_t).
    template <class P, class... Extra>
    Connected<P> proxy(with_callbacks_t, Extra&&... extra) const {
        return Connected<P>(with_callbacks, open_private_connection(), names::object_name,
                            names::object_path, std::forward<Extra>(extra)...);
    }

private:
    friend class Supervisor;
    explicit Instance(std::unique_ptr<detail::InstanceHandle> handle) noexcept;
    detail::InstanceHandle& handle() const;
    std::unique_ptr<sdbus::IConnection> open_private_connection() const;

    std::unique_ptr<detail::InstanceHandle> handle_;
};

// A connection to offshootd (org.offshoot1 at /org/offshoot1). Cheap to copy: copies share the
// connection, and so do the Instances spawned through it (tie_to_caller ties them to it).
class Supervisor {
public:
    static Supervisor system();
    static Supervisor session();
    static Supervisor at(const std::string& address);  // e.g. a private dbus-daemon
    // offshootd on another host's system bus, over ssh (what `busctl -H` does): host is
    // [user@]host[:port]. Instances spawned through it get proxies tunnelled through ssh too;
    // the login user is the caller offshootd sees (client/remote.hpp).
    static Supervisor remote(const std::string& host);
    // Adopts a bus connection whose event loop is not running yet (this runs it).
    explicit Supervisor(std::unique_ptr<sdbus::IConnection> connection);

    // Spawn as `uid` (the user's groups; tie_to_caller true: sent as SpawnWithOptions).
    Instance spawn(const std::string& class_name, uint32_t uid);
    Instance spawn(const std::string& class_name, const SpawnOptions& options);
    // Takes ownership of an existing handle (e.g. one detach()ed, or spawned by busctl).
    Instance adopt(const std::string& instance_path);

    std::vector<ClassInfo> classes() const;
    std::vector<InstanceInfo> instances() const;
    std::string version() const;
    uint32_t instance_count() const;

    sdbus::IConnection& connection() const;
    // The ssh destination of remote(), "" for a local bus.
    const std::string& host() const;

private:
    std::shared_ptr<detail::SupervisorLink> link_;
};

// An instance and a ready proxy on it, in one object: what "cross process bridge" gives in
// Python. Destroyed in order: private connection first, then the instance is stopped.
template <class P>
class Bridge {
public:
    Bridge(Instance instance, Connected<P> connected) noexcept
        : instance_(std::move(instance)), connected_(std::move(connected)) {}
    Bridge(Bridge&&) noexcept = default;
    Bridge& operator=(Bridge&& other) noexcept {
        if (this != &other) {
            connected_ = std::move(other.connected_);
            instance_ = std::move(other.instance_);
        }
        return *this;
    }
    ~Bridge() { connected_.reset(); }

    P& operator*() const noexcept { return *connected_; }
    CallScope<P> operator->() const { return connected_.operator->(); }  // see Connected
    P& proxy() const noexcept { return *connected_; }
    // Connected's per-call timeout and call() (docs/timeouts.md).
    CallScope<P> with_timeout(std::chrono::microseconds timeout) const {
        return connected_.with_timeout(timeout);
    }
    template <class... Args>
    decltype(auto) call(Args&&... args) const {
        return connected_.call(std::forward<Args>(args)...);
    }
    Instance& instance() noexcept { return instance_; }
    const Instance& instance() const noexcept { return instance_; }
    Connected<P>& connected() noexcept { return connected_; }
    // A new private connection and proxy, for an instance its restart policy restarted (the
    // old proxy's connection is closed; Instance::on_restart says when). Give the arguments
    // make_bridge got after the options (calls_only, with_callbacks, P's own); the old proxy
    // and its thread go first. Not while another thread calls through this Bridge.
    template <class... Extra>
    void reconnect(Extra&&... extra) {
        connected_.reset();
        connected_ = instance_.proxy<P>(std::forward<Extra>(extra)...);
    }

private:
    Instance instance_;
    Connected<P> connected_;  // declared last: closed first
};

// Spawns `class_name` and returns it with a ready proxy P.
template <class P, class... Extra>
Bridge<P> make_bridge(Supervisor& supervisor, const std::string& class_name,
                      const SpawnOptions& options, Extra&&... extra) {
    Instance instance = supervisor.spawn(class_name, options);
    auto connected = instance.proxy<P>(std::forward<Extra>(extra)...);
    return Bridge<P>(std::move(instance), std::move(connected));
}

template <class P, class... Extra>
Bridge<P> make_bridge(Supervisor& supervisor, const std::string& class_name, uint32_t uid,
                      Extra&&... extra) {
    return make_bridge<P>(supervisor, class_name, SpawnOptions{.uid = uid},
                          std::forward<Extra>(extra)...);
}

}  // namespace offshoot

// offshoot/caller.hpp — calling back into the caller: objects the peer exports on its own side
// of the private connection (a progress sink, a shared collection), reached through a typed
// proxy generated from their XML.
//
// A peer connection is symmetric: the client that calls the instance may serve objects on the
// same connection, and the instance may call them. Inside a method (on the loop thread),
// Object::caller() names the connection the call came in on; a proxy generated with
// offshoot_add_peer_proxy(<target> <xml>) — header <interface>_peer.hpp, class
// <ns>::<Name>_peer — calls the object at a path of that connection:
//
//     void Walk(offshoot::Result<uint32_t> result, const std::string& dir,
//               const sdbus::ObjectPath& sink) override {
//         Sink_peer peer(caller(), sink);            // in the method's body: the loop thread
//         std::thread([peer = std::move(peer), result = std::move(result)]() mutable {
//             peer.Entry("a");                         // waits for the reply, loop keeps serving
//             result.return_value(1);
//         }).detach();
//     }
//
// Each method of the proxy comes in two forms. M(args…) waits for the reply and returns its
// values (void, T or std::tuple<T…>), throwing offshoot::Error for an error reply; it must not
// be called on the loop thread (it would stop the loop it waits for) and throws if it is.
// M(args…, done) sends the call and returns at once; done(const offshoot::Error* error,
// values…) runs later on the loop thread, exactly once. Either form may be used from any
// thread; the call itself is always made by the loop thread, which goes on serving every
// connection while the reply is outstanding.
//
// Every call is bounded (set_timeout(); default 25 s, sd-bus's own default) and ends exactly
// once, whatever the caller does:
//   - it answers: its values, or its error as it sent it (name and message);
//   - it does not answer in time: org.offshoot1.Error.Timeout;
//   - its connection closes first, or was closed already (the caller exited, crashed or hung
//     up; the worker dropped it; the worker is exiting):
//     org.freedesktop.DBus.Error.Disconnected.
// So a method that calls back never hangs on a caller that has gone.
//
// Who is called: the peer of that connection, whoever it is — the instance's owner or root
// (the worker admits no one else), or whoever reached the socket through a bridge such as
// systemd-stdio-bridge over ssh. Treat what it answers as input from that peer.
#pragma once

#include <offshoot/error.hpp>
#include <offshoot/marshal.hpp>

#include <systemd/sd-bus.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace offshoot {

class LoopExecutor;
class Object;

namespace detail {

struct CallerState;

// The call being handled on this thread: set by the generated method handlers for the time the
// method runs (Object::caller() reads it).
class CurrentCall {
public:
    explicit CurrentCall(sd_bus_message* call) noexcept;
    ~CurrentCall();
    CurrentCall(const CurrentCall&) = delete;
    CurrentCall& operator=(const CurrentCall&) = delete;
    static sd_bus_message* get() noexcept;

private:
    sd_bus_message* previous_;
};

// For the worker, when it closes a connection itself (sd_bus_close does not end the calls in
// flight on it the way a hang-up does): every call this side made on `bus` ends with
// org.freedesktop.DBus.Error.Disconnected. Loop thread only.
void fail_calls_on(sd_bus* bus, const char* why) noexcept;

// What a blocking call returns for its out-values: void, T, or std::tuple<T…>.
template <class... Out>
struct Returned {
    using type = std::tuple<Out...>;
    static type from(std::tuple<Out...>&& t) { return std::move(t); }
};
template <>
struct Returned<> {
    using type = void;
    static void from(std::tuple<>&&) {}
};
template <class T>
struct Returned<T> {
    using type = T;
    static T from(std::tuple<T>&& t) { return std::move(std::get<0>(t)); }
};

// A blocking call's meeting point with the loop thread, which completes it.
template <class... Out>
struct Waiter {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    std::optional<Error> error;
    std::tuple<Out...> values;

    void complete(const Error* e, std::tuple<Out...> v) {
        std::lock_guard lock(mutex);
        if (e) error.emplace(*e);
        else values = std::move(v);
        done = true;
        cv.notify_all();
    }
    // False at the deadline.
    bool wait_until(std::chrono::steady_clock::time_point deadline) {
        std::unique_lock lock(mutex);
        return cv.wait_until(lock, deadline, [this] { return done; });
    }
};

}  // namespace detail

// Called back with the outcome of an asynchronous call, on the worker's loop thread: `error`
// is null on success (the values are then the reply's), else the values are default-made.
template <class... Out>
using ReplyHandler = std::function<void(const Error* error, const Out&... values)>;

// The connection a call came in on, kept so that its peer's objects can be called later. Cheap
// to copy; usable from any thread; holds the connection (not the peer) until the last copy goes.
class Caller {
public:
    Caller() = default;  // empty: every call through it fails with Disconnected
    explicit operator bool() const noexcept { return state_ != nullptr; }
    // The name the peer was given when it said Hello (":1.3"), or "" (a peer that did not).
    const std::string& peer_name() const noexcept;

private:
    friend class Object;
    friend class PeerProxy;
    explicit Caller(std::shared_ptr<detail::CallerState> state) noexcept : state_(std::move(state)) {}
    std::shared_ptr<detail::CallerState> state_;
};

// The base of every generated <Name>_peer: an object at `object_path` on a caller's connection.
class PeerProxy {
public:
    // sd-bus's default method-call timeout.
    static constexpr std::chrono::microseconds default_timeout = std::chrono::seconds(25);

    PeerProxy(Caller caller, std::string object_path, const char* interface);

    // How long each later call may take before it fails with org.offshoot1.Error.Timeout
    // (more than zero).
    void set_timeout(std::chrono::microseconds timeout);
    std::chrono::microseconds timeout() const noexcept { return timeout_; }
    const std::string& object_path() const noexcept { return path_; }
    const char* interface() const noexcept { return interface_; }
    const Caller& caller() const noexcept { return caller_; }

protected:
    // The generated methods' two forms (see the top of this file).
    template <class... Out, class... In>
    void call_async(const char* member, std::type_identity_t<ReplyHandler<Out...>> done, const In&... in) {
        start(member, [in...]([[maybe_unused]] sd_bus_message* m) { (marshal::append(m, in), ...); },
              [done = std::move(done)]([[maybe_unused]] sd_bus_message* reply, const Error* error) {
                  std::tuple<Out...> values;
                  std::optional<Error> bad_reply;
                  if (!error) {
                      try {
                          std::apply([&](Out&... v) { (marshal::read(reply, v), ...); }, values);
                      } catch (const Error& e) {
                          bad_reply.emplace(e);
                          error = &*bad_reply;
                      }
                  }
                  std::apply([&](const Out&... v) { done(error, v...); }, values);
              });
    }

    template <class... Out, class... In>
    typename detail::Returned<Out...>::type call(const char* member, const In&... in) {
        refuse_on_loop_thread(member);
        auto waiter = std::make_shared<detail::Waiter<Out...>>();
        call_async<Out...>(
            member,
            [waiter](const Error* error, const Out&... values) {
                waiter->complete(error, std::tuple<Out...>(values...));
            },
            in...);
        if (!waiter->wait_until(wait_deadline())) throw_loop_late(member);
        if (waiter->error) throw *waiter->error;
        return detail::Returned<Out...>::from(std::move(waiter->values));
    }

    // A method annotated NoReply: sent, never answered.
    template <class... In>
    void send(const char* member, const In&... in) {
        start(member, [in...]([[maybe_unused]] sd_bus_message* m) { (marshal::append(m, in), ...); }, nullptr);
    }

private:
    // Builds the call (fill appends the arguments) and sends it from the loop thread (now, if
    // this is it); done(reply, nullptr) or done(nullptr, error) runs there once. Without done
    // the call expects no reply.
    void start(const char* member, std::function<void(sd_bus_message*)> fill,
               std::function<void(sd_bus_message* reply, const Error* error)> done);
    void refuse_on_loop_thread(const char* member) const;
    // The blocking form waits a little longer than the call's own timeout: the loop thread ends
    // the call, and may be busy with something else when the timeout passes.
    std::chrono::steady_clock::time_point wait_deadline() const;
    [[noreturn]] void throw_loop_late(const char* member) const;

    Caller caller_;
    std::string path_;
    const char* interface_;
    std::chrono::microseconds timeout_ = default_timeout;
};

}  // namespace offshoot

// offshoot/client/connected.hpp — a generated sdbus-c++ proxy on a connection of its own: the
// connection's signals and asynchronous replies delivered on a thread of its own, synchronous
// calls sent and answered on the caller's thread (the default) — or, with calls_only, no thread
// at all; or, with with_callbacks, sdbus-c++'s classic loop thread, which also serves objects
// the caller exports on the connection while a call waits.
//
// This is how a client talks to an instance: over the instance's PRIVATE peer-to-peer address,
// not through a bus broker. Instance::proxy<P>() (client.hpp) builds one of these; connect<P>()
// below does the same for any address (e.g. one read from busctl).
//
// P is the user's proxy class, written as the sdbus-c++ documentation shows:
//
//     class CounterProxy final
//         : public sdbus::ProxyInterfaces<org::offshoot1::example::Counter_proxy> {
//     public:
//         CounterProxy(sdbus::IConnection& c, std::string destination, std::string path)
//             : ProxyInterfaces(c, std::move(destination), std::move(path)) { registerProxy(); }
//         ~CounterProxy() { unregisterProxy(); }
//     private:
//         void onChanged(const int64_t& value) override { … }  // runs on the delivery thread
//     };
//
// Call through operator->: `connected->Increment(5)`. That is what makes the default fast (the
// delivery thread stands aside for the call's duration, see CallScope) and what per-call
// timeouts ride on; a call through a plain P& (operator*, get()) is still correct, only slower
// (the reply also wakes the delivery thread). Timeouts: docs/timeouts.md.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <sdbus-c++/sdbus-c++.h>

#include "offshoot/client/arrays.hpp"
#include "offshoot/client/names.hpp"

namespace offshoot {

// Runs one connection's event loop on a thread of its own, like
// IConnection::enterEventLoopAsync(), with one difference that matters here: when the peer goes
// away (a worker that crashed or was stopped), sdbus-c++ 1.2 lets the loop's exception escape
// its thread, which calls std::terminate and kills the whole client. Here the loop just ends:
// calls in flight have already failed with org.freedesktop.DBus.Error.NoReply, and later calls
// fail with an offshoot::Error. A synchronous call from another thread is handed to this
// thread (sdbus-c++ sends it asynchronously and waits for the loop to pass the reply back):
// two thread switches per call. Objects exported on the connection are served by this thread;
// a call that the instance answers by calling them must itself be sent asynchronously
// (callMethodAsync): a synchronous one was measured to wait out its timeout (docs/timeouts.md).
class EventLoopThread {
public:
    explicit EventLoopThread(sdbus::IConnection& connection);
    ~EventLoopThread();  // leaves the loop and joins the thread
    EventLoopThread(const EventLoopThread&) = delete;
    EventLoopThread& operator=(const EventLoopThread&) = delete;

    // True once the loop has ended because the connection broke.
    [[nodiscard]] bool disconnected() const noexcept { return disconnected_.load(); }

private:
    sdbus::IConnection& connection_;
    std::atomic<bool> disconnected_{false};
    std::thread thread_;
};

// Delivers a connection's signals and asynchronous replies on a thread of its own while
// synchronous calls are sent and answered on the caller's thread (sdbus-c++ does that whenever
// no thread is inside enterEventLoop()). The thread watches the connection's socket with epoll
// and runs sdbus-c++'s loop only for a moment when something arrived: sdbus-c++ takes its
// connection lock for that moment as it does for its own loop, so a handler may call the
// proxy. A CallScope (Connected's operator->) first takes the socket out of the thread's epoll
// set — without waking the thread — so the reply wakes only the caller; what arrived during
// the call (signals, async replies) is delivered right after it. The scope holds the socket on
// a 1 ms lease: past it (a long call, or a scope that waits for a signal) the thread watches
// the socket again.
class DeliveryThread {
public:
    explicit DeliveryThread(sdbus::IConnection& connection);
    ~DeliveryThread();  // stops and joins the thread
    DeliveryThread(const DeliveryThread&) = delete;
    DeliveryThread& operator=(const DeliveryThread&) = delete;

    // True once the thread has ended because the connection broke.
    [[nodiscard]] bool disconnected() const noexcept;
    // True on the delivery thread itself (in a signal handler or an async reply's callback).
    [[nodiscard]] bool on_this_thread() const noexcept;

    // A synchronous call from this thread is about to start: the thread stands aside (never
    // waits). False when there is nothing to do (called from the delivery thread itself, e.g.
    // in a signal handler, or the connection has broken).
    bool begin_call();
    // It has ended: the socket goes back to the delivery thread (woken if something is queued).
    void end_call() noexcept;

    struct State;

private:
    std::unique_ptr<State> state_;
};

// Asks for a Connected<P> without any thread: pass offshoot::calls_only first to Connected's
// constructor, connect<P>() or Instance::proxy<P>(). Synchronous calls are as fast as the
// default's; what it saves is the thread (its start at connect time and its stack) and a few
// system calls per call. The price: nothing reads the connection between calls, so signals are
// not delivered and asynchronous calls (callMethodAsync) are not answered unless the user runs
// the connection's loop (connection().processPendingRequest() or enterEventLoop());
// disconnected() stays false and a call on a broken connection throws sdbus::Error. Calls from
// several threads on one such proxy are serialized, and sdbus-c++ 1.2 makes the waiting thread
// spin (a try_lock loop in Connection::tryCallMethodSynchronously): give each calling thread a
// calls-only proxy of its own.
struct calls_only_t {
    explicit calls_only_t() = default;
};
inline constexpr calls_only_t calls_only{};

// Asks for sdbus-c++'s classic loop thread (EventLoopThread): a synchronous call is handed to
// the loop thread, which keeps serving the connection while the call waits — what a proxy needs
// when the instance calls back into objects the caller exported on this connection
// (sdbus::createObject(connected.connection(), path) with an adaptor; see
// docs/timeouts.md#callbacks). Calls from several threads overlap. Each synchronous call costs
// two thread switches more than the default's.
struct with_callbacks_t {
    explicit with_callbacks_t() = default;
};
inline constexpr with_callbacks_t with_callbacks{};

// Timeouts (docs/timeouts.md): true for an error that says a call got no reply in time —
// org.offshoot1.Error.Timeout, sd-bus's org.freedesktop.DBus.Error.Timeout (a synchronous call
// on the caller's thread) or NoReply "Method call timed out" (a call handed to a loop) — and
// false for a connection that closed (the instance ended: NoReply "Connection terminated",
// Disconnected).
[[nodiscard]] bool is_timeout(const Error& error) noexcept;
// `error` as org.offshoot1.Error.Timeout if is_timeout(error), else unchanged.
[[noreturn]] void rethrow_as_offshoot(const Error& error, std::chrono::microseconds timeout);

// One call through Connected's operator->: lives until the end of the full expression
// (`connected->Ping(1);`), and for that long takes the socket from the DeliveryThread (see
// there) and, with with_timeout(), sets the call's own timeout on the connection — so a call
// another thread makes meanwhile gets it too; per-call timeouts themselves take turns.
template <class P>
class CallScope {
public:
    CallScope(P* proxy, DeliveryThread* delivery, std::mutex* serial, sdbus::IConnection* connection,
              std::optional<uint64_t> timeout_usec)
        : proxy_(proxy) {
        if (delivery && delivery->begin_call()) delivery_ = delivery;
        if (!timeout_usec) return;
        // One per-call timeout at a time: each scope restores what it found. A handler on the
        // delivery thread does not wait for another thread's (whose call may need this thread
        // to finish): it keeps the timeout in force then.
        lock_ = std::unique_lock(*serial, std::defer_lock);
        if (delivery && delivery->on_this_thread()) {
            if (!lock_.try_lock()) return;
        } else {
            lock_.lock();
        }
        connection_ = connection;
        previous_usec_ = connection->getMethodCallTimeout();
        connection->setMethodCallTimeout(*timeout_usec);
    }
    ~CallScope() {
        if (connection_) {
            try {
                connection_->setMethodCallTimeout(previous_usec_);
            } catch (const Error&) {
                // The connection broke; nothing will be sent on it again.
            }
        }
        if (delivery_) delivery_->end_call();
    }
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;

    P* operator->() const noexcept { return proxy_; }

private:
    P* proxy_;
    DeliveryThread* delivery_ = nullptr;
    sdbus::IConnection* connection_ = nullptr;
    uint64_t previous_usec_ = 0;
    std::unique_lock<std::mutex> lock_;
};

// Owns a connection, a proxy P on it and the connection's thread (a DeliveryThread by default,
// none with calls_only, an EventLoopThread with with_callbacks), and tears them down in the one
// safe order: thread (no more callbacks) → proxy → connection. Signal handlers of P run on that
// thread; calls may be made from any thread.
template <class P>
class Connected {
public:
    Connected() = default;  // empty; see operator bool

    template <class... Extra>
    Connected(std::unique_ptr<sdbus::IConnection> connection, std::string destination,
              std::string object_path, Extra&&... extra)
        : Connected(calls_only, std::move(connection), std::move(destination), std::move(object_path),
                    std::forward<Extra>(extra)...) {
        delivery_ = std::make_unique<DeliveryThread>(*connection_);
    }

    template <class... Extra>
    Connected(calls_only_t, std::unique_ptr<sdbus::IConnection> connection, std::string destination,
              std::string object_path, Extra&&... extra)
        : connection_(std::move(connection)),
          proxy_(std::make_unique<P>(*connection_, std::move(destination), std::move(object_path),
                                     std::forward<Extra>(extra)...)),
          serial_(std::make_unique<std::mutex>()) {}

    template <class... Extra>
    Connected(with_callbacks_t, std::unique_ptr<sdbus::IConnection> connection, std::string destination,
              std::string object_path, Extra&&... extra)
        : Connected(calls_only, std::move(connection), std::move(destination), std::move(object_path),
                    std::forward<Extra>(extra)...) {
        loop_ = std::make_unique<EventLoopThread>(*connection_);
    }

    Connected(Connected&&) noexcept = default;
    Connected& operator=(Connected&& other) noexcept {
        if (this != &other) {
            reset();
            connection_ = std::move(other.connection_);
            proxy_ = std::move(other.proxy_);
            serial_ = std::move(other.serial_);
            loop_ = std::move(other.loop_);
            delivery_ = std::move(other.delivery_);
        }
        return *this;
    }
    ~Connected() { reset(); }

    void reset() noexcept {
        delivery_.reset();
        loop_.reset();
        proxy_.reset();
        connection_.reset();
        serial_.reset();
    }

    explicit operator bool() const noexcept { return proxy_ != nullptr; }
    // The way to call: `connected->Method(…)` (see CallScope).
    CallScope<P> operator->() const { return scope(std::nullopt); }
    // The proxy itself, for calls that need no speed (and for handlers' own calls).
    P& operator*() const noexcept { return *proxy_; }
    P& get() const noexcept { return *proxy_; }
    sdbus::IConnection& connection() const noexcept { return *connection_; }

    // The timeout of every call on this proxy that sets none of its own; sd-bus's default is
    // 25 s. A call past it fails with an error is_timeout() recognizes (call() turns it into
    // org.offshoot1.Error.Timeout).
    void set_timeout(std::chrono::microseconds timeout) { connection_->setMethodCallTimeout(usec(timeout)); }
    [[nodiscard]] std::chrono::microseconds timeout() const {
        return std::chrono::microseconds(connection_->getMethodCallTimeout());
    }
    // One call with a timeout of its own: `connected.with_timeout(2s)->Ping(1)`.
    CallScope<P> with_timeout(std::chrono::microseconds timeout) const { return scope(usec(timeout)); }

    // fn(P&) as one call (or several: all within the scope), with offshoot's error for a
    // timeout: org.offshoot1.Error.Timeout, distinct from the connection closing (the instance
    // ended), which stays as sd-bus reports it.
    template <class F>
    decltype(auto) call(F&& fn) const {
        return call_with(std::nullopt, std::forward<F>(fn));
    }
    template <class F>
    decltype(auto) call(std::chrono::microseconds timeout, F&& fn) const {
        return call_with(usec(timeout), std::forward<F>(fn));
    }

    // True once the peer has gone away (the instance's process ended); always false with
    // calls_only (nothing watches the connection).
    [[nodiscard]] bool disconnected() const noexcept {
        return (delivery_ && delivery_->disconnected()) || (loop_ && loop_->disconnected());
    }
    // False with calls_only.
    [[nodiscard]] bool has_event_loop() const noexcept { return delivery_ || loop_; }
    // True with with_callbacks: synchronous calls are handed to the loop thread.
    [[nodiscard]] bool serves_callbacks() const noexcept { return loop_ != nullptr; }

private:
    static uint64_t usec(std::chrono::microseconds d) { return d.count() > 0 ? static_cast<uint64_t>(d.count()) : 1; }

    CallScope<P> scope(std::optional<uint64_t> timeout_usec) const {
        return CallScope<P>(proxy_.get(), delivery_.get(), serial_.get(), connection_.get(), timeout_usec);
    }

    template <class F>
    decltype(auto) call_with(std::optional<uint64_t> timeout_usec, F&& fn) const {
        const uint64_t effective = timeout_usec ? *timeout_usec : connection_->getMethodCallTimeout();
        try {
            CallScope<P> in_call = scope(timeout_usec);
            return std::forward<F>(fn)(*proxy_);
        } catch (const Error& e) {
            rethrow_as_offshoot(e, std::chrono::microseconds(effective));
        }
    }

    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<P> proxy_;
    std::unique_ptr<std::mutex> serial_;          // one per-call timeout at a time
    std::unique_ptr<EventLoopThread> loop_;       // with_callbacks
    std::unique_ptr<DeliveryThread> delivery_;    // the default; last: stopped first
};

// Opens a connection to a D-Bus address (an instance's private address, or any bus) the way
// sdbus-c++ clients do (Hello first; offshoot workers answer it).
std::unique_ptr<sdbus::IConnection> open_connection(const std::string& address);

// P on the object of the instance listening at `address` (offshoot's object name and path).
template <class P, class... Extra>
Connected<P> connect(const std::string& address, Extra&&... extra) {
    return Connected<P>(open_connection(address), names::object_name, names::object_path,
                        std::forward<Extra>(extra)...);
}

// The same without a thread (see calls_only_t), or with the classic loop (with_callbacks_t).
template <class P, class... Extra>
Connected<P> connect(calls_only_t, const std::string& address, Extra&&... extra) {
    return Connected<P>(calls_only, open_connection(address), names::object_name, names::object_path,
                        std::forward<Extra>(extra)...);
}
template <class P, class... Extra>
Connected<P> connect(with_callbacks_t, const std::string& address, Extra&&... extra) {
    return Connected<P>(with_callbacks, open_connection(address), names::object_name, names::object_path,
                        std::forward<Extra>(extra)...);
}

}  // namespace offshoot

// offshoot/client/connected.hpp — a generated sdbus-c++ proxy on a connection of its own, with the
// connection's event loop running so that the proxy receives signals — or, with calls_only,
// without one, for the fastest synchronous calls.
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
//         void onChanged(const int64_t& value) override { … }  // runs on the loop thread
//     };
#pragma once

#include <atomic>
#include <memory>
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
// fail with an offshoot::Error.
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

// Asks for a Connected<P> without an event-loop thread: pass offshoot::calls_only first to
// Connected's constructor, connect<P>() or Instance::proxy<P>().
//
// With a loop thread (the default), sdbus-c++ sends a synchronous call from the caller's thread
// and the loop thread receives the reply and wakes the caller: two thread switches per call.
// Without one, the caller's thread sends and receives the reply itself (sd_bus_call) — about
// 40 % less time per round trip (bench/RESULTS.md, section 1). The price: nothing reads the
// connection between calls, so signals are not delivered and asynchronous calls
// (callMethodAsync) are not answered unless the user runs the connection's loop
// (connection().processPendingRequest() or enterEventLoop()); disconnected() stays false and a
// call on a broken connection throws sdbus::Error. Calls from several threads on one such
// proxy are serialized, and sdbus-c++ 1.2 makes the waiting thread spin (a try_lock loop in
// Connection::tryCallMethodSynchronously): give each calling thread a calls-only proxy of its own.
struct calls_only_t {
    explicit calls_only_t() = default;
};
inline constexpr calls_only_t calls_only{};

// Owns a connection, a proxy P on it and the connection's event-loop thread (unless calls_only),
// and tears them down in the one safe order: loop (no more callbacks) → proxy → connection.
// Signal handlers of P run on the loop thread; calls may be made from any thread.
template <class P>
class Connected {
public:
    Connected() = default;  // empty; see operator bool

    template <class... Extra>
    Connected(std::unique_ptr<sdbus::IConnection> connection, std::string destination,
              std::string object_path, Extra&&... extra)
        : Connected(calls_only, std::move(connection), std::move(destination), std::move(object_path),
                    std::forward<Extra>(extra)...) {
        loop_ = std::make_unique<EventLoopThread>(*connection_);
    }

    template <class... Extra>
    Connected(calls_only_t, std::unique_ptr<sdbus::IConnection> connection, std::string destination,
              std::string object_path, Extra&&... extra)
        : connection_(std::move(connection)),
          proxy_(std::make_unique<P>(*connection_, std::move(destination), std::move(object_path),
                                     std::forward<Extra>(extra)...)) {}

    Connected(Connected&&) noexcept = default;
    Connected& operator=(Connected&& other) noexcept {
        if (this != &other) {
            reset();
            connection_ = std::move(other.connection_);
            proxy_ = std::move(other.proxy_);
            loop_ = std::move(other.loop_);
        }
        return *this;
    }
    ~Connected() { reset(); }

    void reset() noexcept {
        loop_.reset();
        proxy_.reset();
        connection_.reset();
    }

    explicit operator bool() const noexcept { return proxy_ != nullptr; }
    P& operator*() const noexcept { return *proxy_; }
    P* operator->() const noexcept { return proxy_.get(); }
    P& get() const noexcept { return *proxy_; }
    sdbus::IConnection& connection() const noexcept { return *connection_; }
    // True once the peer has gone away (the instance's process ended); always false with
    // calls_only (nothing watches the connection).
    [[nodiscard]] bool disconnected() const noexcept { return loop_ && loop_->disconnected(); }
    // False with calls_only.
    [[nodiscard]] bool has_event_loop() const noexcept { return loop_ != nullptr; }

private:
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<P> proxy_;
    std::unique_ptr<EventLoopThread> loop_;  // last: stopped first
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

// The same without an event-loop thread (see calls_only_t).
template <class P, class... Extra>
Connected<P> connect(calls_only_t, const std::string& address, Extra&&... extra) {
    return Connected<P>(calls_only, open_connection(address), names::object_name, names::object_path,
                        std::forward<Extra>(extra)...);
}

}  // namespace offshoot

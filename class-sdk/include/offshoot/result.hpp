// offshoot/result.hpp — answering a method later, from any thread: offshoot::Result<T...>.
//
// The worker serves every call of an instance on one loop thread, one at a time: a method that
// blocks (waits on a FIFO, a child, the network) holds up every other caller and the stop()
// hook. A method declared asynchronous in the XML — the annotation sdbus-c++ uses for the same
// thing —
//
//     <method name="ReadFile">
//       <annotation name="org.freedesktop.DBus.Method.Async" value="server"/>
//       <arg name="name" type="s" direction="in"/>
//       <arg name="content" type="s" direction="out"/>
//     </method>
//
// is generated as `virtual void ReadFile(offshoot::Result<std::string> result, const
// std::string& name) = 0;` (the wire and the caller's proxy are unchanged). The method hands
// `result` to a thread of its own (or keeps it until an event comes) and returns at once; once
// the answer is known, result.return_value(content) or result.return_error(error) — callable
// from ANY thread — queues the reply, which the loop thread sends. The first answer counts;
// later ones do nothing. A Result destroyed without an answer answers the caller with
// org.freedesktop.DBus.Error.Failed ("… was dropped without an answer") rather than leaving it
// to its timeout. A method that throws instead answers with that error, as a synchronous one
// does. If the caller has gone meanwhile, the reply is dropped (logged at debug level).
//
// Threads other than the loop thread must not touch sd-bus or emit signals; Object::post()
// runs a function on the loop thread for that.
#pragma once

#include <offshoot/error.hpp>
#include <offshoot/marshal.hpp>

#include <systemd/sd-bus.h>

#include <atomic>
#include <functional>
#include <memory>
#include <tuple>
#include <utility>

namespace offshoot {

// Runs functions on the worker's loop thread. The worker provides one (Object::post uses it).
class LoopExecutor {
public:
    virtual ~LoopExecutor() = default;
    // Queues `fn` to run on the loop thread, from any thread. False once the loop has ended:
    // `fn` is then destroyed without running.
    virtual bool post(std::function<void()> fn) = 0;
    virtual bool on_loop_thread() const noexcept = 0;
};

namespace detail {

// The state a Result shares with the generated handler. `call` is touched on the loop thread
// only (sd-bus messages are not thread-safe); `state` from any thread.
struct PendingReply : std::enable_shared_from_this<PendingReply> {
    enum State { pending, answered, dropped };
    sd_bus_message* call = nullptr;  // one reference
    std::shared_ptr<LoopExecutor> loop;
    std::atomic<int> state{pending};
    bool in_handler = true;  // the method has not returned yet (loop thread only)

    PendingReply(sd_bus_message* m, std::shared_ptr<LoopExecutor> executor);
    PendingReply(const PendingReply&) = delete;
    PendingReply& operator=(const PendingReply&) = delete;
    ~PendingReply();

    // Runs `send` (which replies to `call`) on the loop thread: now if this is it, else queued.
    void deliver(std::function<int(sd_bus_message*)> send);
    // The caller gets Failed "… was dropped without an answer".
    void answer_dropped();
};

// Releases `object` (a reference to an sd-bus object) on the loop thread: now if this is it,
// else posted there; once the loop has ended (the process is exiting) it is kept instead.
void release_on_loop(const std::shared_ptr<LoopExecutor>& loop, void* object, void (*release)(void*)) noexcept;

// The generated handler's two ways out (see the top of this file).
int handler_returned(PendingReply& p) noexcept;
int handler_threw(PendingReply& p, sd_bus_error* error) noexcept;

}  // namespace detail

template <class... T>
class Result {
public:
    explicit Result(std::shared_ptr<detail::PendingReply> pending) noexcept : p_(std::move(pending)) {}
    Result(Result&&) noexcept = default;
    Result& operator=(Result&& other) noexcept {
        if (this != &other) {
            drop();
            p_ = std::move(other.p_);
        }
        return *this;
    }
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    ~Result() { drop(); }

    // Answers with these values. Any thread; the first answer counts.
    void return_value(const T&... values) {
        if (!claim()) return;
        p_->deliver([values = std::make_tuple(values...)](sd_bus_message* call) {
            std::apply([call](const T&... v) { marshal::reply(call, v...); }, values);
            return 0;
        });
        p_.reset();
    }

    // Answers with this error. Any thread; the first answer counts.
    void return_error(const Error& error) {
        if (!claim()) return;
        p_->deliver([name = error.getName(), message = error.getMessage()](sd_bus_message* call) {
            sd_bus_error e = SD_BUS_ERROR_NULL;
            (void)detail::set_error(&e, name, message);
            const int r = sd_bus_reply_method_error(call, &e);
            sd_bus_error_free(&e);
            return r;
        });
        p_.reset();
    }

    // False once answered (or moved from).
    explicit operator bool() const noexcept {
        return p_ && p_->state.load() == detail::PendingReply::pending;
    }

private:
    bool claim() {
        int expected = detail::PendingReply::pending;
        return p_ && p_->state.compare_exchange_strong(expected, detail::PendingReply::answered);
    }
    void drop() noexcept {
        if (!p_) return;
        int expected = detail::PendingReply::pending;
        if (p_->state.compare_exchange_strong(expected, detail::PendingReply::dropped)) {
            // Inside the method the handler answers (handler_returned / handler_threw).
            const bool in_handler = (!p_->loop || p_->loop->on_loop_thread()) && p_->in_handler;
            try {
                if (!in_handler) p_->answer_dropped();
            } catch (...) {
            }
        }
        p_.reset();
    }

    std::shared_ptr<detail::PendingReply> p_;
};

}  // namespace offshoot

// offshoot/shapes.hpp — the two ready-made shapes of work a class may take (from offspring):
// a task that runs once and a loop that runs until it says stop. A class takes a shape by
// deriving from offshoot::Task or offshoot::Loop in addition to its generated adaptor:
//
//     class Sleeper final : public org::offshoot1::example::Sleeper_adaptor, public offshoot::Task {
//         int run() override { ... return exit_code; }
//     };
//
// OFFSHOOT_CLASS records the shape (no RTTI needed); the worker drives it:
//
//   Task   start() → READY → run() on a thread of its own; the object stays callable on the
//          worker's loop thread meanwhile. When run() returns, the process exits with its value
//          (0–255; anything else, or an exception, exits 1). stop() is not called for a natural
//          end. Besides the exit code, run() may hand back a value of any D-Bus type with
//          set_return_value(): whoever waits gets it (Instance.WaitReturnValue, property
//          ReturnValue; docs/lifecycle.md). CONCURRENCY: the object's methods (and its signals) run on the loop thread while
//          run() runs on its own, so whatever both touch must be synchronised (atomics, a
//          mutex). run() must not emit signals or touch sd-bus: those belong to the loop thread
//          (emitting from run() throws offshoot::Error).
//   Loop   start() → begin() → READY → loop() at once (before any call or stop request is
//          handled), then again after each delay it returns, until it returns std::nullopt →
//          end() → exit 0. Everything runs on the loop thread, between calls: no
//          synchronisation needed, and loop() may emit signals.
//
// Stopping (the instance's stop-mode, see docs/lifecycle.md): in "terminate" mode a Stop makes
// a task's wait_for_stop() return true (run() should then return soon) and a loop stop between
// iterations; then end() (loops), then the class's stop() hook, and the process exits 0. In
// "wait" mode a Stop lets run()/the loop finish by itself. A process that does not finish within
// the instance's stop timeout is killed by offshootd.
#pragma once

#include <offshoot/variant.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace offshoot {

class Task {
public:
    Task();
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    virtual ~Task();

    // The work. Runs once, on a thread of its own, after the instance reported ready; its
    // return value becomes the process's exit code (0 = Result "success").
    virtual int run() = 0;

    // Called by the worker on its loop thread when the instance is asked to stop (terminate
    // mode) while run() runs: wakes wait_for_stop(), then calls on_stop_requested(). Idempotent.
    void request_stop();
    // Whether a stop was requested; safe from any thread.
    bool stop_requested() const noexcept;

    // For the worker, once run() has returned: the value set_return_value() handed back, in
    // the form offshootd takes it; empty when none was.
    std::string return_value_datagram() const;

protected:
    // Sleeps until `deadline` or until a stop is requested, whichever comes first; true when a
    // stop was requested. The building block for an interruptible run().
    bool wait_for_stop(std::chrono::steady_clock::time_point deadline);
    bool wait_for_stop(std::chrono::milliseconds timeout) {
        return wait_for_stop(std::chrono::steady_clock::now() + timeout);
    }

    // Override to interrupt waits of the class's own (a child process, a socket): runs on the
    // loop thread, concurrently with run(). The default does nothing.
    virtual void on_stop_requested() {}

    // Hands `value` back to whoever waits for the task: offshootd keeps it with the instance's
    // handle once the process has exited (Instance.WaitReturnValue, property ReturnValue, for
    // the instance's owner and root). Call it from run() — or from a method, from any thread;
    // the last call wins. It is handed back however run() ends (its exit code, an exception, a
    // stop request). Throws offshoot::Error (org.freedesktop.DBus.Error.InvalidArgs) at once
    // for a value that cannot go: one holding a file descriptor (type 'h'), or more than 64 KiB
    // encoded. E.g. set_return_value(std::map<std::string, offshoot::Variant>{{"files", 3u}}).
    void set_return_value(const Variant& value);

private:
    struct StopState;
    std::unique_ptr<StopState> stop_;
};

class Loop {
public:
    Loop() = default;
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;
    virtual ~Loop() = default;

    // Once, after start() and before the instance reports ready: throwing fails the Spawn
    // with the message, as start() does.
    virtual void begin() {}
    // One iteration. Returns how long to wait before the next one (counted from its return),
    // or std::nullopt to stop. The first iteration runs as soon as the instance has reported
    // ready, before any call or stop request is handled. Throwing stops the loop: end() runs
    // and the process exits 1.
    virtual std::optional<std::chrono::milliseconds> loop() = 0;
    // Once, after the last iteration: when loop() said stop, when it threw, and when the
    // instance is stopped in terminate mode (then before the stop() hook).
    virtual void end() {}
};

}  // namespace offshoot

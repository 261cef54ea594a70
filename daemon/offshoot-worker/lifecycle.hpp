// lifecycle.hpp — what the worker does with its object after start-up: drives its shape of work
// (a task's run() on a thread of its own, a loop's iterations on the sd-event loop, or nothing
// for a plain object), handles SIGTERM/SIGINT according to the stop mode, and decides the exit
// code. Everything here runs on the loop thread except the task's run().
//
// Stop requests:
//   SIGTERM  "stop as the instance's stop mode says". terminate: stop now (below). wait: a
//            task or loop finishes its work by itself and the process then exits as it would
//            have anyway (the signal is logged, nothing else); a plain object has no work to
//            wait for, so it stops now.
//   SIGINT   stop now whatever the mode (Ctrl-C on a worker run by hand; a second, firmer
//            request after a SIGTERM in wait mode).
// Stopping now: plain object → stop() hook. Task → Task::request_stop(), wait for run() to
// return (the object stays callable), stop() hook. Loop → cancel the next iteration, end(),
// stop() hook. Then exit 0 (1 if run()/end() threw). SIGKILL after the supervisor's stop
// timeout is the answer to work that does not stop.
//
// Natural end: a task's run() returned (exit code = its value, 0–255; anything else or an
// exception → 1); a loop's loop() said stop (end(), exit 0) or threw (end(), exit 1). The
// stop() hook is not called for a natural end.
#pragma once

#include <offshoot/names.hpp>

#include "offshoot/common/fd.hpp"
#include "offshoot/common/sd_ptr.hpp"
#include "offshoot/object.hpp"

#include <atomic>
#include <optional>
#include <string>
#include <thread>

namespace offshoot::worker {

class Lifecycle {
public:
    Lifecycle(sd_event* event, Object& object, StopMode mode, std::string class_name);
    ~Lifecycle();  // a task still running (only on an abnormal exit) is asked to stop and joined
    Lifecycle(const Lifecycle&) = delete;
    Lifecycle& operator=(const Lifecycle&) = delete;

    // Installs the SIGTERM/SIGINT handlers (the signals are already blocked). Throws
    // StartupError("event-loop", …).
    void watch_signals();
    // Before READY, after start(): a loop's begin(). Throws StartupError("begin", …).
    void before_ready();
    // After READY: starts the task's thread, or runs the loop's first iteration and arms the
    // timer of the next. Throws StartupError("run", …) when the thread or the timer cannot be
    // created; READY has gone out by then, so the supervisor sees an exit with status 1.
    void after_ready();
    // Called once sd_event_loop returned: makes sure no run() is still going (joins it).
    void finish();

    const char* shape_name() const noexcept;

private:
    enum class Phase { working, stopping, done };

    static int on_signal(sd_event_source* s, const signalfd_siginfo* si, void* userdata);
    static int on_task_done(sd_event_source* s, int fd, uint32_t revents, void* userdata);
    static int on_iteration(sd_event_source* s, uint64_t usec, void* userdata);

    void stop_now(const char* why);
    void task_returned();
    void iterate();
    void end_loop();
    void call_stop_hook();
    void exit(int code);

    sd_event* event_;
    Object& object_;
    Task* task_;
    Loop* loop_;
    StopMode mode_;
    std::string class_name_;
    Phase phase_ = Phase::working;
    bool stop_hook_due_ = false;  // a stop was requested: call stop() once the work is over
    bool failed_ = false;         // run()/loop()/end() threw: exit 1

    // Task: its thread, the eventfd it signals when run() returned, and what it returned.
    std::thread thread_;
    Fd task_done_fd_;
    EventSourcePtr task_done_source_;
    std::atomic<int> task_code_{0};
    std::string task_error_;  // written by the thread before it signals, read after

    // Loop: the timer of the next iteration.
    EventSourcePtr iteration_timer_;
    uint64_t iterations_ = 0;

    EventSourcePtr sigterm_source_;
    EventSourcePtr sigint_source_;
};

}  // namespace offshoot::worker

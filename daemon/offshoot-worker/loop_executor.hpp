// loop_executor.hpp — the worker's offshoot::LoopExecutor: functions posted from any thread
// (a deferred reply, Object::post) run on the sd-event loop thread, woken through an eventfd.
// close() ends it: what is queued then still runs, on the loop thread, and later posts fail.
#pragma once

#include "offshoot/common/fd.hpp"
#include "offshoot/common/sd_ptr.hpp"
#include "offshoot/result.hpp"

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace offshoot::worker {

class EventLoopExecutor final : public LoopExecutor {
public:
    // Throws StartupError("event-loop", …).
    static std::shared_ptr<EventLoopExecutor> create(sd_event* event);
    ~EventLoopExecutor() override;

    bool post(std::function<void()> fn) override;
    bool on_loop_thread() const noexcept override { return std::this_thread::get_id() == loop_thread_; }
    // On the loop thread, before the loop and the connections go.
    void close();

private:
    EventLoopExecutor() = default;
    static int on_wake(sd_event_source* s, int fd, uint32_t revents, void* userdata);
    void run_queued();

    std::thread::id loop_thread_ = std::this_thread::get_id();
    Fd wake_;
    EventSourcePtr source_;
    std::mutex mutex_;
    std::deque<std::function<void()>> queue_;  // guarded by mutex_
    bool closed_ = false;                      // guarded by mutex_
};

}  // namespace offshoot::worker

// loop_executor.cpp — see loop_executor.hpp.
#include "loop_executor.hpp"

#include "startup_error.hpp"

#include "offshoot/common/log.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace offshoot::worker {

std::shared_ptr<EventLoopExecutor> EventLoopExecutor::create(sd_event* event) {
    std::shared_ptr<EventLoopExecutor> self(new EventLoopExecutor);
    self->wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!self->wake_) throw StartupError("event-loop", errno, "eventfd");
    sd_event_source* s = nullptr;
    int r = sd_event_add_io(event, &s, self->wake_.get(), EPOLLIN, on_wake, self.get());
    if (r < 0) throw StartupError("event-loop", -r, "sd_event_add_io");
    self->source_.reset(s);
    return self;
}

EventLoopExecutor::~EventLoopExecutor() = default;

bool EventLoopExecutor::post(std::function<void()> fn) {
    {
        std::lock_guard lock(mutex_);
        if (closed_) return false;
        queue_.push_back(std::move(fn));
    }
    const uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    return true;
}

int EventLoopExecutor::on_wake(sd_event_source*, int fd, uint32_t, void* userdata) {
    uint64_t n = 0;
    (void)!::read(fd, &n, sizeof n);
    static_cast<EventLoopExecutor*>(userdata)->run_queued();
    return 0;
}

void EventLoopExecutor::run_queued() {
    std::deque<std::function<void()>> batch;
    {
        std::lock_guard lock(mutex_);
        batch.swap(queue_);
    }
    for (auto& fn : batch) {
        try {
            fn();
        } catch (...) {
            log::error("a function posted to the loop threw: {}", describe_current_exception());
        }
    }
}

void EventLoopExecutor::close() {
    // What is queued still runs, here on the loop thread: replies answered before the loop
    // ended go out with the connections' final flush, and messages are released where they may
    // be. Later posts fail.
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    run_queued();
    source_.reset();
}

}  // namespace offshoot::worker

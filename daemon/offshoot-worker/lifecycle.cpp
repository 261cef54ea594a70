// lifecycle.cpp — see lifecycle.hpp.
#include "lifecycle.hpp"

#include "startup_error.hpp"

#include "offshoot/common/errors.hpp"
#include "offshoot/common/log.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <system_error>

namespace offshoot::worker {
namespace {

// sd-event may move a timer this much later to coalesce wake-ups (its default is 250 ms,
// far too coarse for a loop's delays).
constexpr uint64_t iteration_accuracy_usec = 1'000;

uint64_t to_usec(std::chrono::milliseconds delay) {
    if (delay.count() <= 0) return 0;
    constexpr auto max_ms = static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / 1000);
    const auto ms = static_cast<uint64_t>(delay.count());
    return ms >= max_ms ? max_ms * 1000 : ms * 1000;
}

}  // namespace

Lifecycle::Lifecycle(sd_event* event, Object& object, StopMode mode, std::string class_name)
    : event_(event),
      object_(object),
      task_(object.task()),
      loop_(object.loop_shape()),
      mode_(mode),
      class_name_(std::move(class_name)) {}

Lifecycle::~Lifecycle() { finish(); }

const char* Lifecycle::shape_name() const noexcept {
    return task_ ? "task" : loop_ ? "loop" : "object";
}

void Lifecycle::watch_signals() {
    for (auto [sig, slot] : {std::pair{SIGTERM, &sigterm_source_}, std::pair{SIGINT, &sigint_source_}}) {
        sd_event_source* s = nullptr;
        int r = sd_event_add_signal(event_, &s, sig, on_signal, this);
        if (r < 0) throw StartupError("event-loop", -r, "sd_event_add_signal");
        slot->reset(s);
    }
}

void Lifecycle::before_ready() {
    if (!loop_) return;
    try {
        loop_->begin();
    } catch (...) {
        throw StartupError("begin", 0, describe_current_exception());
    }
}

void Lifecycle::after_ready() {
    if (task_) {
        task_done_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!task_done_fd_) throw StartupError("run", errno, "eventfd");
        sd_event_source* s = nullptr;
        int r = sd_event_add_io(event_, &s, task_done_fd_.get(), EPOLLIN, on_task_done, this);
        if (r < 0) throw StartupError("run", -r, "sd_event_add_io");
        task_done_source_.reset(s);
        try {
            thread_ = std::thread([this] {
                int code = EXIT_FAILURE;
                try {
                    code = task_->run();
                } catch (...) {
                    task_error_ = describe_current_exception();
                }
                task_code_ = code;
                const uint64_t one = 1;
                // Cannot fail short of a closed descriptor; the loop thread joins us then.
                (void)!::write(task_done_fd_.get(), &one, sizeof one);
            });
        } catch (const std::system_error& e) {
            throw StartupError("run", e.code().value(), "cannot start the thread of run()");
        }
        log::debug("{}.run() started", class_name_);
    } else if (loop_) {
        // The first iteration runs now, right after READY and before the loop handles any
        // call or signal: a Stop that arrives at once still finds the loop started ("one
        // iteration at start" holds whatever happens next). Its timer is armed by iterate().
        sd_event_source* s = nullptr;
        int r = sd_event_add_time_relative(event_, &s, CLOCK_MONOTONIC, 0, iteration_accuracy_usec,
                                           on_iteration, this);
        if (r < 0) throw StartupError("run", -r, "sd_event_add_time_relative");
        iteration_timer_.reset(s);
        (void)sd_event_source_set_enabled(s, SD_EVENT_OFF);
        iterate();
    }
}

void Lifecycle::finish() {
    if (!thread_.joinable()) return;
    // Only when the loop ended abnormally while run() was still going: the object must not be
    // destroyed under it.
    if (task_) task_->request_stop();
    thread_.join();
}

int Lifecycle::on_signal(sd_event_source*, const signalfd_siginfo* si, void* userdata) {
    auto& self = *static_cast<Lifecycle*>(userdata);
    const int sig = static_cast<int>(si->ssi_signo);
    const bool has_work = self.task_ || self.loop_;
    if (sig == SIGTERM && self.mode_ == StopMode::wait && has_work) {
        if (self.phase_ == Phase::working)
            log::info("SIGTERM in stop mode wait: letting the {} {} finish", self.class_name_,
                      self.shape_name());
        return 0;
    }
    self.stop_now(sigabbrev_np(sig));
    return 0;
}

void Lifecycle::stop_now(const char* why) {
    if (phase_ != Phase::working) return;  // already on the way out: nothing runs twice
    phase_ = Phase::stopping;
    stop_hook_due_ = true;
    log::debug("SIG{} received, stopping the {} {}", why, class_name_, shape_name());
    if (task_) {
        // run() ends by itself once it sees the request; on_task_done finishes the stop. The
        // object stays callable meanwhile; the supervisor's stop timeout bounds the wait.
        try {
            task_->request_stop();
        } catch (...) {
            log::error("{}.on_stop_requested() threw: {}", class_name_, describe_current_exception());
        }
        return;
    }
    if (loop_) {
        iteration_timer_.reset();  // between iterations by construction: one thread
        end_loop();
    }
    call_stop_hook();
    exit(failed_ ? EXIT_FAILURE : EXIT_SUCCESS);
}

int Lifecycle::on_task_done(sd_event_source*, int fd, uint32_t, void* userdata) {
    auto& self = *static_cast<Lifecycle*>(userdata);
    uint64_t value = 0;
    if (::read(fd, &value, sizeof value) < 0 && errno == EAGAIN) return 0;
    self.task_returned();
    return 0;
}

void Lifecycle::task_returned() {
    // Joining orders everything run() wrote before what we read now.
    thread_.join();
    task_done_source_.reset();  // allowed from its own callback: sd-event defers the free
    int code = task_code_;
    if (!task_error_.empty()) {
        log::error("{}.run() threw: {}", class_name_, task_error_);
        failed_ = true;
    }
    if (phase_ == Phase::stopping) {
        log::debug("{}.run() returned {} after the stop request", class_name_, code);
        call_stop_hook();
        exit(failed_ ? EXIT_FAILURE : EXIT_SUCCESS);
        return;
    }
    if (failed_) {
        code = EXIT_FAILURE;
    } else if (code < 0 || code > 255) {
        log::warning("{}.run() returned {}, which is no exit code (0 to 255); exiting 1", class_name_,
                     code);
        code = EXIT_FAILURE;
    }
    log::debug("{}.run() returned {}", class_name_, code);
    exit(code);
}

int Lifecycle::on_iteration(sd_event_source*, uint64_t, void* userdata) {
    static_cast<Lifecycle*>(userdata)->iterate();
    return 0;
}

void Lifecycle::iterate() {
    if (phase_ != Phase::working) return;
    ++iterations_;
    std::optional<std::chrono::milliseconds> next;
    try {
        next = loop_->loop();
    } catch (...) {
        log::error("{}.loop() threw in iteration {}: {}", class_name_, iterations_,
                   describe_current_exception());
        failed_ = true;
    }
    if (failed_ || !next) {
        phase_ = Phase::stopping;
        iteration_timer_.reset();
        end_loop();
        exit(failed_ ? EXIT_FAILURE : EXIT_SUCCESS);
        return;
    }
    sd_event_source* timer = iteration_timer_.get();
    int r = sd_event_source_set_time_relative(timer, to_usec(*next));
    if (r >= 0) r = sd_event_source_set_enabled(timer, SD_EVENT_ONESHOT);
    if (r < 0) {
        log::error("cannot schedule iteration {} of {}: {}", iterations_ + 1, class_name_,
                   errno_text(r));
        failed_ = true;
        phase_ = Phase::stopping;
        end_loop();
        exit(EXIT_FAILURE);
    }
}

void Lifecycle::end_loop() {
    try {
        loop_->end();
    } catch (...) {
        log::error("{}.end() threw: {}", class_name_, describe_current_exception());
        failed_ = true;
    }
}

void Lifecycle::call_stop_hook() {
    if (!stop_hook_due_) return;
    stop_hook_due_ = false;
    try {
        object_.stop();
    } catch (...) {
        log::error("{}.stop() threw: {}", class_name_, describe_current_exception());
    }
}

void Lifecycle::exit(int code) {
    phase_ = Phase::done;
    sigterm_source_.reset();
    sigint_source_.reset();
    int r = sd_event_exit(event_, code);
    if (r < 0) {
        log::error("cannot leave the event loop: {}", errno_text(r));
        std::_Exit(code);
    }
}

}  // namespace offshoot::worker

// result.cpp — offshoot::Result's shared state (see offshoot/result.hpp).
#include <offshoot/result.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <vector>

namespace offshoot::detail {

namespace {
constexpr const char* dropped_message =
    "the method's answer was dropped without being given (its offshoot::Result was destroyed unanswered)";
}  // namespace

void release_on_loop(const std::shared_ptr<LoopExecutor>& loop, void* object, void (*release)(void*)) noexcept {
    if (!loop || loop->on_loop_thread()) {
        release(object);
        return;
    }
    bool posted = false;
    try {
        posted = loop->post([object, release] { release(object); });
    } catch (...) {
    }
    if (posted) return;
    // The loop has ended (the process is exiting): releasing here would race with the loop
    // thread's own teardown of the connection, so the object is kept, reachable, until exit.
    static std::mutex mutex;
    static std::vector<void*>* kept = new std::vector<void*>;
    try {
        std::lock_guard lock(mutex);
        kept->push_back(object);
    } catch (...) {
    }
}

PendingReply::PendingReply(sd_bus_message* m, std::shared_ptr<LoopExecutor> executor)
    : call(sd_bus_message_ref(m)), loop(std::move(executor)) {}

PendingReply::~PendingReply() {
    // sd-bus messages are not thread-safe: the reference goes on the loop thread only. The last
    // owner may be another thread (the one that answered lets go after the loop has sent the
    // reply), so the release is handed to the loop.
    if (call)
        release_on_loop(loop, call, [](void* m) { sd_bus_message_unref(static_cast<sd_bus_message*>(m)); });
}

void PendingReply::deliver(std::function<int(sd_bus_message*)> send) {
    // The closure holds the state (and so the message) until it has run on the loop thread.
    auto run = [self = shared_from_this(), send = std::move(send)] {
        int r = 0;
        try {
            r = send(self->call);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "offshoot: cannot send a deferred reply: %s\n", e.what());
            return;
        }
        // A caller that has gone is no news; anything else is.
        if (r < 0 && r != -ENOTCONN && r != -ECONNRESET && r != -EPIPE)
            std::fprintf(stderr, "offshoot: cannot send a deferred reply: %s\n", errno_text(r).c_str());
    };
    if (!loop || loop->on_loop_thread()) {
        run();
        return;
    }
    (void)loop->post(std::move(run));
}

void PendingReply::answer_dropped() {
    deliver([](sd_bus_message* m) { return sd_bus_reply_method_errorf(m, error_name::failed, "%s", dropped_message); });
}

int handler_returned(PendingReply& p) noexcept {
    p.in_handler = false;
    if (p.state.load() == PendingReply::dropped) {
        try {
            p.answer_dropped();
        } catch (...) {
        }
    }
    return 1;
}

int handler_threw(PendingReply& p, sd_bus_error* error) noexcept {
    p.in_handler = false;
    int expected = PendingReply::pending;
    if (p.state.compare_exchange_strong(expected, PendingReply::answered) || expected == PendingReply::dropped)
        return exception_to_error(error);
    // Answered before it threw: the answer stands.
    return 1;
}

}  // namespace offshoot::detail

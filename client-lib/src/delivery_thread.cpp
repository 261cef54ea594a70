// delivery_thread.cpp — DeliveryThread (client/connected.hpp): signals and asynchronous replies
// on a thread of its own, synchronous calls on the caller's thread.
//
// Why it is built this way (sdbus-c++ 1.2, read from its library):
// - A synchronous call runs on the caller's thread (sd_bus_call) only while no thread is
//   inside enterEventLoop(); otherwise sdbus-c++ sends it asynchronously and the loop thread
//   hands the reply back — two thread switches, ~10 µs a call on one core (bench/RESULTS.md).
// - Every sd-bus call sdbus-c++ makes is under its per-connection recursive lock (SdBus), so
//   this thread and a caller never use the sd_bus at once. But processPendingRequest() alone
//   would not take the connection's loop lock, and a handler calling the proxy from here while
//   another thread's call holds that lock would deadlock; so this thread processes through
//   enterEventLoop() itself, made to return as soon as nothing is pending (leaveEventLoop()
//   first), which takes both locks in sdbus-c++'s own order.
// - The socket is watched here with epoll, not by sdbus-c++: a caller can take the socket out
//   of the set (EPOLL_CTL_MOD, events 0) without waking this thread, so a synchronous call's
//   reply wakes only the caller. The caller gets it on a lease (a timerfd, 1 ms): a CallScope
//   can hold more than a call — a helper on P that waits for a signal — so when the lease runs
//   out this thread watches the socket again, and sdbus-c++'s locks keep the two apart.
// - sd-bus reads exactly one message at a time and never buffers past it, so after a call the
//   poll data says everything: a timeout of 0 means messages were queued during the call.
#include "offshoot/client/connected.hpp"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <system_error>

namespace offshoot {

namespace {

constexpr uint64_t forever = std::numeric_limits<uint64_t>::max();
// How long a CallScope has the socket to itself before the thread takes it back: longer than a
// call takes (tens of µs), short enough that a scope which waits — a helper on P that waits for
// a signal, a call that runs for seconds — delays deliveries by no more than this.
constexpr uint64_t lease_usec = 1000;
// How long a call waits for this thread to finish processing (begin_call).
constexpr std::chrono::milliseconds process_wait{5};

uint64_t now_usec() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

// epoll_wait's timeout (ms, rounded up so that the deadline has passed on waking) for an
// absolute CLOCK_MONOTONIC deadline in µs.
int timeout_ms(uint64_t deadline_usec) {
    if (deadline_usec == forever) return -1;
    const uint64_t now = now_usec();
    if (deadline_usec <= now) return 0;
    const uint64_t ms = (deadline_usec - now + 999) / 1000;
    return ms > static_cast<uint64_t>(std::numeric_limits<int>::max()) ? std::numeric_limits<int>::max()
                                                                       : static_cast<int>(ms);
}

class OwnedFd {
public:
    explicit OwnedFd(int fd, const char* what) : fd_(fd) {
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), what);
    }
    ~OwnedFd() { ::close(fd_); }
    OwnedFd(const OwnedFd&) = delete;
    OwnedFd& operator=(const OwnedFd&) = delete;
    int get() const noexcept { return fd_; }

private:
    int fd_;
};

}  // namespace

struct DeliveryThread::State {
    explicit State(sdbus::IConnection& c)
        : connection(c),
          epoll(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1"),
          wake_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd"),
          timer_fd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK), "timerfd_create"),
          bus_fd(c.getEventLoopPollData().fd) {
        add(wake_fd.get(), EPOLLIN);
        add(timer_fd.get(), EPOLLIN);
        add(bus_fd, 0);  // armed by the thread once it has looked at the connection
    }

    void add(int fd, uint32_t events) {
        epoll_event ev{};
        ev.events = events;
        ev.data.fd = fd;
        if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev) < 0)
            throw std::system_error(errno, std::generic_category(), "epoll_ctl");
    }
    // Never fails for a descriptor that is in the set (the bus socket stays open as long as the
    // connection, which outlives this object).
    void watch_bus(uint32_t events) noexcept {
        epoll_event ev{};
        ev.events = events;
        ev.data.fd = bus_fd;
        (void)::epoll_ctl(epoll.get(), EPOLL_CTL_MOD, bus_fd, &ev);
    }
    void wake() noexcept {
        const uint64_t one = 1;
        (void)!::write(wake_fd.get(), &one, sizeof one);
    }
    // The lease timer: fires in `usec`.
    void set_lease(uint64_t usec) noexcept {
        itimerspec t{};
        t.it_value.tv_sec = static_cast<time_t>(usec / 1'000'000);
        t.it_value.tv_nsec = static_cast<long>(usec % 1'000'000) * 1000;
        (void)::timerfd_settime(timer_fd.get(), 0, &t, nullptr);
    }

    // Runs sdbus-c++'s loop until nothing is pending. False once the connection has broken.
    bool process() noexcept {
        try {
            connection.leaveEventLoop();
            connection.enterEventLoop();
            return true;
        } catch (const std::exception&) {
            return false;  // sd-bus has failed every call in flight (NoReply)
        }
    }

    // Under `mutex`: gives the socket back to epoll with what sd-bus waits for; the deadline of
    // its earliest pending reply, or 0 when something is queued already.
    uint64_t rearm_locked() noexcept {
        try {
            const auto poll = connection.getEventLoopPollData();
            watch_bus(static_cast<uint32_t>(poll.events));
            return poll.timeout_usec;
        } catch (const std::exception&) {
            return 0;  // the connection broke: process() will say so
        }
    }

    struct Woken {
        bool lease_timer = false;  // the lease timer fired
        bool other = false;        // the socket, or a wake-up from a caller or the destructor
    };
    Woken wait_events(uint64_t deadline_usec) noexcept {
        epoll_event events[3];
        const int n = ::epoll_wait(epoll.get(), events, 3, timeout_ms(deadline_usec));
        Woken woken;
        woken.other = n == 0;  // a pending reply's deadline: sd-bus fails it when it processes
        for (int i = 0; i < n; ++i) {
            uint64_t count = 0;
            if (events[i].data.fd == timer_fd.get()) {
                woken.lease_timer = ::read(timer_fd.get(), &count, sizeof count) == sizeof count;
                continue;
            }
            woken.other = true;
            if (events[i].data.fd == wake_fd.get()) (void)!::read(wake_fd.get(), &count, sizeof count);
        }
        return woken;
    }

    // Under `mutex`, when the lease timer fired: true if the socket is taken back from a scope
    // older than its lease; else the timer is set again for a younger scope's remaining lease.
    // The timer is set by the first scope after it last fired and left running, so a stream of
    // short calls costs one timer wake-up per lease, not two timerfd_settime calls each.
    bool lease_expired_locked() noexcept {
        timer_armed = false;
        if (scopes == 0 || taken_back) return false;
        const uint64_t held = now_usec() - lease_start;
        if (held >= lease_usec) return taken_back = true;
        set_lease(lease_usec - held);
        timer_armed = true;
        return false;
    }

    void run() {
        loop_thread.store(std::this_thread::get_id());
        ::pthread_setname_np(::pthread_self(), "offshoot-deliv");  // in top -H, gdb, /proc (15 characters at most)
        std::unique_lock lock(mutex);
        bool work = true;
        while (!stop) {
            if (work) {
                processing = true;
                lock.unlock();
                const bool alive = process();
                lock.lock();
                processing = false;
                idle.notify_all();
                if (!alive) {
                    broken.store(true);
                    break;
                }
                if (stop) break;
            }
            if (scopes == 0 || taken_back) {
                deadline = rearm_locked();
                work = true;
                if (deadline == 0) continue;
            } else {
                deadline = forever;  // the socket is a caller's; its lease timer brings us back
            }
            const uint64_t until = deadline;
            lock.unlock();
            const Woken woken = wait_events(until);
            lock.lock();
            work = woken.other;
            if (woken.lease_timer && lease_expired_locked()) work = true;  // a long call, or a scope that waits
        }
        ended = true;
    }

    sdbus::IConnection& connection;
    OwnedFd epoll;
    OwnedFd wake_fd;
    OwnedFd timer_fd;
    const int bus_fd;

    std::mutex mutex;  // guards what follows, up to the atomics
    int scopes = 0;            // CallScopes alive on other threads
    uint64_t lease_start = 0;  // when `scopes` last became non-zero (µs, CLOCK_MONOTONIC)
    bool timer_armed = false;
    bool taken_back = false;   // a lease ran out: this thread watches the socket again
    bool stop = false;
    bool ended = false;
    bool processing = false;      // inside process(), i.e. sdbus-c++'s enterEventLoop()
    std::condition_variable idle;  // notified when `processing` goes false
    uint64_t deadline = forever;  // what the thread's current epoll_wait waits for at most

    std::atomic<bool> broken{false};
    std::atomic<std::thread::id> loop_thread{};
    std::thread thread;  // last: started once everything above exists
};

DeliveryThread::DeliveryThread(sdbus::IConnection& connection)
    : state_(std::make_unique<State>(connection)) {
    state_->thread = std::thread([s = state_.get()] { s->run(); });
}

DeliveryThread::~DeliveryThread() {
    {
        std::lock_guard lock(state_->mutex);
        state_->stop = true;
    }
    state_->wake();
    state_->thread.join();
}

bool DeliveryThread::disconnected() const noexcept { return state_->broken.load(); }

bool DeliveryThread::on_this_thread() const noexcept {
    return state_->loop_thread.load() == std::this_thread::get_id();
}

bool DeliveryThread::begin_call() {
    State& s = *state_;
    if (on_this_thread()) return false;
    std::unique_lock lock(s.mutex);
    // A call made while this thread is inside enterEventLoop() is sent by sdbus-c++ 1.2 as an
    // asynchronous one whose reply the loop hands over (Proxy::sendMethodCallMessageAndWaitForReply)
    // — slower, and if the connection breaks between the send and sdbus-c++'s poll-data check
    // after it, the call throws System.Error.ENOTCONN although it was sent, and its reply slot
    // still points into the caller's stack. So wait for the thread to come out: it returns as
    // soon as nothing is pending. Bounded, for a handler on this thread that waits for the caller.
    s.idle.wait_for(lock, process_wait, [&] { return !s.processing || s.ended; });
    if (s.ended) return false;
    if (s.scopes++ == 0) {
        s.taken_back = false;
        s.watch_bus(0);
        s.lease_start = now_usec();
        if (!s.timer_armed) {
            s.set_lease(lease_usec);
            s.timer_armed = true;
        }
    }
    return true;
}

void DeliveryThread::end_call() noexcept {
    State& s = *state_;
    std::lock_guard lock(s.mutex);
    if (--s.scopes > 0) return;
    s.taken_back = false;
    // Wake the thread only if it has something to do sooner than it thought: messages queued
    // during the call, or a pending reply (an async call just made) due before its deadline.
    const uint64_t next = s.rearm_locked();
    if (next < s.deadline) s.wake();
}

}  // namespace offshoot

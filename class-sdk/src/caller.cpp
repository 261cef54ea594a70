// caller.cpp — calls into a caller's objects (offshoot/caller.hpp): the connection handle, the
// calls in flight (each ends exactly once), and the blocking form's guard and deadline.
#include <offshoot/caller.hpp>
#include <offshoot/object.hpp>

#include <time.h>

#include <cstdio>
#include <exception>
#include <list>

namespace offshoot {

namespace detail {

// A connection to call back on. `bus` is one reference, touched on the loop thread only.
struct CallerState {
    sd_bus* bus = nullptr;
    std::shared_ptr<LoopExecutor> loop;
    std::string peer;  // the destination of our calls: the peer's unique name, if it has one

    CallerState(sd_bus* b, std::shared_ptr<LoopExecutor> executor, std::string peer_name)
        : bus(sd_bus_ref(b)), loop(std::move(executor)), peer(std::move(peer_name)) {}
    CallerState(const CallerState&) = delete;
    CallerState& operator=(const CallerState&) = delete;
    ~CallerState() {
        release_on_loop(loop, bus, [](void* b) { sd_bus_unref(static_cast<sd_bus*>(b)); });
    }
};

namespace {

thread_local sd_bus_message* current_call = nullptr;

uint64_t now_usec() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

// One call in flight. Owned by the registry below from the moment it is sent until it ends;
// touched on the loop thread only (the mutex is for tests that run several loops at once).
struct OutgoingCall {
    sd_bus* bus = nullptr;
    sd_bus_slot* slot = nullptr;  // ours (not floating): unref'd when the call ends
    uint64_t started_usec = 0;
    uint64_t timeout_usec = 0;
    std::string what;  // "org.offshoot1.example.Sink.Entry on /sink", for messages
    std::function<void(sd_bus_message*, const Error*)> done;
    std::list<OutgoingCall*>::iterator position;
};

std::mutex registry_mutex;
std::list<OutgoingCall*>& registry() {
    static auto* calls = new std::list<OutgoingCall*>;  // never destroyed: used until exit
    return *calls;
}

Error disconnected(const std::string& what, const char* why) {
    return Error(errors::dbus_disconnected, "no answer from the caller to " + what + ": " + why);
}

// Ends `call`: out of the registry, its slot released, then done() — which may start new calls.
void finish(OutgoingCall* call, sd_bus_message* reply, const Error* error) noexcept {
    {
        std::lock_guard lock(registry_mutex);
        registry().erase(call->position);
    }
    // Inside the reply callback sd-bus holds a reference of its own to the slot.
    sd_bus_slot_unref(call->slot);
    auto done = std::move(call->done);
    const std::string what = std::move(call->what);
    delete call;
    try {
        done(reply, error);
    } catch (...) {
        const ExceptionParts e = current_exception_parts(errors::dbus_failed);
        std::fprintf(stderr, "offshoot: the reply handler of %s threw: %s\n", what.c_str(), e.message.c_str());
    }
}

// What the reply means: sd-bus answers a call that timed out, and each call in flight when the
// connection closes, with a NoReply error of its own making.
int on_reply(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto* call = static_cast<OutgoingCall*>(userdata);
    const sd_bus_error* e = sd_bus_message_get_error(m);
    if (!e) {
        finish(call, m, nullptr);
        return 0;
    }
    const bool no_reply = sd_bus_error_has_name(e, errors::dbus_no_reply);
    std::optional<Error> error;
    if (no_reply && sd_bus_is_open(call->bus) <= 0) {
        error.emplace(disconnected(call->what, "its connection closed"));
    } else if (no_reply && now_usec() - call->started_usec >= call->timeout_usec) {
        error.emplace(errors::timeout, "no answer from the caller to " + call->what + " within " +
                                           std::to_string(call->timeout_usec / 1000) + " ms");
    } else {
        error.emplace(e->name, e->message ? e->message : "");
    }
    finish(call, nullptr, &*error);
    return 0;
}

// On the loop thread: the call goes out, or ends at once with the reason it cannot.
void send_call(const std::shared_ptr<CallerState>& caller, const std::string& path, const char* interface,
               const std::string& member, uint64_t timeout_usec, const std::function<void(sd_bus_message*)>& fill,
               std::function<void(sd_bus_message*, const Error*)> done) {
    const std::string what = std::string(interface) + "." + member + " on " + path;
    auto fail = [&](const Error& e) {
        if (done) done(nullptr, &e);
    };
    sd_bus* bus = caller ? caller->bus : nullptr;
    if (!bus || sd_bus_is_open(bus) <= 0) return fail(disconnected(what, "its connection is closed"));

    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus, &raw, caller->peer.empty() ? nullptr : caller->peer.c_str(),
                                           path.c_str(), interface, member.c_str());
    marshal::detail::MessageRef m;
    m.m = raw;
    if (r < 0) return fail(Error(errors::dbus_invalid_args, "cannot call " + what + ": " + errno_text(r)));
    try {
        fill(m.m);
    } catch (const Error& e) {
        return fail(e);
    }
    if (!done) {
        r = sd_bus_message_set_expect_reply(m.m, 0);
        if (r >= 0) r = sd_bus_send(bus, m.m, nullptr);
        if (r < 0) std::fprintf(stderr, "offshoot: cannot send %s: %s\n", what.c_str(), errno_text(r).c_str());
        return;
    }
    auto* call = new OutgoingCall{bus, nullptr, now_usec(), timeout_usec, what, std::move(done), {}};
    r = sd_bus_call_async(bus, &call->slot, m.m, on_reply, call, timeout_usec);
    if (r < 0) {
        auto d = std::move(call->done);
        delete call;
        const Error e = r == -ENOTCONN || r == -ECONNRESET
                            ? disconnected(what, "its connection is closed")
                            : Error(errors::dbus_failed, "cannot send " + what + ": " + errno_text(r));
        d(nullptr, &e);
        return;
    }
    std::lock_guard lock(registry_mutex);
    call->position = registry().insert(registry().end(), call);
}

}  // namespace

CurrentCall::CurrentCall(sd_bus_message* call) noexcept : previous_(current_call) { current_call = call; }
CurrentCall::~CurrentCall() { current_call = previous_; }
sd_bus_message* CurrentCall::get() noexcept { return current_call; }

void fail_calls_on(sd_bus* bus, const char* why) noexcept {
    for (;;) {
        OutgoingCall* call = nullptr;
        {
            std::lock_guard lock(registry_mutex);
            for (OutgoingCall* c : registry())
                if (c->bus == bus) {
                    call = c;
                    break;
                }
        }
        if (!call) return;
        try {
            const Error e = disconnected(call->what, why);
            finish(call, nullptr, &e);
        } catch (...) {  // no memory for the message: end it anyway
            finish(call, nullptr, nullptr);
        }
    }
}

}  // namespace detail

const std::string& Caller::peer_name() const noexcept {
    static const std::string none;
    return state_ ? state_->peer : none;
}

Caller Object::caller() const {
    sd_bus_message* call = detail::CurrentCall::get();
    if (!call)
        throw Error(errors::dbus_failed,
                    "offshoot::Object::caller() names the connection of the call being handled: call it in "
                    "the method's body, on the worker's loop thread (offshoot/caller.hpp)");
    sd_bus* bus = sd_bus_message_get_bus(call);
    return Caller(std::make_shared<detail::CallerState>(bus, executor_, sink_ ? sink_->peer_name(bus) : ""));
}

PeerProxy::PeerProxy(Caller caller, std::string object_path, const char* interface)
    : caller_(std::move(caller)), path_(std::move(object_path)), interface_(interface) {}

void PeerProxy::set_timeout(std::chrono::microseconds timeout) {
    if (timeout.count() <= 0)
        throw Error(errors::dbus_invalid_args, "a callback timeout must be more than zero");
    timeout_ = timeout;
}

void PeerProxy::start(const char* member, std::function<void(sd_bus_message*)> fill,
                      std::function<void(sd_bus_message*, const Error*)> done) {
    // What the loop thread needs to make the call, by value: the proxy may be gone by then.
    struct Start {
        std::shared_ptr<detail::CallerState> state;
        std::string path;
        const char* interface;
        std::string member;
        uint64_t timeout_usec;
        std::function<void(sd_bus_message*)> fill;
        std::function<void(sd_bus_message*, const Error*)> done;
        void operator()() { detail::send_call(state, path, interface, member, timeout_usec, fill, std::move(done)); }
    };
    auto start = std::make_shared<Start>(Start{caller_.state_, path_, interface_, member,
                                               static_cast<uint64_t>(timeout_.count()), std::move(fill),
                                               std::move(done)});
    const std::shared_ptr<LoopExecutor> loop = start->state ? start->state->loop : nullptr;
    if (!loop || loop->on_loop_thread()) {
        (*start)();
        return;
    }
    if (loop->post([start] { (*start)(); })) return;
    // Refused: the loop has ended, and the call with it.
    const Error e(errors::dbus_disconnected, std::string("no answer from the caller to ") + interface_ + "." +
                                                 member + " on " + path_ + ": the worker is shutting down");
    if (start->done) start->done(nullptr, &e);
}

void PeerProxy::refuse_on_loop_thread(const char* member) const {
    const auto& loop = caller_.state_ ? caller_.state_->loop : nullptr;
    if (loop && loop->on_loop_thread())
        throw Error(errors::dbus_failed,
                    std::string("a blocking call of ") + interface_ + "." + member +
                        " on the worker's loop thread would stop the loop it waits for: call it from a "
                        "thread of the method's own, or pass a reply handler (offshoot/caller.hpp)");
}

std::chrono::steady_clock::time_point PeerProxy::wait_deadline() const {
    return std::chrono::steady_clock::now() + timeout_ + std::chrono::seconds(5);
}

void PeerProxy::throw_loop_late(const char* member) const {
    throw Error(errors::timeout, std::string("no answer from the caller to ") + interface_ + "." + member + " on " +
                                     path_ + ": the worker's loop did not end the call in time");
}

}  // namespace offshoot

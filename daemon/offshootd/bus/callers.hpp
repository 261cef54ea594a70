// callers.hpp — who is calling offshootd: the caller's uid as the bus says it, learnt without
// blocking the loop, and whether a caller's connection is still there.
//
// dbus-daemon stamps no credentials on messages, so offshootd asks it (GetConnectionUnixUser)
// — asynchronously: a bus filter holds a method call that will need its caller's uid (Spawn,
// instance control, property reads, GetManagedObjects) from a connection not heard from yet,
// and re-queues it (sd_bus_enqueue_for_read) once the bus has answered. Everything after it
// from the same connection waits behind it, so each connection's calls keep their order; past
// max_held_calls the rest are refused. The answer is kept by unique name (never reused on a
// bus); a connection the bus can no longer name (gone) is denied. Owners of instances are
// watched (NameOwnerChanged) so that their instances can follow them when they go.
#pragma once

#include "policy/users.hpp"

#include "offshoot/common/sd_ptr.hpp"

#include <sys/types.h>

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace offshoot {

class Callers {
public:
    class Observer {
    public:
        virtual ~Observer() = default;
        // The connection `unique_name` has gone from the bus.
        virtual void owner_gone(const std::string& unique_name) = 0;
        // Calls held for their caller's uid were given back to sd-bus (shutdown waits for them).
        virtual void held_calls_released() = 0;
    };

    // The calls one connection may have held while the bus is asked who it is; the system
    // bus lets a connection have 128 calls awaiting replies in all (max_replies_per_connection).
    static constexpr std::size_t max_held_calls = 64;

    explicit Callers(Observer& observer);
    Callers(const Callers&) = delete;
    Callers& operator=(const Callers&) = delete;
    ~Callers();

    // Installs the bus filter on `bus` (before the objects are registered); `bus` is attached to
    // its event loop already.
    void attach(sd_bus* bus);

    // The caller of `m`, from the bus alone (never from arguments or /proc). Not knowing it
    // means no: throws AccessDenied. A call the filter held arrives here with its uid known.
    Caller caller_of(sd_bus_message* m);
    // The uid offshootd already knows for the sender of `m` (no bus call), if any; on a
    // direct connection, the socket's peer.
    std::optional<uid_t> known_uid(sd_bus_message* m) const;
    // Watches `caller`'s connection: Observer::owner_gone when it goes.
    void watch(const Caller& caller);
    // Whether calls are still held for their caller's uid.
    bool holding() const noexcept { return !held_.empty(); }

private:
    struct HeldCalls;
    struct Watch;

    static int on_incoming(sd_bus_message* m, void* userdata, sd_bus_error* e);
    static int on_caller_known(sd_bus_message* reply, void* userdata, sd_bus_error* e);
    static int on_name_owner_changed(sd_bus_message* m, void* userdata, sd_bus_error* e);
    static int on_has_owner(sd_bus_message* m, void* userdata, sd_bus_error* e);
    static int on_reap(sd_event_source* s, void* userdata);

    std::optional<uid_t> known_uid(const char* sender) const;
    void remember(const std::string& sender, uid_t uid);
    void gone(const std::string& name);
    void reap_later();

    Observer& observer_;
    sd_event* event_ = nullptr;
    sd_bus* bus_ = nullptr;
    SlotPtr filter_;
    EventSourcePtr reap_source_;
    // Callers' uids by unique name, as the bus said (a unique name is never reused on a bus,
    // so an entry stays true; forgotten with the owner's watch, and all at once past a bound).
    std::map<std::string, uid_t, std::less<>> uids_;
    std::set<std::string, std::less<>> unresolved_;  // the bus would not say (gone): denied
    std::map<std::string, std::unique_ptr<HeldCalls>, std::less<>> held_;
    std::map<std::string, std::unique_ptr<Watch>, std::less<>> watches_;
    // Freed once the dispatch that let go of them is over (their slots may be running).
    std::vector<std::unique_ptr<HeldCalls>> doomed_held_;
    std::vector<std::unique_ptr<Watch>> doomed_watches_;
};

}  // namespace offshoot

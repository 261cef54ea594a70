// callers.cpp — see callers.hpp.
#include "bus/callers.hpp"

#include "offshoot/common/errors.hpp"
#include "offshoot/common/log.hpp"

#include <fmt/format.h>

#include <string_view>

namespace offshoot {

// The calls of one connection waiting for the bus to say whose they are, in arrival order.
struct Callers::HeldCalls {
    Callers* callers;
    std::string sender;
    std::vector<MessagePtr> calls;
    SlotPtr query;
};

// One watched connection: its NameOwnerChanged match, the NameHasOwner query that closes the
// race with a connection gone before the match was in place, and its uid.
struct Callers::Watch {
    Callers* callers;
    std::string name;
    uid_t uid;
    SlotPtr match;
    SlotPtr query;
};

namespace {

// The caches are cheap to fill again: past this size they start over.
constexpr std::size_t max_cached = 8192;

// Calls whose handler asks who the caller is: Spawn (the owner, the policy, the quotas),
// instance control (Start, Stop, Kill, Release) and property reads on a handle,
// GetManagedObjects included (Address is for the owner and root only).
bool needs_caller(sd_bus_message* m) {
    const char* path = sd_bus_message_get_path(m);
    const char* iface = sd_bus_message_get_interface(m);
    const char* member = sd_bus_message_get_member(m);
    if (!path || !iface || !member) return false;
    const std::string_view p{path}, i{iface}, mem{member};
    if (mem == "GetManagedObjects") return true;
    if (p == names::supervisor_path && i == names::supervisor_interface) return mem == "Spawn" || mem == "SpawnWithOptions";
    if (!p.starts_with(names::instance_path_prefix)) return false;
    if (i == names::instance_interface) return mem == "Start" || mem == "Stop" || mem == "Kill" || mem == "Release";
    return i == "org.freedesktop.DBus.Properties" && (mem == "Get" || mem == "GetAll");
}

}  // namespace

Callers::Callers(Observer& observer) : observer_(observer) {}

Callers::~Callers() {
    // Slots first: their userdata are the records below.
    reap_source_.reset();
    held_.clear();
    watches_.clear();
    doomed_held_.clear();
    doomed_watches_.clear();
    filter_.reset();
}

void Callers::attach(sd_bus* bus) {
    bus_ = bus;
    event_ = sd_bus_get_event(bus);
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_add_filter(bus, &slot, on_incoming, this);
    if (r < 0) fail(errors::failed, "cannot add the bus filter: {}", errno_text(r));
    filter_.reset(slot);
}

std::optional<uid_t> Callers::known_uid(const char* sender) const {
    if (!sender) return std::nullopt;
    if (auto it = uids_.find(sender); it != uids_.end()) return it->second;
    return std::nullopt;
}

std::optional<uid_t> Callers::known_uid(sd_bus_message* m) const {
    if (!m) return std::nullopt;
    if (const char* sender = sd_bus_message_get_sender(m)) return known_uid(sender);
    // A direct connection: the socket's peer credentials, no bus involved.
    sd_bus_creds* c = nullptr;
    uid_t uid = 0;
    const bool known = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &c) >= 0 && sd_bus_creds_get_euid(c, &uid) >= 0;
    sd_bus_creds_unref(c);
    return known ? std::optional<uid_t>(uid) : std::nullopt;
}

void Callers::remember(const std::string& sender, uid_t uid) {
    if (uids_.size() >= max_cached) uids_.clear();
    uids_[sender] = uid;
}

Caller Callers::caller_of(sd_bus_message* m) {
    const char* sender = sd_bus_message_get_sender(m);
    if (auto uid = known_uid(sender)) return Caller{*uid, sender};
    if (sender && unresolved_.count(sender))  // the bus already said it can't tell (gone, mostly)
        fail(errors::access_denied, "cannot determine the caller's user from the bus; denied");
    // Only a call that got past the filter unknown (the filter could not ask) gets here: ask
    // synchronously, and deny if the bus still won't say.
    sd_bus_creds* c = nullptr;
    int r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UNIQUE_NAME, &c);
    CredsPtr creds{c};
    uid_t uid = 0;
    if (r < 0 || sd_bus_creds_get_euid(c, &uid) < 0)
        fail(errors::access_denied, "cannot determine the caller's user from the bus; denied");
    if (sender) remember(sender, uid);
    return Caller{uid, sender ? sender : ""};
}

int Callers::on_incoming(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto& self = *static_cast<Callers*>(userdata);
    uint8_t type = 0;
    if (sd_bus_message_get_type(m, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL) return 0;
    const char* sender = sd_bus_message_get_sender(m);
    if (!sender) return 0;  // a direct connection: its peer credentials are local
    if (auto it = self.held_.find(sender); it != self.held_.end()) {
        if (it->second->calls.size() >= max_held_calls) {  // a flood while the bus is asked
            (void)sd_bus_reply_method_errorf(m, errors::dbus_limits_exceeded,
                                             "%zu calls are already waiting for the bus to say who sent them",
                                             it->second->calls.size());
            return 1;
        }
        it->second->calls.emplace_back(sd_bus_message_ref(m));  // behind the held ones
        return 1;
    }
    if (!needs_caller(m) || self.known_uid(sender) || self.unresolved_.count(sender)) return 0;
    auto held = std::make_unique<HeldCalls>(HeldCalls{&self, sender, {}, nullptr});
    held->calls.emplace_back(sd_bus_message_ref(m));
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_call_method_async(self.bus_, &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "GetConnectionUnixUser", on_caller_known, held.get(),
                                     "s", sender);
    if (r < 0) return 0;  // the handler asks synchronously instead
    held->query.reset(slot);
    self.held_.emplace(sender, std::move(held));
    log::debug("holding calls from {} until the bus says whose they are", sender);
    return 1;
}

int Callers::on_caller_known(sd_bus_message* reply, void* userdata, sd_bus_error*) {
    auto* held = static_cast<HeldCalls*>(userdata);
    Callers& self = *held->callers;
    uint32_t uid = 0;
    if (!sd_bus_message_is_method_error(reply, nullptr) && sd_bus_message_read(reply, "u", &uid) >= 0) {
        self.remember(held->sender, uid);
    } else {
        if (self.unresolved_.size() >= max_cached) self.unresolved_.clear();
        self.unresolved_.insert(held->sender);  // its calls are denied (caller_of)
    }
    auto it = self.held_.find(held->sender);
    if (it == self.held_.end()) return 1;
    auto mine = std::move(it->second);  // its slot is running this callback: freed later
    self.held_.erase(it);
    for (auto& call : mine->calls) {
        int r = sd_bus_enqueue_for_read(self.bus_, call.get());
        if (r < 0) {
            log::warning("cannot requeue a call from {}: {}", mine->sender, errno_text(r));
            (void)sd_bus_reply_method_errorf(call.get(), errors::failed, "offshootd lost this call: %s",
                                             errno_text(r).c_str());
        }
    }
    self.doomed_held_.push_back(std::move(mine));
    self.reap_later();
    self.observer_.held_calls_released();
    return 1;
}

void Callers::watch(const Caller& caller) {
    const std::string& name = caller.unique_name;
    if (name.empty()) return;
    if (auto it = watches_.find(name); it != watches_.end()) return;
    auto w = std::make_unique<Watch>(Watch{this, name, caller.uid, nullptr, nullptr});
    sd_bus_slot* slot = nullptr;
    // Match only this name's NameOwnerChanged; the async AddMatch keeps the loop responsive.
    const auto rule = fmt::format(
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='{}'", name);
    int r = sd_bus_add_match_async(bus_, &slot, rule.c_str(), on_name_owner_changed, nullptr, w.get());
    if (r < 0) {
        log::warning("cannot watch {}: {}", name, errno_text(r));
        return;
    }
    w->match.reset(slot);
    // The owner may be gone before the match is in place: ask once, after it.
    slot = nullptr;
    r = sd_bus_call_method_async(bus_, &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                 "NameHasOwner", on_has_owner, w.get(), "s", name.c_str());
    if (r >= 0) w->query.reset(slot);
    remember(name, caller.uid);
    watches_[name] = std::move(w);
}

int Callers::on_has_owner(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto* w = static_cast<Watch*>(userdata);
    int has = 1;
    if (!sd_bus_message_is_method_error(m, nullptr)) (void)sd_bus_message_read(m, "b", &has);
    if (!has) w->callers->gone(std::string(w->name));
    return 0;
}

int Callers::on_name_owner_changed(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto* w = static_cast<Watch*>(userdata);
    const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0) return 0;
    if (new_owner && *new_owner) return 0;
    w->callers->gone(std::string(w->name));
    return 0;
}

void Callers::gone(const std::string& name) {
    auto it = watches_.find(name);
    if (it == watches_.end()) return;
    // Destroying the watch frees the slot whose callback may be running: later.
    doomed_watches_.push_back(std::move(it->second));
    watches_.erase(it);
    uids_.erase(name);
    unresolved_.erase(name);
    reap_later();
    observer_.owner_gone(name);
}

void Callers::reap_later() {
    if (!reap_source_) {
        sd_event_source* s = nullptr;
        if (sd_event_add_defer(event_, &s, on_reap, this) < 0) return;  // freed with the object
        reap_source_.reset(s);
    }
    (void)sd_event_source_set_enabled(reap_source_.get(), SD_EVENT_ONESHOT);
}

int Callers::on_reap(sd_event_source*, void* userdata) {
    auto& self = *static_cast<Callers*>(userdata);
    self.doomed_held_.clear();
    self.doomed_watches_.clear();
    return 0;
}

}  // namespace offshoot

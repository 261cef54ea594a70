// monitor.cpp — see monitor.hpp.
#include "monitor.hpp"

#include "server.hpp"

#include "offshoot/common/log.hpp"
#include "offshoot/common/sd_ptr.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace offshoot::worker {
namespace {

using SendFn = int (*)(sd_bus*, sd_bus_message*, uint64_t*);

// libsystemd's own sd_bus_send, behind the one the worker defines.
SendFn real_send() {
    static const SendFn fn = reinterpret_cast<SendFn>(::dlsym(RTLD_NEXT, "sd_bus_send"));
    return fn;
}

int send_for_real(sd_bus* bus, sd_bus_message* m, uint64_t* cookie) {
    const SendFn fn = real_send();
    return fn ? fn(bus, m, cookie) : -ENOSYS;
}

// The hook's state. Only the loop thread ever dereferences `active_hub` (the thread it is for,
// `hook_thread`, is compared first), and only the loop thread sets it or destroys the hub.
std::atomic<Monitors*> active_hub{nullptr};
std::atomic<std::thread::id> hook_thread{};

const char* or_empty(const char* s) { return s ? s : ""; }

// A peer's call or signal again, with the peer's unique name as its sender (a bus stamps it;
// peers on a private connection do not) and its own cookie. Null for other kinds of message,
// or when the copy cannot be made: the original is copied then.
MessagePtr with_sender(const Connection& c, sd_bus_message* m) {
    uint8_t type = 0;
    (void)sd_bus_message_get_type(m, &type);
    sd_bus_message* raw = nullptr;
    int r = -EOPNOTSUPP;
    if (type == SD_BUS_MESSAGE_METHOD_CALL)
        r = sd_bus_message_new_method_call(c.bus.get(), &raw, sd_bus_message_get_destination(m),
                                           sd_bus_message_get_path(m), sd_bus_message_get_interface(m),
                                           sd_bus_message_get_member(m));
    else if (type == SD_BUS_MESSAGE_SIGNAL)
        r = sd_bus_message_new_signal(c.bus.get(), &raw, sd_bus_message_get_path(m), sd_bus_message_get_interface(m),
                                      sd_bus_message_get_member(m));
    MessagePtr copy(raw);
    if (r < 0) return {};
    uint64_t cookie = 0;
    r = sd_bus_message_set_sender(raw, c.unique_name.c_str());
    if (r >= 0) r = sd_bus_message_set_expect_reply(raw, sd_bus_message_get_expect_reply(m));
    if (r >= 0) r = sd_bus_message_set_auto_start(raw, sd_bus_message_get_auto_start(m));
    if (r >= 0) r = sd_bus_message_copy(raw, m, /* all= */ 1);
    // The original is dispatched after this filter: it must be read from its start again.
    (void)sd_bus_message_rewind(m, /* complete= */ 1);
    if (r >= 0) r = sd_bus_message_get_cookie(m, &cookie);
    if (r >= 0) r = sd_bus_message_seal(raw, cookie, 0);
    return r >= 0 ? std::move(copy) : MessagePtr();
}

int message_type(std::string_view v) {
    if (v == "signal") return SD_BUS_MESSAGE_SIGNAL;
    if (v == "method_call") return SD_BUS_MESSAGE_METHOD_CALL;
    if (v == "method_return") return SD_BUS_MESSAGE_METHOD_RETURN;
    if (v == "error") return SD_BUS_MESSAGE_METHOD_ERROR;
    return 0;
}

// One value of a rule: 'quoted' pieces, \' for an apostrophe outside quotes, and plain text,
// up to the next ',' outside quotes. False for an unclosed quote.
bool read_value(std::string_view text, size_t& i, std::string& out) {
    while (i < text.size() && text[i] != ',') {
        if (text[i] == '\'') {
            const size_t close = text.find('\'', i + 1);
            if (close == std::string_view::npos) return false;
            out.append(text.substr(i + 1, close - i - 1));
            i = close + 1;
        } else if (text.substr(i, 2) == "\\'") {
            out += '\'';
            i += 2;
        } else {
            out += text[i++];
        }
    }
    return true;
}

// Puts `value` under `key`; false with `error` for a key this server does not take.
bool assign(MatchRule& rule, std::string_view key, const std::string& value, std::string& error) {
    std::string* field = key == "sender" ? &rule.sender
                         : key == "destination" ? &rule.destination
                         : key == "interface" ? &rule.interface
                         : key == "member" ? &rule.member
                         : key == "path" ? &rule.path
                         : key == "path_namespace" ? &rule.path_namespace
                                                   : nullptr;
    if (key == "type") {
        rule.type = message_type(value);
        if (!rule.type) error = "type='" + value + "' is none of signal, method_call, method_return, error";
        return rule.type != 0;
    }
    if (key == "eavesdrop") {
        if (value == "true" || value == "false") return true;
        error = "eavesdrop= must be true or false";
        return false;
    }
    if (!field) {
        error = "the key '" + std::string(key) +
                "' is not supported by this monitor (type, sender, destination, interface, member, path, "
                "path_namespace are)";
        return false;
    }
    if (!field->empty()) {
        error = "the key '" + std::string(key) + "' is given twice";
        return false;
    }
    if (value.empty()) {
        error = "the key '" + std::string(key) + "' has an empty value";
        return false;
    }
    *field = value;
    return true;
}

}  // namespace

std::optional<MatchRule> parse_match_rule(std::string_view text, std::string& error) {
    MatchRule rule;
    size_t i = 0;
    auto skip_spaces = [&] {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    };
    for (skip_spaces(); i < text.size(); skip_spaces()) {
        const size_t eq = text.find('=', i);
        if (eq == std::string_view::npos) {
            error = "expected key='value' in '" + std::string(text.substr(0, 128)) + "'";
            return std::nullopt;
        }
        std::string_view key = text.substr(i, eq - i);
        while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
        i = eq + 1;
        std::string value;
        if (!read_value(text, i, value)) {
            error = "a quote is not closed in '" + std::string(text.substr(0, 128)) + "'";
            return std::nullopt;
        }
        if (!assign(rule, key, value, error)) return std::nullopt;
        if (i < text.size()) ++i;  // the ','
    }
    return rule;
}

bool MatchRule::matches(sd_bus_message* m, std::string_view sender_name) const {
    uint8_t t = 0;
    (void)sd_bus_message_get_type(m, &t);
    if (type && t != type) return false;
    if (!sender.empty() && sender != sender_name) return false;
    auto same = [](const std::string& want, const char* have) { return want.empty() || want == or_empty(have); };
    if (!same(destination, sd_bus_message_get_destination(m)) || !same(interface, sd_bus_message_get_interface(m)) ||
        !same(member, sd_bus_message_get_member(m)) || !same(path, sd_bus_message_get_path(m)))
        return false;
    if (path_namespace.empty() || path_namespace == "/") return true;
    const std::string_view p = or_empty(sd_bus_message_get_path(m));
    return p == path_namespace || (p.starts_with(path_namespace) && p.size() > path_namespace.size() &&
                                   p[path_namespace.size()] == '/');
}

Monitors::~Monitors() { activate(false); }

void Monitors::activate(bool on) noexcept {
    if (on) {
        hook_thread.store(server_.loop_thread(), std::memory_order_release);
        active_hub.store(this, std::memory_order_release);
    } else if (active_hub.load(std::memory_order_acquire) == this) {
        active_hub.store(nullptr, std::memory_order_release);
    }
}

int Monitors::become(Connection& c, sd_bus_message* call, sd_bus_error* error) {
    std::vector<MatchRule> rules;
    int r = sd_bus_message_enter_container(call, 'a', "s");
    const char* text = nullptr;
    while (r >= 0 && (r = sd_bus_message_read(call, "s", &text)) > 0) {
        if (rules.size() == max_rules)
            return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED, "a monitor takes at most %zu match rules",
                                     max_rules);
        std::string why;
        std::optional<MatchRule> rule;
        if (std::strlen(text) > max_rule_length) why = "a match rule may have at most 1024 characters";
        else rule = parse_match_rule(text, why);
        if (!rule) return sd_bus_error_setf(error, SD_BUS_ERROR_MATCH_RULE_INVALID, "%s", why.c_str());
        rules.push_back(std::move(*rule));
    }
    uint32_t flags = 0;
    if (r >= 0) r = sd_bus_message_exit_container(call);
    if (r >= 0) r = sd_bus_message_read(call, "u", &flags);
    if (r < 0) return r;
    if (flags != 0)
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "BecomeMonitor's flags must be 0, not %u", flags);
    // The listening socket let in only these two; checked again here, failing closed.
    if (c.peer.uid != 0 && c.peer.uid != server_.owner_uid())
        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                 "only the instance's owner (uid %u) and root may monitor it", server_.owner_uid());
    if (monitors_.size() >= max_monitors)
        return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED, "this instance has %zu monitors already, the most it takes",
                                 max_monitors);
    if ((r = sd_bus_reply_method_return(call, nullptr)) < 0) return r;

    c.monitor = true;
    c.rules = std::move(rules);
    monitors_.push_back(&c);
    if (monitors_.size() == 1) activate(true);
    log::info("{} (pid {} uid {}) monitors the instance{}", c.unique_name, c.peer.pid, c.peer.uid,
              c.rules.empty() ? "" : " (" + std::to_string(c.rules.size()) + " match rules)");
    // As a bus does: the monitor loses its name (busctl waits for this before it prints).
    sd_bus_message* raw = nullptr;
    r = sd_bus_message_new_signal(c.bus.get(), &raw, "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameLost");
    MessagePtr lost(raw);
    if (r >= 0) r = sd_bus_message_append(raw, "s", c.unique_name.c_str());
    if (r >= 0) r = sd_bus_message_set_destination(raw, c.unique_name.c_str());
    if (r >= 0) r = sd_bus_message_set_sender(raw, "org.freedesktop.DBus");
    if (r >= 0) r = sd_bus_send(c.bus.get(), raw, nullptr);
    if (r < 0) log::debug("cannot send NameLost to {}: {}", c.unique_name, errno_text(r));
    return 1;
}

bool Monitors::incoming(Connection& c, sd_bus_message* m) {
    if (c.monitor) {
        log::notice("closing monitor {} (pid {} uid {}): a monitor may not send messages, and it sent {}.{}",
                    c.unique_name, c.peer.pid, c.peer.uid, or_empty(sd_bus_message_get_interface(m)),
                    or_empty(sd_bus_message_get_member(m)));
        return false;
    }
    if (MessagePtr copy = with_sender(c, m)) distribute(copy.get(), c.unique_name);
    else distribute(m, or_empty(sd_bus_message_get_sender(m)));
    return true;
}

void Monitors::forget(const Connection& c) noexcept {
    if (!c.monitor) return;
    std::erase(monitors_, &c);
    if (monitors_.empty()) activate(false);
}

sd_bus* Monitors::capture_bus() const noexcept {
    for (Connection* mon : monitors_)
        if (!mon->closed) return mon->bus.get();
    return nullptr;
}

bool Monitors::is_peer(sd_bus* bus) const noexcept {
    for (const auto& c : server_.connections())
        if (c->bus.get() == bus) return !c->closed && !c->monitor;
    return false;
}

int Monitors::send(sd_bus* bus, sd_bus_message* m, uint64_t* cookie) {
    if (!bus) bus = sd_bus_message_get_bus(m);
    if (bus && bus == capture_) {
        // A broadcast's emission for the monitors: it goes to each of them, not to this bus alone.
        distribute(m, names::object_name);
        return 1;
    }
    const int r = send_for_real(bus, m, cookie);
    if (r >= 0 && broadcasting_ == 0 && is_peer(bus)) distribute(m, or_empty(sd_bus_message_get_sender(m)));
    return r;
}

void Monitors::distribute(sd_bus_message* m, std::string_view sender) {
    // A copy: a monitor dropped on the way leaves the list meanwhile (forget()).
    const std::vector<Connection*> monitors = monitors_;
    for (Connection* mon : monitors) {
        if (mon->closed) continue;
        if (!mon->rules.empty() &&
            std::none_of(mon->rules.begin(), mon->rules.end(), [&](const MatchRule& rule) { return rule.matches(m, sender); }))
            continue;
        uint64_t queued = 0;
        if (sd_bus_get_n_queued_write(mon->bus.get(), &queued) >= 0 && queued >= max_queued) {
            log::notice("closing monitor {} (pid {} uid {}): {} copies wait for it to read them", mon->unique_name,
                        mon->peer.pid, mon->peer.uid, queued);
            server_.drop(*mon, "a monitor that does not read");
            continue;
        }
        const int r = send_for_real(mon->bus.get(), m, nullptr);
        // EOPNOTSUPP: descriptors, to a monitor that did not negotiate passing them.
        if (r < 0 && r != -EOPNOTSUPP) server_.drop(*mon, "a copy could not be sent to the monitor");
    }
}

}  // namespace offshoot::worker

// The interposer. offshoot-worker defines sd_bus_send() and exports it (its CMakeLists.txt), so
// the dynamic linker binds every caller's — libsystemd's own replies and signals, the class
// SDK's, the plugin's — to this one; it hands each message on to libsystemd's and, while the
// instance has monitors, to them. Other threads and a worker without monitors pass straight
// through.
extern "C" __attribute__((visibility("default"))) int sd_bus_send(sd_bus* bus, sd_bus_message* m, uint64_t* cookie) {
    using namespace offshoot::worker;
    if (std::this_thread::get_id() == hook_thread.load(std::memory_order_acquire))
        if (Monitors* hub = active_hub.load(std::memory_order_acquire)) return hub->send(bus, m, cookie);
    return send_for_real(bus, m, cookie);
}

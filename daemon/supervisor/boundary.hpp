// boundary.hpp — the D-Bus boundary of the supervisor: every exception becomes an error reply.
#pragma once

#include "errors.hpp"

#include "offshoot/common/log.hpp"

#include <systemd/sd-bus.h>

#include <exception>
#include <optional>
#include <string>
#include <new>

namespace offshoot {

// Runs a method body. offshoot::Error becomes its named error; anything else is unexpected,
// logged, and answered as org.offshoot1.Error.Failed. The daemon never dies of a bad call.
template <class F>
int guarded(sd_bus_error* ret_error, F&& body) noexcept {
    try {
        return body();
    } catch (const Error& e) {
        return sd_bus_error_set(ret_error, e.getName().c_str(), e.getMessage().c_str());
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    } catch (const std::exception& e) {
        log::error("unexpected failure in a method handler: {}", e.what());
        return sd_bus_error_set(ret_error, error_name::failed, e.what());
    } catch (...) {
        log::error("unexpected failure in a method handler");
        return sd_bus_error_set(ret_error, error_name::failed, "internal error");
    }
}

// How a refusal's log line learns the caller's uid: as offshootd already knows it (what the
// authorization used), without asking the bus again; nullopt if it never learnt it. The Daemon
// installs it (daemon.cpp); code that runs without one (the fuzz targets) logs "unknown".
using CallerUidLookup = std::optional<uid_t> (*)(sd_bus_message*) noexcept;
inline CallerUidLookup& caller_uid_lookup() noexcept {
    static CallerUidLookup lookup = nullptr;
    return lookup;
}

// A refusal is an event an administrator looks for: logged with the caller's uid ("unknown"
// when the bus never said, which is itself a reason to deny).
inline void log_denied(sd_bus_message* m, const Error& e) noexcept {
    try {
        const CallerUidLookup lookup = caller_uid_lookup();
        const std::optional<uid_t> uid = lookup ? lookup(m) : std::nullopt;
        const std::string caller_uid = uid ? std::to_string(*uid) : "unknown";
        const char* sender = sd_bus_message_get_sender(m);
        const char* member = sd_bus_message_get_member(m);
        const char* path = sd_bus_message_get_path(m);
        log::event(log::Level::notice, log::message_id::deny,
                   {{"OFFSHOOT_CALLER_UID", caller_uid}, {"OFFSHOOT_CALLER", sender},
                    {"OFFSHOOT_METHOD", member}, {"OFFSHOOT_OBJECT", path}},
                   "denied {} on {} to uid {} ({}): {}", member ? member : "?", path ? path : "?",
                   caller_uid, sender ? sender : "?", e.getMessage());
    } catch (...) {
    }
}

// guarded() for handlers that act on a caller's behalf: AccessDenied is also logged.
template <class F>
int guarded(sd_bus_message* m, sd_bus_error* ret_error, F&& body) noexcept {
    return guarded(ret_error, [&]() -> int {
        try {
            return body();
        } catch (const Error& e) {
            if (e.getName() == error_name::access_denied) log_denied(m, e);
            throw;
        }
    });
}

inline void check_read(int r, const char* what) {
    if (r < 0) fail("org.freedesktop.DBus.Error.InvalidArgs", "cannot read {}: {}", what, errno_text(r));
}

}  // namespace offshoot

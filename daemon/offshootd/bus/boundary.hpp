// boundary.hpp — the D-Bus boundary of the supervisor: every exception becomes an error reply.
#pragma once

#include "bus/callers.hpp"

#include "offshoot/common/errors.hpp"
#include "offshoot/common/log.hpp"

#include <systemd/sd-bus.h>

#include <optional>
#include <string>

namespace offshoot {

// Runs a method body. offshoot::Error becomes its named error; anything else is unexpected,
// logged, and answered as org.offshoot1.Error.Failed (the one catch ladder,
// offshoot/common/errors.hpp). The daemon never dies of a bad call.
template <class F>
int guarded(sd_bus_error* ret_error, F&& body) noexcept {
    try {
        return body();
    } catch (...) {
        const detail::ExceptionParts e = detail::current_exception_parts(errors::failed);
        if (e.name.empty()) return -ENOMEM;
        if (!e.expected) log::error("unexpected failure in a method handler: {}", e.message);
        return sd_bus_error_set(ret_error, e.name.c_str(), e.message.c_str());
    }
}

// A refusal is an event an administrator looks for: logged with the caller's uid as offshootd
// already knows it (what the authorization used, without asking the bus again), "unknown" when
// the bus never said — which is itself a reason to deny. `callers` may be null (the fuzz
// targets run without a daemon).
inline void log_denied(const Callers* callers, sd_bus_message* m, const Error& e) noexcept {
    try {
        const std::optional<uid_t> uid = callers ? callers->known_uid(m) : std::nullopt;
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
int guarded(const Callers* callers, sd_bus_message* m, sd_bus_error* ret_error, F&& body) noexcept {
    return guarded(ret_error, [&]() -> int {
        try {
            return body();
        } catch (const Error& e) {
            if (e.getName() == errors::access_denied) log_denied(callers, m, e);
            throw;
        }
    });
}

inline void check_read(int r, const char* what) {
    if (r < 0) fail(errors::dbus_invalid_args, "cannot read {}: {}", what, errno_text(r));
}

}  // namespace offshoot

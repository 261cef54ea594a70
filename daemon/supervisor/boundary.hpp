// boundary.hpp — the D-Bus boundary of the supervisor: every exception becomes an error reply.
#pragma once

#include "errors.hpp"

#include "offshoot/common/log.hpp"

#include <systemd/sd-bus.h>

#include <exception>
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

inline void check_read(int r, const char* what) {
    if (r < 0) fail("org.freedesktop.DBus.Error.InvalidArgs", "cannot read {}: {}", what, errno_text(r));
}

}  // namespace offshoot

// offshoot/error.hpp — the one exception type of offshoot and its mapping to D-Bus errors.
//
// Classes throw offshoot::Error(name, message) to answer a call with that D-Bus error. The
// generated adaptors catch every exception at the sd-bus boundary (exception_to_error below):
// offshoot::Error keeps its name, any other std::exception becomes
// org.freedesktop.DBus.Error.Failed with what(), anything else Failed "unknown exception".
// Names that D-Bus would reject and text that is not UTF-8 are repaired here, because an
// error reply that cannot be sent would leave the caller waiting until its timeout.
#pragma once

#include <offshoot/names.hpp>

#include <sdbus-c++/Error.h>
#include <systemd/sd-bus.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>

namespace offshoot {

using Error = sdbus::Error;

// The two freedesktop.org names class code uses most (offshoot/names.hpp spells them out).
namespace error_name {
inline constexpr const char* failed = errors::dbus_failed;
inline constexpr const char* invalid_args = errors::dbus_invalid_args;
}  // namespace error_name

// The text of an errno value, of either sign (sd-bus returns -errno, libc sets errno).
inline std::string errno_text(int err) {
    const char* text = strerrordesc_np(err < 0 ? -err : err);
    return text ? text : "error " + std::to_string(err < 0 ? -err : err);
}

namespace detail {

// D-Bus error names follow the interface-name rules: at least two dot-separated elements of
// [A-Za-z_][A-Za-z0-9_]*, at most 255 characters.
inline bool is_valid_error_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 255) return false;
    int elements = 0;
    bool at_start = true;
    for (char c : name) {
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        const bool digit = c >= '0' && c <= '9';
        if (c == '.') {
            if (at_start) return false;
            at_start = true;
        } else if (at_start) {
            if (!alpha) return false;
            at_start = false;
            ++elements;
        } else if (!alpha && !digit) {
            return false;
        }
    }
    return !at_start && elements >= 2;
}

// Strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF) without NUL bytes: what
// sd-bus accepts for 's'.
inline bool is_valid_dbus_string(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        const unsigned char c = *p;
        if (c == 0) return false;
        if (c < 0x80) {
            ++p;
            continue;
        }
        int len;
        char32_t cp;
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
        else return false;
        if (end - p < len) return false;
        for (int k = 1; k < len; ++k) {
            if ((p[k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        p += len;
    }
    return true;
}

// Replaces every byte that is not part of valid UTF-8 (and every NUL) with '?'.
inline std::string sanitize_dbus_string(std::string_view s) {
    if (is_valid_dbus_string(s)) return std::string(s);
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        size_t len = 1;
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0xC0) len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (i + len <= s.size() && is_valid_dbus_string(s.substr(i, len))) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out += '?';
            ++i;
        }
    }
    return out;
}

// Fills `error` and returns the negative errno sd-bus expects from a failing callback.
inline int set_error(sd_bus_error* error, std::string_view name, std::string_view message) noexcept {
    try {
        std::string n(name), m = sanitize_dbus_string(message);
        if (!is_valid_error_name(n)) {
            m = "(invalid D-Bus error name '" + sanitize_dbus_string(n) + "') " + m;
            n = error_name::failed;
        }
        const int r = sd_bus_error_set(error, n.c_str(), m.c_str());
        return r < 0 ? r : -EIO;
    } catch (...) {
        return sd_bus_error_set_errno(error, ENOMEM);
    }
}

// What the exception being handled says, the one catch ladder of offshoot's code (class
// adaptors, offshootd's boundary, the worker's start-up): an offshoot::Error keeps its name and
// message (`expected`: a refusal its thrower meant), any other std::exception becomes
// `fallback` with what(), running out of memory NoMemory, anything else `fallback` with
// "unknown exception". Call it only from inside a catch block.
struct ExceptionParts {
    std::string name;
    std::string message;
    bool expected = false;
};

inline ExceptionParts current_exception_parts(const char* fallback = errors::dbus_failed) noexcept {
    try {
        try {
            throw;
        } catch (const Error& e) {
            return {e.getName(), e.getMessage(), true};
        } catch (const std::bad_alloc&) {
            return {errors::dbus_no_memory, "out of memory", false};
        } catch (const std::exception& e) {
            return {fallback, e.what(), false};
        } catch (...) {
            return {fallback, "unknown exception", false};
        }
    } catch (...) {  // copying the text ran out of memory
        return {};
    }
}

// The catch-all at every sd-bus callback: call it only from inside a catch block.
inline int exception_to_error(sd_bus_error* error, const char* fallback = errors::dbus_failed) noexcept {
    const ExceptionParts e = current_exception_parts(fallback);
    if (e.name.empty()) return sd_bus_error_set_errno(error, ENOMEM);
    return set_error(error, e.name, e.message);
}

}  // namespace detail
}  // namespace offshoot

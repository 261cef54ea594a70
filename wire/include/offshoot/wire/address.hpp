// offshoot/wire/address.hpp — D-Bus address escaping, for the values of an address's keys
// (`unix:path=…`, `unixexec:…,argv1=…`): every byte outside the spec's optionally-escaped set
// [-0-9A-Za-z_/.\*] becomes %xx. Header-only: offshootd (the instance's address) and
// liboffshoot-client (the ssh tunnel to one) share it.
#pragma once

#include <string>
#include <string_view>

namespace offshoot::wire {

inline std::string escape_address_value(std::string_view value) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(value.size());
    for (const unsigned char c : value) {
        const bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           std::string_view("-_/.\\*").find(static_cast<char>(c)) != std::string_view::npos;
        if (plain) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

}  // namespace offshoot::wire

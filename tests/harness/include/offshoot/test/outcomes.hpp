// offshoot/test/outcomes.hpp — the results of calls made by a child process (an unprivileged
// caller, see as_user.hpp), labelled and carried back to the test as text so the assertions
// run in the test process. Header-only.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "offshoot/test/bus_client.hpp"
#include "offshoot/test/supervisor.hpp"

namespace offshoot::test {

struct Outcome {
    std::string label;
    std::string error_name;     // empty: the call succeeded
    std::string error_message;
    std::string path;           // Spawn: the handle
    std::string address;        // Spawn: the address
    std::string value;          // anything else the child wants to report
    bool ok() const noexcept { return error_name.empty(); }
    std::string describe() const {
        return label + ": " + (ok() ? "ok " + path + " " + address + " " + value
                                    : error_name + ": " + error_message);
    }
};

inline Outcome outcome(std::string label, const SpawnReply& r) {
    return {std::move(label), r.error_name, r.error_message, r.path, r.address, {}};
}

inline Outcome outcome(std::string label, const Reply& r, std::string value = {}) {
    return {std::move(label), r.error_name, r.error_message, {}, {}, std::move(value)};
}

namespace detail {
inline std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\t' || c == '\n') c = ' ';
    return s;
}
}  // namespace detail

inline std::string encode_outcomes(const std::vector<Outcome>& outcomes) {
    std::string out;
    for (const auto& o : outcomes)
        for (const std::string* f : {&o.label, &o.error_name, &o.error_message, &o.path, &o.address, &o.value})
            out += detail::one_line(*f) + (f == &o.value ? "\n" : "\t");
    return out;
}

inline std::vector<Outcome> decode_outcomes(const std::string& text) {
    std::vector<Outcome> out;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::vector<std::string> f;
        std::size_t start = 0;
        for (;;) {
            auto tab = line.find('\t', start);
            f.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
            if (tab == std::string::npos) break;
            start = tab + 1;
        }
        f.resize(6);
        out.push_back({f[0], f[1], f[2], f[3], f[4], f[5]});
    }
    return out;
}

}  // namespace offshoot::test

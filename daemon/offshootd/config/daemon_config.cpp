// daemon_config.cpp — offshootd.conf (inih) and the per-caller spawn rate limiter.
#include "config/daemon_config.hpp"

#include <ini.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace offshoot {
namespace {

struct State {
    DaemonConfig cfg;
    std::string error;
};

template <class T>
bool parse_number(std::string_view v, T& out, T lo, T hi) {
    T x{};
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    // Written so that NaN (from_chars accepts "nan") fails the range check too.
    if (ec != std::errc() || p != v.data() + v.size() || !(x >= lo && x <= hi)) return false;
    out = x;
    return true;
}

int on_entry(void* user, const char* section, const char* key, const char* value) {
    auto& st = *static_cast<State*>(user);
    if (!st.error.empty()) return 0;
    std::string_view s{section}, k{key}, v{value};
    auto bad = [&](const char* what) {
        st.error = std::string(k) + "= " + what;
        return 0;
    };
    if (s != "Daemon") {
        st.error = "unknown section [" + std::string(s) + "]";
        return 0;
    }
    if (k == "MaxInstances") {
        if (!parse_number<uint32_t>(v, st.cfg.max_instances, 1, 1'000'000)) return bad("must be 1 to 1000000");
    } else if (k == "MaxInstancesPerUser") {
        if (!parse_number<uint32_t>(v, st.cfg.max_instances_per_user, 1, 1'000'000)) return bad("must be 1 to 1000000");
    } else if (k == "SpawnRatePerSecond") {
        if (!parse_number<double>(v, st.cfg.spawn_rate_per_second, 0.001, 1e6)) return bad("must be a number from 0.001 to 1000000");
    } else if (k == "SpawnRateBurst") {
        if (!parse_number<uint32_t>(v, st.cfg.spawn_rate_burst, 1, 1'000'000)) return bad("must be 1 to 1000000");
    } else {
        st.error = "unknown key [Daemon] " + std::string(k);
        return 0;
    }
    return 1;
}

}  // namespace

std::optional<DaemonConfig> parse_daemon_config(std::string_view text, std::string& error) {
    State st;
    std::string buf{text};
    int line = ini_parse_string(buf.c_str(), on_entry, &st);
    if (!st.error.empty() || line != 0) {
        error = (line > 0 ? "line " + std::to_string(line) + ": " : std::string()) +
                (st.error.empty() ? "syntax error" : st.error);
        return std::nullopt;
    }
    return st.cfg;
}

std::optional<DaemonConfig> load_daemon_config(const std::string& path, std::string& error) {
    std::ifstream in(path);
    if (!in) return DaemonConfig{};
    std::ostringstream ss;
    ss << in.rdbuf();
    auto cfg = parse_daemon_config(ss.str(), error);
    if (!cfg) error = path + ": " + error;
    return cfg;
}

void RateLimiter::refill(uint64_t now) {
    if (last_usec_ != 0 && now > last_usec_)
        tokens_ = std::min<double>(burst_, tokens_ + rate_ * static_cast<double>(now - last_usec_) / 1e6);
    last_usec_ = now;
}

bool RateLimiter::take(uint64_t now, uint64_t& retry_usec) {
    refill(now);
    if (tokens_ >= 1.0) {
        tokens_ -= 1.0;
        return true;
    }
    retry_usec = static_cast<uint64_t>(std::ceil((1.0 - tokens_) / rate_ * 1e6));
    return false;
}

bool RateLimiter::full(uint64_t now) {
    refill(now);
    return tokens_ >= burst_;
}

}  // namespace offshoot

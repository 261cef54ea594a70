// containment.cpp — the [Exec] resource and sandbox keys, parsed as systemd parses them
// (src/basic/parse-util.c parse_size, src/basic/percent-util.c, src/core/load-fragment.c).
#include "config/containment.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <fstream>

namespace offshoot {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<bool> parse_boolean(std::string_view v) {
    if (v == "yes" || v == "true" || v == "1" || v == "on" || v == "y" || v == "t") return true;
    if (v == "no" || v == "false" || v == "0" || v == "off" || v == "n" || v == "f") return false;
    return std::nullopt;
}

// A root cgroup's limit file, or UINT64_MAX when it has none (or isn't there).
uint64_t root_cgroup_limit(const char* v2, const char* v1) {
    for (const char* f : {v2, v1}) {
        std::ifstream in(f);
        std::string text;
        if (in >> text) {
            if (const auto n = parse_u64(text)) return *n;
            if (text == "max") return UINT64_MAX;
        }
    }
    return UINT64_MAX;
}

uint64_t scale(uint64_t total, uint32_t permyriad) {
    return static_cast<uint64_t>(static_cast<unsigned __int128>(total) * permyriad / 10000);
}

// MemoryMax= and friends (config_parse_memory_limit): bytes, a percentage of RAM, infinity.
std::string parse_memory(const ResourceKey& k, std::string_view v, uint64_t& out) {
    if (v.empty() || v == "infinity") return out = no_limit, "";
    uint64_t bytes = 0;
    if (v.back() == '%' || v.ends_with("‰") || v.ends_with("‱")) {
        const auto p = parse_permyriad(v, /* unbounded= */ false);
        if (!p) return "a percentage must be between 0% and 100%";
        const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
        bytes = scale(physical_memory(), *p) / page * page;
    } else if (const auto n = parse_size(v)) {
        bytes = *n;
    } else {
        return "must be a size (K, M, G, T, P, E are powers of 1024), a percentage of RAM, or infinity";
    }
    const bool zero_ok = k.id == Resource::memory_swap_max;
    if (bytes == UINT64_MAX || (bytes == 0 && !zero_ok)) return zero_ok ? "is out of range" : "must be at least 1 byte";
    out = bytes;
    return "";
}

std::string parse_tasks(std::string_view v, uint64_t& out) {
    if (v.empty() || v == "infinity") return out = no_limit, "";
    if (v.back() == '%' || v.ends_with("‰") || v.ends_with("‱")) {
        const auto p = parse_permyriad(v, /* unbounded= */ false);
        if (!p || *p == 0) return "a percentage must be above 0% and at most 100%";
        out = std::max<uint64_t>(scale(system_tasks_max(), *p), 1);
        return "";
    }
    const auto n = parse_u64(v);
    if (!n || *n == 0 || *n == UINT64_MAX) return "must be a number of tasks (at least 1), a percentage, or infinity";
    out = *n;
    return "";
}

std::string parse_cpu_quota(std::string_view v, uint64_t& out) {
    if (v.empty()) return out = no_limit, "";
    const auto p = parse_permyriad(v, /* unbounded= */ true);
    if (!p || *p == 0) return "must be a percentage above 0% (100% is one CPU; 150% and more are allowed)";
    out = uint64_t{*p} * 1'000'000 / 10000;  // µs of CPU time per second of wall time
    return "";
}

std::string parse_weight(const ResourceKey& k, std::string_view v, uint64_t& out) {
    if (v.empty()) return out = no_limit, "";
    if (k.id == Resource::cpu_weight && v == "idle") return out = 0, "";
    const auto n = parse_u64(v);
    if (!n || *n < 1 || *n > 10000)
        return k.id == Resource::cpu_weight ? "must be a weight from 1 to 10000, or idle" : "must be a weight from 1 to 10000";
    out = *n;
    return "";
}

std::string parse_resource(const ResourceKey& k, std::string_view v, uint64_t& out) {
    switch (k.id) {
    case Resource::memory_max:
    case Resource::memory_high:
    case Resource::memory_swap_max: return parse_memory(k, v, out);
    case Resource::tasks_max: return parse_tasks(v, out);
    case Resource::cpu_quota: return parse_cpu_quota(v, out);
    case Resource::cpu_weight:
    case Resource::io_weight: return parse_weight(k, v, out);
    }
    return "unknown key";
}

std::string parse_paths(std::string_view v, std::vector<std::string>& out) {
    if (v.empty()) return out.clear(), "";
    size_t i = 0;
    while (i < v.size()) {
        while (i < v.size() && std::isspace(static_cast<unsigned char>(v[i]))) ++i;
        size_t j = i;
        while (j < v.size() && !std::isspace(static_cast<unsigned char>(v[j]))) ++j;
        if (j > i) {
            const std::string_view entry = v.substr(i, j - i);
            if (std::string e = check_sandbox_path(entry); !e.empty()) return e;
            out.emplace_back(entry);
        }
        i = j;
    }
    return "";
}

// The sandbox keys; false when `key` is not one of them.
bool parse_sandbox_key(std::string_view key, std::string_view v, Sandbox& s, std::string& error) {
    auto boolean = [&](bool& field) {
        const auto b = v.empty() ? std::optional<bool>(false) : parse_boolean(v);
        if (!b) error = std::string(key) + "= must be yes or no";
        else field = *b;
        return true;
    };
    if (key == "PrivateTmp") return boolean(s.private_tmp);
    if (key == "PrivateDevices") return boolean(s.private_devices);
    if (key == "PrivateNetwork") return boolean(s.private_network);
    if (key == "ProtectSystem") {
        const auto p = v.empty() ? std::optional(ProtectSystem::no) : parse_protect_system(v);
        if (!p) error = "ProtectSystem= must be yes, full, strict or no";
        else s.protect_system = *p;
        return true;
    }
    if (key == "ProtectHome") {
        const auto p = v.empty() ? std::optional(ProtectHome::no) : parse_protect_home(v);
        if (!p) error = "ProtectHome= must be yes, read-only, tmpfs or no";
        else s.protect_home = *p;
        return true;
    }
    std::vector<std::string>* list = key == "ReadWritePaths"      ? &s.read_write_paths
                                     : key == "ReadOnlyPaths"     ? &s.read_only_paths
                                     : key == "InaccessiblePaths" ? &s.inaccessible_paths
                                                                  : nullptr;
    if (!list) return false;
    if (std::string e = parse_paths(v, *list); !e.empty()) error = std::string(key) + "=: " + e;
    return true;
}

}  // namespace

const ResourceKey& key_of(Resource r) { return resource_keys[static_cast<std::size_t>(r)]; }

bool ResourceControl::any() const {
    return std::any_of(value.begin(), value.end(), [](uint64_t v) { return v != no_limit; });
}

bool Sandbox::needs_mount_namespace() const {
    return private_tmp || private_devices || protect_system != ProtectSystem::no || protect_home != ProtectHome::no ||
           !read_write_paths.empty() || !read_only_paths.empty() || !inaccessible_paths.empty();
}

const char* to_string(ProtectSystem p) {
    switch (p) {
    case ProtectSystem::no: return "no";
    case ProtectSystem::yes: return "yes";
    case ProtectSystem::full: return "full";
    case ProtectSystem::strict: return "strict";
    }
    return "no";
}

const char* to_string(ProtectHome p) {
    switch (p) {
    case ProtectHome::no: return "no";
    case ProtectHome::yes: return "yes";
    case ProtectHome::read_only: return "read-only";
    case ProtectHome::tmpfs: return "tmpfs";
    }
    return "no";
}

std::optional<ProtectSystem> parse_protect_system(std::string_view v) {
    if (v == "full") return ProtectSystem::full;
    if (v == "strict") return ProtectSystem::strict;
    if (const auto b = parse_boolean(v)) return *b ? ProtectSystem::yes : ProtectSystem::no;
    return std::nullopt;
}

std::optional<ProtectHome> parse_protect_home(std::string_view v) {
    if (v == "read-only") return ProtectHome::read_only;
    if (v == "tmpfs") return ProtectHome::tmpfs;
    if (const auto b = parse_boolean(v)) return *b ? ProtectHome::yes : ProtectHome::no;
    return std::nullopt;
}

uint64_t physical_memory() {
    const auto pages = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES));
    const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    const uint64_t limit = root_cgroup_limit("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes");
    return std::min(pages * page, limit / page * page);
}

uint64_t system_tasks_max() {
    uint64_t threads = UINT64_MAX, pids = UINT64_MAX;
    if (std::ifstream in("/proc/sys/kernel/threads-max"); in) in >> threads;
    if (std::ifstream in("/proc/sys/kernel/pid_max"); in && (in >> pids) && pids > 0) --pids;
    const uint64_t root = root_cgroup_limit("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max");
    return std::min({threads, pids, root});
}

std::optional<uint64_t> parse_size(std::string_view text) {
    struct Suffix {
        std::string_view name;
        uint64_t factor;
    };
    static constexpr Suffix table[] = {{"E", 1ull << 60}, {"P", 1ull << 50}, {"T", 1ull << 40}, {"G", 1ull << 30},
                                       {"M", 1ull << 20}, {"K", 1ull << 10}, {"B", 1},          {"", 1}};
    std::string_view p = trim(text);
    if (p.empty()) return std::nullopt;
    unsigned __int128 total = 0;
    size_t next_suffix = 0;  // components must come in descending order: 1G512M
    while (!p.empty()) {
        p = trim(p);
        size_t n = 0;
        while (n < p.size() && std::isdigit(static_cast<unsigned char>(p[n]))) ++n;
        if (n == 0) return std::nullopt;  // also refuses a leading '-'
        const auto whole = parse_u64(p.substr(0, n));
        if (!whole) return std::nullopt;
        p.remove_prefix(n);
        double frac = 0;
        if (!p.empty() && p.front() == '.') {
            p.remove_prefix(1);
            for (double scale_by = 0.1; !p.empty() && std::isdigit(static_cast<unsigned char>(p.front())); scale_by /= 10) {
                frac += (p.front() - '0') * scale_by;
                p.remove_prefix(1);
            }
        }
        p = trim(p);
        size_t i = next_suffix;
        while (i < std::size(table) && !p.starts_with(table[i].name)) ++i;
        if (i == std::size(table)) return std::nullopt;
        total += static_cast<unsigned __int128>(*whole) * table[i].factor +
                 static_cast<uint64_t>(frac * static_cast<double>(table[i].factor));
        if (total > UINT64_MAX) return std::nullopt;
        p.remove_prefix(table[i].name.size());
        next_suffix = i + 1;
        if (table[i].name.empty() && !trim(p).empty()) return std::nullopt;
    }
    return static_cast<uint64_t>(total);
}

std::optional<uint32_t> parse_permyriad(std::string_view text, bool unbounded) {
    // "N%" with up to two decimals, "N‰" with up to one, "N‱" whole: in units of 0.01%.
    struct Form {
        std::string_view symbol;
        int decimals;
    };
    static constexpr Form forms[] = {{"‱", 0}, {"‰", 1}, {"%", 2}};
    for (const auto& f : forms) {
        if (!text.ends_with(f.symbol)) continue;
        std::string_view num = text.substr(0, text.size() - f.symbol.size());
        const size_t dot = num.find('.');
        std::string_view whole = num.substr(0, dot), frac = dot == num.npos ? std::string_view() : num.substr(dot + 1);
        if (dot != num.npos && (frac.empty() || static_cast<int>(frac.size()) > f.decimals)) return std::nullopt;
        const auto w = parse_u64(whole);
        const auto fr = frac.empty() ? std::optional<uint64_t>(0) : parse_u64(frac);
        if (!w || !fr || *w > 100'000'000) return std::nullopt;
        // In units of the symbol's last decimal place, which is 1‱ for each of the three forms.
        uint64_t v = *w, fv = *fr;
        for (int d = 0; d < f.decimals; ++d) v *= 10;
        for (int d = static_cast<int>(frac.size()); d < f.decimals; ++d) fv *= 10;
        v += fv;
        if (v > UINT32_MAX || (!unbounded && v > 10000)) return std::nullopt;
        return static_cast<uint32_t>(v);
    }
    return std::nullopt;
}

bool parse_containment_key(std::string_view key, std::string_view value, Containment& c, std::string& error) {
    const std::string_view v = trim(value);
    for (const auto& k : resource_keys) {
        if (key != k.config) continue;
        if (std::string e = parse_resource(k, v, c.resources[k.id]); !e.empty())
            error = std::string(k.config) + "= " + e;
        return true;
    }
    return parse_sandbox_key(key, v, c.sandbox, error);
}

std::string_view sandbox_path(std::string_view entry, bool* optional) {
    const bool dash = !entry.empty() && entry.front() == '-';
    if (optional) *optional = dash;
    return dash ? entry.substr(1) : entry;
}

std::string check_sandbox_path(std::string_view entry) {
    const std::string_view p = sandbox_path(entry);
    if (!p.empty() && p.front() == '+') return "'+' (a path relative to RootDirectory=) is not supported";
    // (fmt, not "'" + std::string: GCC 12's -Wrestrict misfires on the latter at -O3.)
    if (p.empty() || p.front() != '/') return fmt::format("'{}' is not an absolute path", p.substr(0, 64));
    if (p.size() >= PATH_MAX) return "a path is longer than " + std::to_string(PATH_MAX - 1) + " bytes";
    for (char ch : p)
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return "a path contains a control character";
    for (size_t i = 0; i < p.size();) {
        size_t j = p.find('/', i);
        if (j == std::string_view::npos) j = p.size();
        const std::string_view part = p.substr(i, j - i);
        if (part == "..") return fmt::format("'{}' contains '..'", p.substr(0, 256));
        i = j + 1;
    }
    return "";
}

}  // namespace offshoot

// class_config.cpp — reads class configuration files with inih.
#include "config/class_config.hpp"

#include "config/syscall_sets.hpp"

#include <ini.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace offshoot {
namespace {

constexpr size_t max_file_size = 64 * 1024;

bool valid_interface_name(std::string_view s) {
    // D-Bus rules: 2+ elements separated by '.', each [A-Za-z_][A-Za-z0-9_]*, ≤ 255 bytes.
    if (s.empty() || s.size() > 255) return false;
    int elements = 0;
    size_t start = 0;
    while (start <= s.size()) {
        size_t dot = s.find('.', start);
        std::string_view e = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
        if (e.empty() || std::isdigit(static_cast<unsigned char>(e[0]))) return false;
        for (char c : e)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
        ++elements;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return elements >= 2;
}

bool valid_class_name(std::string_view s) {
    if (s.empty() || s.size() > 128) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
}

struct ParseState {
    ClassConfig cfg;
    std::string error;
    bool has_name = false, has_plugin = false, has_interface = false;
};

struct LimitKey {
    const char* key;
    int resource;
};
constexpr LimitKey limit_keys[] = {
    {"LimitNOFILE", RLIMIT_NOFILE}, {"LimitNPROC", RLIMIT_NPROC}, {"LimitAS", RLIMIT_AS},
    {"LimitCORE", RLIMIT_CORE},     {"LimitCPU", RLIMIT_CPU},     {"LimitFSIZE", RLIMIT_FSIZE},
    {"LimitDATA", RLIMIT_DATA},     {"LimitSTACK", RLIMIT_STACK}, {"LimitMEMLOCK", RLIMIT_MEMLOCK},
};

bool parse_bool(std::string_view v, bool& out) {
    if (v == "yes" || v == "true" || v == "1" || v == "on") return out = true, true;
    if (v == "no" || v == "false" || v == "0" || v == "off") return out = false, true;
    return false;
}

// One key of each section; "" when it is taken, else what is wrong with it.
std::string on_class_key(ParseState& st, std::string_view k, std::string_view v) {
    if (k == "Name") {
        if (!valid_class_name(v)) return "Name= must be 1-128 of [A-Za-z0-9_.-]";
        st.cfg.name = v;
        st.has_name = true;
    } else if (k == "Plugin") {
        if (v.empty()) return "Plugin= is empty";
        st.cfg.plugin = v;
        st.has_plugin = true;
    } else if (k == "Interface") {
        if (!valid_interface_name(v)) return "Interface= is not a valid D-Bus interface name";
        st.cfg.interface = v;
        st.has_interface = true;
    } else {
        return "unknown key [Class] " + std::string(k);
    }
    return {};
}

std::string on_access_key(ParseState& st, std::string_view k, std::string_view v) {
    if (k == "AllowedUsers") {
        auto w = split_words(v);
        st.cfg.allowed_users.insert(st.cfg.allowed_users.end(), w.begin(), w.end());
    } else if (k == "AllowedCallers") {
        auto w = split_words(v);
        st.cfg.allowed_callers.insert(st.cfg.allowed_callers.end(), w.begin(), w.end());
    } else if (k == "AllowAnyGroup") {
        if (!parse_bool(v, st.cfg.allow_any_group)) return "AllowAnyGroup= must be yes or no";
    } else {
        return "unknown key [Access] " + std::string(k);
    }
    return {};
}

// Limit<NAME>= (setrlimit's), as systemd.exec(5) spells them.
std::string on_limit_key(ParseState& st, std::string_view k, std::string_view v) {
    const LimitKey* lk = nullptr;
    for (auto& l : limit_keys)
        if (k == l.key) lk = &l;
    if (!lk) return "unknown key [Exec] " + std::string(k);
    ResourceLimit rl;
    rl.resource = lk->resource;
    if (!parse_limit_value(v, rl.soft, rl.hard))
        return std::string(lk->key) + "= must be N, SOFT:HARD or infinity (K/M/G/T suffixes allowed), soft <= hard";
    std::erase_if(st.cfg.limits, [&](const ResourceLimit& x) { return x.resource == rl.resource; });
    st.cfg.limits.push_back(rl);
    return {};
}

std::string on_exec_key(ParseState& st, std::string_view k, std::string_view v) {
    if (k == "WorkingDirectory") {
        if (v.empty() || v[0] != '/') return "WorkingDirectory= must be an absolute path";
        st.cfg.working_directory = v;
    } else if (k == "UMask") {
        char* end = nullptr;
        std::string tmp{v};
        unsigned long m = std::strtoul(tmp.c_str(), &end, 8);
        if (tmp.empty() || *end != '\0' || m > 0777) return "UMask= must be an octal mode ≤ 0777";
        st.cfg.umask = static_cast<mode_t>(m);
    } else if (k == "Environment") {
        for (auto& w : split_words(v)) {
            auto eq = w.find('=');
            if (eq == 0 || eq == std::string::npos) return "Environment= entries must be KEY=VALUE";
            st.cfg.environment.push_back(w);
        }
    } else if (k == "SystemCallFilter") {
        auto w = split_words(v);
        st.cfg.syscall_filter.insert(st.cfg.syscall_filter.end(), w.begin(), w.end());
        std::string err;
        if (!resolve_syscall_filter(st.cfg.syscall_filter, err)) return "SystemCallFilter=: " + err;
    } else if (k == "MaxConnections") {
        unsigned long n = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc() || end != v.data() + v.size() || n < 1 || n > 1'000'000)
            return "MaxConnections= must be a number from 1 to 1000000";
        st.cfg.max_connections = static_cast<uint32_t>(n);
    } else if (k == "Dumpable") {
        if (!parse_bool(v, st.cfg.dumpable)) return "Dumpable= must be yes or no";
    } else if (k == "SystemCallErrorNumber") {
        auto e = parse_errno_name(v);
        if (!e) return "SystemCallErrorNumber= must be an errno name such as EPERM, or a number";
        st.cfg.syscall_errno = *e;
    } else if (std::string err; parse_containment_key(k, v, st.cfg.containment, err)) {
        return err;
    } else if (parse_restart_key(k, v, st.cfg.restart, err)) {
        return err;
    } else {
        return on_limit_key(st, k, v);
    }
    return {};
}

int on_entry(void* user, const char* section, const char* key, const char* value) {
    auto& st = *static_cast<ParseState*>(user);
    if (!st.error.empty()) return 0;
    const std::string_view s{section}, k{key}, v{value};
    if (s == "Class") st.error = on_class_key(st, k, v);
    else if (s == "Access") st.error = on_access_key(st, k, v);
    else if (s == "Exec") st.error = on_exec_key(st, k, v);
    else st.error = "unknown section [" + std::string(s) + "]";
    return st.error.empty() ? 1 : 0;
}

// What keeps `plugin` (absolute) from being loaded by anyone, seen as root: "" when nothing.
std::string plugin_problem(const std::string& plugin) {
    struct stat st {};
    if (::stat(plugin.c_str(), &st) < 0) return "Plugin=" + plugin + ": " + std::strerror(errno);
    if (!S_ISREG(st.st_mode)) return "Plugin=" + plugin + " is not a regular file";
    return {};
}

}  // namespace

bool parse_limit_value(std::string_view text, unsigned long long& soft, unsigned long long& hard) {
    auto one = [](std::string_view t, unsigned long long& out) {
        if (t == "infinity") {
            out = RLIM_INFINITY;
            return true;
        }
        unsigned long long mult = 1;
        if (!t.empty()) {
            switch (t.back()) {
            case 'K': mult = 1ull << 10; break;
            case 'M': mult = 1ull << 20; break;
            case 'G': mult = 1ull << 30; break;
            case 'T': mult = 1ull << 40; break;
            default: break;
            }
            if (mult != 1) t.remove_suffix(1);
        }
        if (t.empty()) return false;
        unsigned long long v = 0;
        for (char c : t) {
            if (c < '0' || c > '9') return false;
            if (v > (~0ull - 9) / 10) return false;
            v = v * 10 + static_cast<unsigned>(c - '0');
        }
        if (v > ~0ull / mult) return false;
        out = v * mult;
        return true;
    };
    auto colon = text.find(':');
    if (colon == std::string_view::npos) {
        if (!one(text, soft)) return false;
        hard = soft;
        return true;
    }
    if (!one(text.substr(0, colon), soft) || !one(text.substr(colon + 1), hard)) return false;
    return soft <= hard;
}

std::vector<std::string> split_words(std::string_view text) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        size_t j = i;
        while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
        if (j > i) out.emplace_back(text.substr(i, j - i));
        i = j;
    }
    return out;
}

std::optional<ClassConfig> parse_class_config(std::string_view text, const std::string& source,
                                              const std::string& plugin_dir, std::string& error,
                                              std::string* name) {
    ParseState st;
    st.cfg.source = source;
    std::string buf{text};  // ini_parse_string needs a NUL-terminated copy
    int line = ini_parse_string(buf.c_str(), on_entry, &st);
    if (name) *name = st.has_name ? st.cfg.name : std::string();
    if (!st.error.empty()) {
        error = line > 0 ? "line " + std::to_string(line) + ": " + st.error : st.error;
        return std::nullopt;
    }
    if (line != 0) {
        error = "line " + std::to_string(line) + ": syntax error";
        return std::nullopt;
    }
    if (!st.has_name || !st.has_plugin || !st.has_interface) {
        error = "[Class] needs Name=, Plugin= and Interface=";
        return std::nullopt;
    }
    if (st.cfg.plugin[0] != '/') {
        if (st.cfg.plugin.find('/') != std::string::npos) {
            error = "Plugin=" + st.cfg.plugin + " must be an absolute path or a file name in the plugin directory " +
                    plugin_dir;
            return std::nullopt;
        }
        st.cfg.plugin = plugin_dir + "/" + st.cfg.plugin;
    }
    return std::move(st.cfg);
}

ClassConfigResult load_class_configs(const std::vector<std::string>& dirs,
                                     const std::string& plugin_dir) {
    namespace fs = std::filesystem;
    ClassConfigResult result;
    std::map<std::string, fs::path> files;  // file name → path; later dirs override
    for (const auto& d : dirs) {
        std::error_code ec;
        for (fs::directory_iterator it{d, ec}, end; !ec && it != end; it.increment(ec)) {
            const auto& p = it->path();
            if (p.extension() != ".conf") continue;
            std::error_code sec;
            if (!fs::is_regular_file(p, sec) && !fs::is_symlink(p, sec)) continue;
            files[p.filename().string()] = p;
        }
    }
    for (const auto& entry : files) {
        const fs::path& path = entry.second;  // a plain reference: clang 14 can't capture a binding
        auto broken = [&](std::string name, std::string problem) {
            result.broken.push_back({std::move(name), path.string(), std::move(problem)});
        };
        std::ifstream in{path, std::ios::binary};
        if (!in) {
            broken("", "cannot be read");
            continue;
        }
        std::string text(max_file_size + 1, '\0');
        in.read(text.data(), static_cast<std::streamsize>(text.size()));
        text.resize(static_cast<size_t>(in.gcount()));
        if (text.size() > max_file_size) {
            broken("", "larger than 64 KiB");
            continue;
        }
        std::string err, given_name;
        auto cfg = parse_class_config(text, path.string(), plugin_dir, err, &given_name);
        if (!cfg) {
            broken(given_name, err);
            continue;
        }
        if (std::string why = plugin_problem(cfg->plugin); !why.empty()) {
            broken(cfg->name, why);
            continue;
        }
        auto name = cfg->name;
        if (auto prev = result.classes.find(name); prev != result.classes.end())
            result.warnings.push_back(path.string() + ": class " + name + " also defined in " +
                                      prev->second.source + "; this file wins");
        result.classes[name] = std::move(*cfg);
    }
    return result;
}

}  // namespace offshoot

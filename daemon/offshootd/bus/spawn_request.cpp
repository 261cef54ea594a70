// options.cpp — decodes and validates SpawnWithOptions' a{sv}.
#include "bus/spawn_request.hpp"

#include "offshoot/common/errors.hpp"

#include "offshoot/common/log.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <optional>
#include <set>

namespace offshoot {
namespace {

using namespace std::string_literals;

struct Key {
    const char* name;
    const char* signature;
};
constexpr Key known_keys[] = {
    {"uid", "u"},        {"gid", "u"},       {"groups", "au"},    {"cwd", "s"},
    {"environment", "as"}, {"umask", "u"},   {"arguments", "as"}, {"start", "b"},
    {"stop-mode", "s"},  {"stop-timeout-usec", "t"}, {"tie-to-caller", "b"}, {"restart", "s"},
    // containment (config/containment.hpp); the resource keys (t) come from resource_keys
    {"private-tmp", "b"}, {"private-network", "b"}, {"private-devices", "b"},
    {"protect-system", "s"}, {"protect-home", "s"}, {"read-only-paths", "as"}, {"inaccessible-paths", "as"},
};

std::string known_key_list() {
    std::string s;
    for (auto& k : known_keys) {
        if (!s.empty()) s += ", ";
        s += k.name;
    }
    for (auto& k : resource_keys) s += std::string(", ") + k.option;
    return s;
}

// A known key by name: one of known_keys, or a resource key (always of type t).
std::optional<Key> find_key(const char* name) {
    for (auto& k : known_keys)
        if (std::strcmp(k.name, name) == 0) return k;
    for (auto& k : resource_keys)
        if (std::strcmp(k.option, name) == 0) return Key{k.option, "t"};
    return std::nullopt;
}

void check(int r, const char* what) {
    if (r < 0) fail(errors::invalid_argument, "cannot read {}: {}", what, errno_text(r));
}

template <class T>
T read_basic(sd_bus_message* m, char type, const char* key) {
    T v{};
    check(sd_bus_message_read_basic(m, type, &v), key);
    return v;
}

std::string read_string(sd_bus_message* m, const char* key, size_t max) {
    const char* s = nullptr;
    check(sd_bus_message_read_basic(m, 's', &s), key);
    size_t n = std::strlen(s);
    if (n > max) fail(errors::invalid_argument, "option '{}' is {} bytes long; the limit is {}", key, n, max);
    return std::string(s, n);
}

// Reads an "as" with a bound on the count and on the total size, stopping at the first excess
// rather than materialising an arbitrarily large array first.
std::vector<std::string> read_strings(sd_bus_message* m, const char* key, size_t max_count,
                                      size_t max_each, size_t max_total) {
    std::vector<std::string> out;
    check(sd_bus_message_enter_container(m, 'a', "s"), key);
    size_t total = 0;
    for (;;) {
        const char* s = nullptr;
        int r = sd_bus_message_read_basic(m, 's', &s);
        check(r, key);
        if (r == 0) break;
        size_t n = std::strlen(s);
        if (out.size() == max_count)
            fail(errors::invalid_argument, "option '{}' has more than {} entries", key, max_count);
        if (n > max_each)
            fail(errors::invalid_argument, "an entry of option '{}' is {} bytes long; the limit is {}", key, n, max_each);
        total += n;
        if (total > max_total)
            fail(errors::invalid_argument, "option '{}' is larger than {} bytes in all", key, max_total);
        out.emplace_back(s, n);
    }
    check(sd_bus_message_exit_container(m), key);
    return out;
}

std::vector<uint32_t> read_ids(sd_bus_message* m, const char* key, size_t max_count) {
    const void* data = nullptr;
    size_t size = 0;
    check(sd_bus_message_read_array(m, 'u', &data, &size), key);
    size_t n = size / sizeof(uint32_t);
    if (n > max_count) fail(errors::invalid_argument, "option '{}' has {} entries; the limit is {}", key, n, max_count);
    std::vector<uint32_t> out(n);
    if (n) std::memcpy(out.data(), data, n * sizeof(uint32_t));
    return out;
}

// The containment keys: resource values (t), sandbox switches (b), levels (s), path lists (as).
void decode_containment_option(sd_bus_message* m, const char* key, ContainmentRequest& c) {
    const std::string_view name = key;
    for (auto& r : resource_keys)
        if (name == r.option) {
            c[r.id] = read_basic<uint64_t>(m, 't', key);
            return;
        }
    if (name == "private-tmp") c.private_tmp = read_basic<int>(m, 'b', key) != 0;
    else if (name == "private-network") c.private_network = read_basic<int>(m, 'b', key) != 0;
    else if (name == "private-devices") c.private_devices = read_basic<int>(m, 'b', key) != 0;
    else if (name == "protect-system") {
        const auto v = read_string(m, key, 32);
        c.protect_system = parse_protect_system(v);
        if (!c.protect_system)
            fail(errors::invalid_argument, "option 'protect-system' must be yes, full, strict or no, not '{}'", log::escape(v));
    } else if (name == "protect-home") {
        const auto v = read_string(m, key, 32);
        c.protect_home = parse_protect_home(v);
        if (!c.protect_home)
            fail(errors::invalid_argument, "option 'protect-home' must be yes, read-only, tmpfs or no, not '{}'", log::escape(v));
    } else if (name == "read-only-paths" || name == "inaccessible-paths") {
        auto& list = name == "read-only-paths" ? c.read_only_paths : c.inaccessible_paths;
        list = read_strings(m, key, limits::sandbox_paths, limits::path + 1, limits::sandbox_paths * (limits::path + 1));
    }
}

}  // namespace

void check_id(const char* what, uint32_t id) {
    if (id == UINT32_MAX || id == UINT32_MAX - 1 || id > static_cast<uint32_t>(INT_MAX))
        fail(errors::invalid_argument,
             "{} {} is out of range: ids above {} (including -1 and -2) are never real accounts",
             what, id, INT_MAX);
}

bool is_forbidden_environment_name(std::string_view n) {
    // Anything the dynamic loader, glibc's iconv or the allocator read before main() runs:
    // set by a caller they would run code of the caller's choosing inside the worker.
    static constexpr std::string_view prefixes[] = {"LD_", "GCONV_", "MALLOC_", "GLIBC_"};
    static constexpr std::string_view names[] = {
        "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "OFFSHOOT_NOTIFY_FD", "NOTIFY_SOCKET",
        "HOSTALIASES", "LOCALDOMAIN", "NLSPATH", "RES_OPTIONS", "TMPDIR", "TZDIR", "LOCPATH",
        "RESOLV_HOST_CONF", "NIS_PATH", "MALLOC_TRACE"};
    for (auto p : prefixes)
        if (n.substr(0, p.size()) == p) return true;
    for (auto x : names)
        if (n == x) return true;
    return false;
}

void decode_spawn_options(sd_bus_message* m, SpawnRequest& req) {
    std::set<std::string, std::less<>> seen;
    check(sd_bus_message_enter_container(m, 'a', "{sv}"), "options");
    for (;;) {
        int r = sd_bus_message_enter_container(m, 'e', "sv");
        check(r, "options");
        if (r == 0) break;
        const char* key = nullptr;
        check(sd_bus_message_read_basic(m, 's', &key), "option name");
        const std::optional<Key> k = find_key(key);
        if (!k)
            fail(errors::invalid_argument, "unknown option '{:.64}' (known: {})", key, known_key_list());
        if (!seen.insert(k->name).second)
            fail(errors::invalid_argument, "option '{}' is given twice", k->name);
        const char* contents = nullptr;
        check(sd_bus_message_peek_type(m, nullptr, &contents), k->name);
        if (!contents || std::strcmp(contents, k->signature) != 0)
            fail(errors::invalid_argument, "option '{}' must be of type '{}', not '{:.32}'",
                 k->name, k->signature, contents ? contents : "?");
        check(sd_bus_message_enter_container(m, 'v', contents), k->name);

        std::string_view name = k->name;
        if (name == "uid") req.uid = read_basic<uint32_t>(m, 'u', k->name);
        else if (name == "gid") req.gid = read_basic<uint32_t>(m, 'u', k->name);
        else if (name == "groups") req.groups = read_ids(m, k->name, limits::groups);
        else if (name == "cwd") req.cwd = read_string(m, k->name, limits::path);
        else if (name == "environment")
            req.environment = read_strings(m, k->name, limits::environment_count,
                                           limits::environment_entry,
                                           limits::environment_count * limits::environment_entry);
        else if (name == "umask") req.umask = read_basic<uint32_t>(m, 'u', k->name);
        else if (name == "arguments")
            req.arguments = read_strings(m, k->name, limits::argument_count,
                                         limits::arguments_total, limits::arguments_total);
        else if (name == "start") req.start = read_basic<int>(m, 'b', k->name) != 0;
        else if (name == "stop-mode") {
            auto v = read_string(m, k->name, 32);
            if (const auto mode = parse_stop_mode(v)) req.stop_mode = *mode;
            else fail(errors::invalid_argument, "option 'stop-mode' must be 'terminate' or 'wait', not '{}'", v);
        } else if (name == "stop-timeout-usec") req.stop_timeout_usec = read_basic<uint64_t>(m, 't', k->name);
        else if (name == "tie-to-caller") req.tie_to_caller = read_basic<int>(m, 'b', k->name) != 0;
        else if (name == "restart") {
            auto v = read_string(m, k->name, 32);
            if (const auto p = parse_restart_policy(v)) req.restart = *p;
            else
                fail(errors::invalid_argument,
                     "option 'restart' must be no, on-success, on-failure, on-abnormal, on-abort or always, not '{}'",
                     log::escape(v));
        }
        else decode_containment_option(m, k->name, req.containment);

        check(sd_bus_message_exit_container(m), k->name);  // v
        check(sd_bus_message_exit_container(m), k->name);  // e
    }
    check(sd_bus_message_exit_container(m), "options");
}

namespace {
bool has_control_character(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c < 0x20 || c == 0x7f;
    });
}

// The ranges systemd's own properties accept (src/core/dbus-cgroup.c); UINT64_MAX is
// "infinity" for a limit, and no weight.
void validate_containment(const ContainmentRequest& c) {
    for (auto& k : resource_keys) {
        const auto& v = c[k.id];
        if (!v) continue;
        if (k.weight && (*v > 10000 || (*v == 0 && k.id != Resource::cpu_weight)))
            fail(errors::invalid_argument, "option '{}' must be a weight from {} to 10000, not {}", k.option,
                 k.id == Resource::cpu_weight ? "0 (idle)" : "1", *v);
        if (!k.weight && *v == 0 && k.id != Resource::memory_swap_max)
            fail(errors::invalid_argument, "option '{}' must be at least 1 ({} is infinity)", k.option, no_limit);
    }
    for (const auto* list : {&c.read_only_paths, &c.inaccessible_paths})
        for (const auto& p : *list)
            if (std::string e = check_sandbox_path(p); !e.empty())
                fail(errors::invalid_argument, "option '{}': {}", list == &c.read_only_paths ? "read-only-paths" : "inaccessible-paths",
                     log::escape(e));
}
}  // namespace

void validate_request(const SpawnRequest& req) {
    if (req.class_name.empty() || req.class_name.size() > limits::class_name)
        fail(errors::invalid_argument, "class name must be 1 to {} bytes long", limits::class_name);
    // Control characters mean nothing in a class name or a path, and in a log line they could
    // start a line of their own: refused outright (log lines are escaped as well).
    if (has_control_character(req.class_name))
        fail(errors::invalid_argument, "class name '{}' contains a control character", log::escape(req.class_name));
    if (req.uid) check_id("uid", *req.uid);
    if (req.gid) check_id("gid", *req.gid);
    if (req.groups)
        for (auto g : *req.groups) check_id("group", g);
    if (req.umask && *req.umask > 0777)
        fail(errors::invalid_argument, "umask {:#o} is not a file mode (0 to 0777)", *req.umask);
    if (req.stop_timeout_usec == 0 || req.stop_timeout_usec > limits::stop_timeout_usec_max)
        fail(errors::invalid_argument, "stop-timeout-usec must be between 1 and {}", limits::stop_timeout_usec_max);
    if (req.cwd) {
        const auto& c = *req.cwd;
        if (c.find('\0') != std::string::npos)
            fail(errors::invalid_argument, "cwd contains a NUL byte");
        if (has_control_character(c))
            fail(errors::invalid_argument, "cwd '{}' contains a control character", log::escape(c));
        if (c.empty() || c[0] != '/')
            fail(errors::invalid_argument, "cwd '{}' must be an absolute path", c);
        // No ".." component: the path a caller names is the path the worker gets.
        for (size_t i = 0; i < c.size();) {
            size_t j = c.find('/', i);
            if (j == std::string::npos) j = c.size();
            if (c.compare(i, j - i, "..") == 0)
                fail(errors::invalid_argument, "cwd '{}' must not contain '..'", c);
            i = j + 1;
        }
        // Where the path leads is decided by the kernel, not by its spelling: the child opens it
        // as the target user and refuses what it entered if that is procfs or was reached
        // through a magic link (spawn.cpp, step "chdir").
    }
    validate_containment(req.containment);
    for (const auto& e : req.environment) {
        auto eq = e.find('=');
        if (eq == 0 || eq == std::string::npos)
            fail(errors::invalid_argument, "environment entry '{:.64}' must be KEY=VALUE", e);
        std::string_view key{e.data(), eq};
        for (char ch : key)
            if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'))
                fail(errors::invalid_argument, "environment name '{:.64}' may only contain letters, digits and '_'", key);
        if (is_forbidden_environment_name(key))
            fail(errors::invalid_argument, "environment variable {} may not be set by a caller (it changes how programs are loaded or how the worker starts)", key);
    }
}

}  // namespace offshoot

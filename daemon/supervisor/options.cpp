// options.cpp — decodes and validates SpawnWithOptions' a{sv}.
#include "options.hpp"

#include "errors.hpp"

#include <cctype>
#include <climits>
#include <cstring>
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
    {"stop-mode", "s"},  {"stop-timeout-usec", "t"}, {"tie-to-caller", "b"},
};

std::string known_key_list() {
    std::string s;
    for (auto& k : known_keys) {
        if (!s.empty()) s += ", ";
        s += k.name;
    }
    return s;
}

void check(int r, const char* what) {
    if (r < 0) fail(error_name::invalid_argument, "cannot read {}: {}", what, errno_text(r));
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
    if (n > max) fail(error_name::invalid_argument, "option '{}' is {} bytes long; the limit is {}", key, n, max);
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
            fail(error_name::invalid_argument, "option '{}' has more than {} entries", key, max_count);
        if (n > max_each)
            fail(error_name::invalid_argument, "an entry of option '{}' is {} bytes long; the limit is {}", key, n, max_each);
        total += n;
        if (total > max_total)
            fail(error_name::invalid_argument, "option '{}' is larger than {} bytes in all", key, max_total);
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
    if (n > max_count) fail(error_name::invalid_argument, "option '{}' has {} entries; the limit is {}", key, n, max_count);
    std::vector<uint32_t> out(n);
    if (n) std::memcpy(out.data(), data, n * sizeof(uint32_t));
    return out;
}

}  // namespace

const char* to_string(StopMode m) { return m == StopMode::wait ? "wait" : "terminate"; }

void check_id(const char* what, uint32_t id) {
    if (id == UINT32_MAX || id == UINT32_MAX - 1 || id > static_cast<uint32_t>(INT_MAX))
        fail(error_name::invalid_argument,
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
        const Key* k = nullptr;
        for (auto& kk : known_keys)
            if (std::strcmp(kk.name, key) == 0) k = &kk;
        if (!k)
            fail(error_name::invalid_argument, "unknown option '{:.64}' (known: {})", key, known_key_list());
        if (!seen.insert(k->name).second)
            fail(error_name::invalid_argument, "option '{}' is given twice", k->name);
        const char* contents = nullptr;
        check(sd_bus_message_peek_type(m, nullptr, &contents), k->name);
        if (!contents || std::strcmp(contents, k->signature) != 0)
            fail(error_name::invalid_argument, "option '{}' must be of type '{}', not '{:.32}'",
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
            if (v == "terminate") req.stop_mode = StopMode::terminate;
            else if (v == "wait") req.stop_mode = StopMode::wait;
            else fail(error_name::invalid_argument, "option 'stop-mode' must be 'terminate' or 'wait', not '{}'", v);
        } else if (name == "stop-timeout-usec") req.stop_timeout_usec = read_basic<uint64_t>(m, 't', k->name);
        else if (name == "tie-to-caller") req.tie_to_caller = read_basic<int>(m, 'b', k->name) != 0;

        check(sd_bus_message_exit_container(m), k->name);  // v
        check(sd_bus_message_exit_container(m), k->name);  // e
    }
    check(sd_bus_message_exit_container(m), "options");
}

void validate_request(const SpawnRequest& req) {
    if (req.class_name.empty() || req.class_name.size() > limits::class_name)
        fail(error_name::invalid_argument, "class name must be 1 to {} bytes long", limits::class_name);
    if (req.uid) check_id("uid", *req.uid);
    if (req.gid) check_id("gid", *req.gid);
    if (req.groups)
        for (auto g : *req.groups) check_id("group", g);
    if (req.umask && *req.umask > 0777)
        fail(error_name::invalid_argument, "umask {:#o} is not a file mode (0 to 0777)", *req.umask);
    if (req.stop_timeout_usec == 0 || req.stop_timeout_usec > limits::stop_timeout_usec_max)
        fail(error_name::invalid_argument, "stop-timeout-usec must be between 1 and {}", limits::stop_timeout_usec_max);
    if (req.cwd) {
        const auto& c = *req.cwd;
        if (c.empty() || c[0] != '/')
            fail(error_name::invalid_argument, "cwd '{}' must be an absolute path", c);
        // No ".." component: the path a caller names is the path the worker gets.
        for (size_t i = 0; i < c.size();) {
            size_t j = c.find('/', i);
            if (j == std::string::npos) j = c.size();
            if (c.compare(i, j - i, "..") == 0)
                fail(error_name::invalid_argument, "cwd '{}' must not contain '..'", c);
            i = j + 1;
        }
        if (c == "/proc" || c.rfind("/proc/", 0) == 0)
            fail(error_name::invalid_argument, "cwd '{}' is under /proc, which is refused (it can name other processes' directories and descriptors)", c);
        if (c.find('\0') != std::string::npos)
            fail(error_name::invalid_argument, "cwd contains a NUL byte");
    }
    for (const auto& e : req.environment) {
        auto eq = e.find('=');
        if (eq == 0 || eq == std::string::npos)
            fail(error_name::invalid_argument, "environment entry '{:.64}' must be KEY=VALUE", e);
        std::string_view key{e.data(), eq};
        for (char ch : key)
            if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'))
                fail(error_name::invalid_argument, "environment name '{:.64}' may only contain letters, digits and '_'", key);
        if (is_forbidden_environment_name(key))
            fail(error_name::invalid_argument, "environment variable {} may not be set by a caller (it changes how programs are loaded or how the worker starts)", key);
    }
}

}  // namespace offshoot

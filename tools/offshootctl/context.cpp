// context.cpp — offshootctl's connection to offshootd and the helpers every verb uses.
#include "context.hpp"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <tuple>

namespace offshootctl {

namespace names = offshoot::names;

Context::Context(Globals globals) : globals_(std::move(globals)), tty_(::isatty(STDOUT_FILENO) == 1) {}

offshoot::Supervisor& Context::supervisor() {
    if (!supervisor_) {
        switch (globals_.bus) {
        case BusKind::system: supervisor_.emplace(offshoot::Supervisor::system()); break;
        case BusKind::session: supervisor_.emplace(offshoot::Supervisor::session()); break;
        case BusKind::address: supervisor_.emplace(offshoot::Supervisor::at(globals_.address)); break;
        case BusKind::remote: supervisor_.emplace(offshoot::Supervisor::remote(globals_.host)); break;
        }
    }
    return *supervisor_;
}

std::string Context::reachable(const std::string& address) const {
    return remote() ? offshoot::ssh_tunnel_address(globals_.host, address) : address;
}

std::unique_ptr<sdbus::IProxy> Context::proxy(const std::string& path) {
    return sdbus::createProxy(supervisor().connection(), names::bus_name, path);
}

std::string instance_path(const std::string& id) {
    const std::string prefix = names::instance_path_prefix;
    std::string digits = id;
    if (id.rfind(prefix, 0) == 0) digits = id.substr(prefix.size());
    const bool numeric = !digits.empty() && digits.size() <= 20 &&
                         digits.find_first_not_of("0123456789") == std::string::npos;
    if (!numeric)
        throw UsageError("'" + id + "' is not an instance: give its id (e.g. 3) or its path (" + prefix + "3)");
    return prefix + digits;
}

std::string id_of(const std::string& path) {
    const std::string prefix = names::instance_path_prefix;
    return path.rfind(prefix, 0) == 0 ? path.substr(prefix.size()) : std::string();
}

std::map<std::string, sdbus::Variant> instance_properties(Context& ctx, const std::string& path) {
    std::map<std::string, sdbus::Variant> props;
    ctx.proxy(path)
        ->callMethod("GetAll")
        .onInterface("org.freedesktop.DBus.Properties")
        .withArguments(std::string(names::instance_interface))
        .storeResultsTo(props);
    return props;
}

namespace {

// A containment value of DescribeClasses as a class config would spell it.
std::optional<std::string> containment_text(const std::string& key, sdbus::Variant& value) {
    static const std::set<std::string> keys = {
        "memory-max", "memory-high", "memory-swap-max", "tasks-max", "cpu-quota-per-sec-usec", "cpu-weight",
        "io-weight", "private-tmp", "private-network", "private-devices", "protect-system", "protect-home",
        "read-write-paths", "read-only-paths", "inaccessible-paths"};
    if (!keys.count(key)) return std::nullopt;
    const std::string type = value.peekValueType();
    if (type == "b") return value.get<bool>() ? "yes" : "no";
    if (type == "s") return value.get<std::string>();
    if (type == "as") {
        std::string out;
        for (auto& p : value.get<std::vector<std::string>>()) out += (out.empty() ? "" : " ") + p;
        return out;
    }
    if (type != "t") return std::nullopt;
    const uint64_t v = value.get<uint64_t>();
    if (v == UINT64_MAX) return "infinity";
    if (key == "cpu-quota-per-sec-usec") return std::to_string(v / 10000) + "%";
    if (key.starts_with("memory-"))
        for (const auto& [unit, size] : {std::pair{"T", 1ULL << 40}, {"G", 1ULL << 30}, {"M", 1ULL << 20}, {"K", 1ULL << 10}})
            if (v >= size && v % size == 0) return std::to_string(v / size) + unit;
    return std::to_string(v);
}

}  // namespace

std::vector<ClassDescription> describe_classes(Context& ctx) {
    std::vector<sdbus::Struct<std::string, std::string, std::map<std::string, sdbus::Variant>>> rows;
    ctx.proxy(names::supervisor_path)
        ->callMethod("DescribeClasses")
        .onInterface(names::supervisor_interface)
        .storeResultsTo(rows);
    std::vector<ClassDescription> out;
    for (auto& row : rows) {
        ClassDescription c;
        c.name = std::get<0>(row);
        c.interface = std::get<1>(row);
        for (auto& [key, value] : std::get<2>(row)) {
            // Keys offshootd may add later are ignored; a known key with another type is not
            // ours to guess about either.
            const std::string type = value.peekValueType();
            if (key == "allowed-users" && type == "as") c.allowed_users = value.get<std::vector<std::string>>();
            else if (key == "allowed-callers" && type == "as") c.allowed_callers = value.get<std::vector<std::string>>();
            else if (key == "allow-any-group" && type == "b") c.allow_any_group = value.get<bool>();
            else if (key == "working-directory" && type == "s") c.working_directory = value.get<std::string>();
            else if (key == "umask" && type == "u") c.umask = value.get<uint32_t>();
            else if (key == "source" && type == "s") c.source = value.get<std::string>();
            else if (auto text = containment_text(key, value)) c.containment[key] = *text;
        }
        out.push_back(std::move(c));
    }
    return out;
}

int64_t process_age_usec(uint32_t pid, uint32_t uid) {
    constexpr int64_t unknown = -1;
    if (pid == 0) return unknown;
    const std::string dir = "/proc/" + std::to_string(pid);
    struct stat st {};
    // The pid comes from offshootd; if offshootd lives in another pid namespace the number may
    // name some other process here, so it must at least run as the instance's uid.
    if (::stat(dir.c_str(), &st) != 0 || st.st_uid != uid) return unknown;
    std::ifstream in(dir + "/stat");
    std::string line;
    if (!std::getline(in, line)) return unknown;
    // Field 2 (comm) may hold spaces and parentheses: fields are counted after its last ')'.
    const auto close = line.rfind(')');
    if (close == std::string::npos) return unknown;
    std::istringstream fields(line.substr(close + 2));
    std::string field;
    unsigned long long start_ticks = 0;
    for (int i = 3; fields >> field; ++i) {
        if (i == 22) {
            start_ticks = std::stoull(field);
            break;
        }
    }
    if (start_ticks == 0) return unknown;
    const long hz = ::sysconf(_SC_CLK_TCK);
    timespec now{};
    ::clock_gettime(CLOCK_BOOTTIME, &now);
    const uint64_t now_usec = static_cast<uint64_t>(now.tv_sec) * 1'000'000 + static_cast<uint64_t>(now.tv_nsec) / 1000;
    const uint64_t start_usec = start_ticks * 1'000'000 / static_cast<uint64_t>(hz);
    return now_usec > start_usec ? static_cast<int64_t>(now_usec - start_usec) : 0;
}

std::string format_age(int64_t signed_usec) {
    uint64_t usec = signed_usec > 0 ? static_cast<uint64_t>(signed_usec) : 0;
    struct Unit {
        const char* name;
        uint64_t usec;
    };
    static constexpr Unit units[] = {{"d", 86'400'000'000},
                                     {"h", 3'600'000'000},
                                     {"min", 60'000'000},
                                     {"s", 1'000'000},
                                     {"ms", 1'000}};
    std::string out;
    int shown = 0;
    for (const Unit& u : units) {
        if (shown == 2) break;
        const uint64_t n = usec / u.usec;
        if (n == 0 && shown == 0) continue;
        if (n != 0) {
            if (!out.empty()) out += ' ';
            out += std::to_string(n) + u.name;
        }
        usec -= n * u.usec;
        ++shown;
    }
    return out.empty() ? "0s" : out;
}

int exit_code_of(const offshoot::ExitStatus& status) {
    if (status.result == "success") return 0;
    if (status.result == "exit-code") return status.code;
    if (status.result == "signal" || status.result == "core-dump") return 128 + status.code;
    return exit_failure;
}

void print_dbus_error(const sdbus::Error& e) {
    std::cerr << "Error " << e.getName() << ": " << e.getMessage() << std::endl;
}

}  // namespace offshootctl

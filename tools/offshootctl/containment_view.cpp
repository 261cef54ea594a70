// containment_view.cpp — see containment_view.hpp.
#include "containment_view.hpp"

#include <cap-ng.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace offshootctl {
namespace {

using json = nlohmann::json;
constexpr uint64_t no_limit = std::numeric_limits<uint64_t>::max();

// "Key:\tvalue" lines of /proc/PID/status.
std::map<std::string, std::string> read_status(const std::string& dir) {
    std::map<std::string, std::string> out;
    std::ifstream in(dir + "/status");
    for (std::string line; std::getline(in, line);) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        auto value = line.substr(colon + 1);
        const auto first = value.find_first_not_of(" \t");
        const auto last = value.find_last_not_of(" \t");
        out[line.substr(0, colon)] = first == std::string::npos ? "" : value.substr(first, last - first + 1);
    }
    return out;
}

// The names of the capabilities set in a /proc status mask ("000001fffeffffff").
std::vector<std::string> capability_names(const std::string& hex) {
    std::vector<std::string> names;
    const uint64_t mask = hex.empty() ? 0 : std::stoull(hex, nullptr, 16);
    for (int cap = 0; cap < 64; ++cap) {
        if (!(mask & (uint64_t{1} << cap))) continue;
        const char* name = capng_capability_to_name(static_cast<unsigned>(cap));
        names.emplace_back(name ? name : "cap_" + std::to_string(cap));
    }
    return names;
}

std::string join(const std::vector<std::string>& v, const char* sep = " ") {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
    return out;
}

// /proc/PID/limits, for the limits a class sets most: "NOFILE=1024:524288 CORE=0 …".
std::string read_limits(const std::string& dir, json& facts) {
    static const std::array<std::pair<const char*, const char*>, 7> wanted{{
        {"Max open files", "NOFILE"}, {"Max processes", "NPROC"}, {"Max core file size", "CORE"},
        {"Max address space", "AS"}, {"Max cpu time", "CPU"}, {"Max file size", "FSIZE"},
        {"Max locked memory", "MEMLOCK"},
    }};
    std::ifstream in(dir + "/limits");
    std::vector<std::string> parts;
    for (std::string line; std::getline(in, line);) {
        for (const auto& [label, name] : wanted) {
            if (line.rfind(label, 0) != 0) continue;
            std::istringstream fields(line.substr(std::strlen(label)));
            std::string soft, hard;
            fields >> soft >> hard;
            facts[name] = {{"soft", soft}, {"hard", hard}};
            if (soft == "unlimited" && hard == "unlimited") continue;
            parts.push_back(std::string(name) + "=" + (soft == hard ? soft : soft + ":" + hard));
        }
    }
    return parts.empty() ? "none of NOFILE NPROC CORE AS CPU FSIZE MEMLOCK set" : join(parts);
}

// Which namespaces the process has of its own: those whose /proc/PID/ns link differs from
// offshootctl's. Needs ptrace-read access to the process (root, for another user's worker).
std::string read_namespaces(const std::string& dir, json& facts) {
    std::vector<std::string> own, shared;
    for (const char* ns : {"mnt", "net", "pid", "ipc", "uts", "user", "cgroup"}) {
        char theirs[128] = {}, ours[128] = {};
        const ssize_t a = ::readlink((dir + "/ns/" + ns).c_str(), theirs, sizeof theirs - 1);
        if (a < 0) return std::string("not readable here (") + std::strerror(errno) + "; root may read them)";
        const ssize_t b = ::readlink((std::string("/proc/self/ns/") + ns).c_str(), ours, sizeof ours - 1);
        const bool differs = b < 0 || std::strcmp(theirs, ours) != 0;
        (differs ? own : shared).emplace_back(ns);
        facts[ns] = differs ? "own" : "shared";
    }
    if (own.empty()) return "none of its own (all shared with this host's view)";
    return "own " + join(own) + "; shared " + (shared.empty() ? "none" : join(shared));
}

std::string size_text(uint64_t v) {
    static const char* units[] = {"", "K", "M", "G", "T"};
    int u = 0;
    while (u < 4 && v >= 1024 && v % 1024 == 0) {
        v /= 1024;
        ++u;
    }
    return std::to_string(v) + units[u];
}

// The cgroup limits offshootd applies (systemd's names and spellings), and the private view.
void add_offshootd_view(const json& p, ContainmentView& view) {
    auto number = [&](const char* key) { return p.contains(key) && p[key].is_number_unsigned() ? p[key].get<uint64_t>() : no_limit; };
    std::vector<std::string> limits;
    for (const char* key : {"MemoryMax", "MemoryHigh", "MemorySwapMax"})
        if (const uint64_t v = number(key); v != no_limit) limits.push_back(std::string(key) + "=" + size_text(v));
    if (const uint64_t v = number("TasksMax"); v != no_limit) limits.push_back("TasksMax=" + std::to_string(v));
    if (const uint64_t v = number("CPUQuotaPerSecUSec"); v != no_limit)
        limits.push_back("CPUQuota=" + std::to_string(v / 10'000) + "%");
    for (const char* key : {"CPUWeight", "IOWeight"})
        if (const uint64_t v = number(key); v != no_limit) limits.push_back(std::string(key) + "=" + std::to_string(v));
    view.lines.emplace_back("Limits", limits.empty() ? "none (cgroup accounting only)" : join(limits));

    std::vector<std::string> sandbox;
    for (const char* key : {"PrivateTmp", "PrivateDevices", "PrivateNetwork"})
        if (p.contains(key) && p[key].is_boolean() && p[key].get<bool>()) sandbox.push_back(std::string(key) + "=yes");
    for (const char* key : {"ProtectSystem", "ProtectHome"})
        if (p.contains(key) && p[key].is_string() && p[key] != "no") sandbox.push_back(std::string(key) + "=" + p[key].get<std::string>());
    for (const char* key : {"ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths"})
        if (p.contains(key) && p[key].is_array() && !p[key].empty()) {
            std::vector<std::string> paths;
            for (const auto& e : p[key]) paths.push_back(e.get<std::string>());
            sandbox.push_back(std::string(key) + "=" + join(paths));
        }
    view.lines.emplace_back("View", sandbox.empty() ? "the host's (no private view)" : join(sandbox));
}

}  // namespace

std::string human_bytes(uint64_t bytes) {
    static const char* units[] = {"B", "K", "M", "G", "T"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (u < 4 && v >= 1024) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.1f%s", v, units[u]);
    return buf;
}

std::string human_cpu(uint64_t nsec) {
    char buf[32];
    if (nsec < 1'000'000'000) std::snprintf(buf, sizeof buf, "%.3fms", static_cast<double>(nsec) / 1e6);
    else std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(nsec) / 1e9);
    return buf;
}

ContainmentView read_containment(uint32_t pid, uint32_t uid, const json& properties, bool local) {
    ContainmentView view;
    const std::string dir = "/proc/" + std::to_string(pid);
    struct stat st {};
    if (!local) view.unreadable = "on another host (its /proc is not read over ssh)";
    else if (pid == 0) view.unreadable = "no process";
    // The pid is offshootd's word: it must at least name a process of the instance's uid here.
    else if (::stat(dir.c_str(), &st) != 0 || st.st_uid != uid)
        view.unreadable = "pid " + std::to_string(pid) + " is not a process of uid " + std::to_string(uid) + " here";
    auto status = view.unreadable.empty() ? read_status(dir) : std::map<std::string, std::string>{};
    if (view.unreadable.empty() && status.empty()) view.unreadable = dir + "/status: " + std::strerror(errno);

    if (view.unreadable.empty()) {
        json& f = view.facts;
        std::istringstream uids(status["Uid"]), gids(status["Gid"]);
        std::string ruid, euid, suid, fsuid, rgid, egid, sgid, fsgid;
        uids >> ruid >> euid >> suid >> fsuid;
        gids >> rgid >> egid >> sgid >> fsgid;
        const bool one_uid = ruid == euid && euid == suid && suid == fsuid;
        const bool one_gid = rgid == egid && egid == sgid && sgid == fsgid;
        f["uid"] = status["Uid"];
        f["gid"] = status["Gid"];
        f["groups"] = status["Groups"];
        view.lines.emplace_back("Identity", (one_uid ? "uid " + ruid : "uids " + status["Uid"]) + ", " +
                                                (one_gid ? "gid " + rgid : "gids " + status["Gid"]) + ", groups " +
                                                (status["Groups"].empty() ? "none" : status["Groups"]));
        const auto effective = capability_names(status["CapEff"]);
        const auto permitted = capability_names(status["CapPrm"]);
        const auto ambient = capability_names(status["CapAmb"]);
        const auto bounding = capability_names(status["CapBnd"]);
        f["capabilities"] = {{"effective", effective}, {"permitted", permitted}, {"ambient", ambient}, {"bounding", bounding}};
        std::string caps = effective.empty() && permitted.empty() && ambient.empty()
                               ? "none (effective, permitted, ambient)"
                               : "effective " + (effective.empty() ? "none" : join(effective, ",")) + "; permitted " +
                                     (permitted.empty() ? "none" : join(permitted, ","));
        caps += "; bounding set " + (bounding.empty() ? std::string("empty") : std::to_string(bounding.size()) + " capabilities");
        view.lines.emplace_back("Capabilities", caps);
        f["no_new_privs"] = status["NoNewPrivs"] == "1";
        view.lines.emplace_back("NoNewPrivs", status["NoNewPrivs"] == "1" ? "yes" : "no");
        const std::string mode = status["Seccomp"];
        f["seccomp"] = mode == "2" ? "filter" : mode == "1" ? "strict" : "none";
        f["seccomp_filters"] = status.count("Seccomp_filters") ? status["Seccomp_filters"] : "";
        view.lines.emplace_back("Seccomp", mode == "2" ? "filter (" + status["Seccomp_filters"] + " installed)"
                                           : mode == "1" ? std::string("strict")
                                                         : std::string("none"));
        json limits = json::object();
        view.lines.emplace_back("Rlimits", read_limits(dir, limits));
        f["rlimits"] = limits;
        json namespaces = json::object();
        view.lines.emplace_back("Namespaces", read_namespaces(dir, namespaces));
        f["namespaces"] = namespaces;
    }
    add_offshootd_view(properties, view);
    if (!view.unreadable.empty()) view.facts["unreadable"] = view.unreadable;
    return view;
}

}  // namespace offshootctl

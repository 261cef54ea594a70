// proc.cpp — /proc readers.
#include "offshoot/test/proc.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>

namespace offshoot::test {

namespace {

std::vector<uint32_t> parse_u32_list(const std::string& text) {
    std::vector<uint32_t> out;
    std::istringstream in(text);
    uint64_t v;
    while (in >> v) out.push_back(static_cast<uint32_t>(v));
    return out;
}

}  // namespace

std::optional<std::map<std::string, std::string>> read_status_fields(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    if (!in) return std::nullopt;
    std::map<std::string, std::string> fields;
    std::string line;
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        auto value = line.substr(colon + 1);
        auto first = value.find_first_not_of(" \t");
        fields[line.substr(0, colon)] = first == std::string::npos ? "" : value.substr(first);
    }
    if (fields.empty()) return std::nullopt;
    return fields;
}

std::optional<ProcStatus> read_status(pid_t pid) {
    auto fields = read_status_fields(pid);
    if (!fields) return std::nullopt;
    ProcStatus s;
    auto uids = parse_u32_list((*fields)["Uid"]);
    auto gids = parse_u32_list((*fields)["Gid"]);
    if (uids.size() != 4 || gids.size() != 4) return std::nullopt;
    std::copy(uids.begin(), uids.end(), s.uid.begin());
    std::copy(gids.begin(), gids.end(), s.gid.begin());
    s.groups = parse_u32_list((*fields)["Groups"]);
    s.ppid = static_cast<pid_t>(std::stol((*fields)["PPid"]));
    auto state = (*fields)["State"];
    s.state = state.empty() ? '?' : state[0];
    return s;
}

std::filesystem::path proc_cwd(pid_t pid) {
    return std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/cwd");
}

std::size_t proc_fd_count(pid_t pid) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
        ++n;
    return n;
}

std::optional<ProcStat> read_stat(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!in || !std::getline(in, text)) return std::nullopt;
    // "pid (comm) S ppid …" — comm may contain spaces and ')', so split at the last ')'.
    auto close = text.rfind(')');
    if (close == std::string::npos || close + 2 >= text.size()) return std::nullopt;
    std::istringstream rest(text.substr(close + 2));
    ProcStat s;
    s.pid = pid;
    if (!(rest >> s.state >> s.ppid)) return std::nullopt;
    // pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt, then utime stime (ticks).
    unsigned long long skip = 0, utime = 0, stime = 0;
    for (int i = 0; i < 9; ++i) rest >> skip;
    if (rest >> utime >> stime)
        s.cpu_ms = static_cast<double>(utime + stime) * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
    return s;
}

std::vector<ProcStat> children_of(pid_t parent) {
    std::vector<ProcStat> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
        const auto name = e.path().filename().string();
        pid_t pid = 0;
        auto [ptr, err] = std::from_chars(name.data(), name.data() + name.size(), pid);
        if (err != std::errc() || ptr != name.data() + name.size()) continue;
        if (auto st = read_stat(pid); st && st->ppid == parent) out.push_back(*st);
    }
    return out;
}

std::vector<pid_t> zombie_children_of(pid_t parent) {
    std::vector<pid_t> out;
    for (const auto& c : children_of(parent))
        if (c.state == 'Z') out.push_back(c.pid);
    return out;
}

}  // namespace offshoot::test

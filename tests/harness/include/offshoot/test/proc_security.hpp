// offshoot/test/proc_security.hpp — what /proc says about a process's isolation: its
// environment, its open descriptors (with their targets), its resource limits and its session
// and controlling terminal. Header-only, next to proc.hpp's ids and status fields.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace offshoot::test {

// /proc/PID/environ as KEY=VALUE strings (empty when the process is gone).
inline std::vector<std::string> proc_environ(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
    std::vector<std::string> out;
    std::string entry;
    while (std::getline(in, entry, '\0'))
        if (!entry.empty()) out.push_back(entry);
    return out;
}

// fd number → readlink target ("/dev/null", "socket:[123]", "anon_inode:[eventpoll]", …).
inline std::map<int, std::string> proc_fds(pid_t pid) {
    std::map<int, std::string> out;
    std::error_code ec;
    const std::filesystem::path dir = "/proc/" + std::to_string(pid) + "/fd";
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        std::error_code link_ec;
        auto target = std::filesystem::read_symlink(e.path(), link_ec);
        out[std::stoi(e.path().filename().string())] = link_ec ? "?" : target.string();
    }
    return out;
}

struct Limit {
    std::string soft;  // a number or "unlimited", as /proc/PID/limits prints it
    std::string hard;
};

// /proc/PID/limits by the name in its first column ("Max open files", "Max processes", …).
inline std::map<std::string, Limit> proc_limits(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
    std::map<std::string, Limit> out;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        if (line.size() < 26) continue;
        std::string name = line.substr(0, 26);
        name.erase(name.find_last_not_of(' ') + 1);
        std::istringstream rest(line.substr(26));
        Limit l;
        rest >> l.soft >> l.hard;
        out[name] = l;
    }
    return out;
}

// The session-related fields of /proc/PID/stat.
struct ProcSession {
    pid_t pgrp = 0;
    pid_t session = 0;
    int tty_nr = -1;  // 0: no controlling terminal
    pid_t tpgid = 0;
};

inline std::optional<ProcSession> read_session(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!in || !std::getline(in, text)) return std::nullopt;
    auto close = text.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(text.substr(close + 2));
    char state;
    pid_t ppid;
    ProcSession s;
    if (!(rest >> state >> ppid >> s.pgrp >> s.session >> s.tty_nr >> s.tpgid)) return std::nullopt;
    return s;
}

}  // namespace offshoot::test

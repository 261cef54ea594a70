// layout.cpp — see layout.hpp.
#include "cgroup/layout.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace offshoot {
namespace {

std::vector<std::string_view> fields(std::string_view line, char sep) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i <= line.size()) {
        size_t j = line.find(sep, i);
        if (j == std::string_view::npos) j = line.size();
        out.push_back(line.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
    const auto octal = [](char ch) { return ch >= '0' && ch <= '7'; };
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::optional<Controller> v1_controller(std::string_view name) {
    for (Controller c : all_controllers)
        if (name == name_of(c, false)) return c;
    return std::nullopt;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string join(const std::string& mount, const std::string& path) {
    if (path == "/" || path.empty()) return mount;
    return mount + path;
}

}  // namespace

const char* name_of(Controller c, bool v2) {
    switch (c) {
    case Controller::memory: return "memory";
    case Controller::pids: return "pids";
    case Controller::cpu: return "cpu";
    case Controller::cpuacct: return v2 ? "cpu" : "cpuacct";
    case Controller::io: return v2 ? "io" : "blkio";
    }
    return "";
}

bool Hierarchies::on_v2(Controller c) const {
    if (v2.empty() || v1.count(c)) return false;
    if (c == Controller::cpuacct) return true;  // cpu.stat is always there on v2
    return std::find(v2_controllers.begin(), v2_controllers.end(), name_of(c, true)) != v2_controllers.end();
}

Hierarchies parse_mountinfo(std::string_view text) {
    Hierarchies h;
    for (std::string_view line : fields(text, '\n')) {
        const auto f = fields(line, ' ');
        const auto dash = std::find(f.begin(), f.end(), "-");
        // "ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL…] - TYPE SOURCE SUPER-OPTIONS"
        if (f.size() < 5 || dash == f.end() || f.end() - dash < 4) continue;
        const std::string_view type = *(dash + 1), options = *(dash + 3);
        const std::string mount_point = unescape(f[4]);
        if (type == "cgroup2") {
            // A hybrid host mounts it at /sys/fs/cgroup/unified; a pure v2 one at /sys/fs/cgroup.
            if (h.v2.empty() || mount_point == "/sys/fs/cgroup") h.v2 = mount_point;
        } else if (type == "cgroup") {
            for (std::string_view opt : fields(options, ',')) {
                if (opt == "name=systemd") h.systemd_v1 = mount_point;
                else if (const auto c = v1_controller(opt)) h.v1.emplace(*c, mount_point);
            }
        }
    }
    return h;
}

Hierarchies read_hierarchies() {
    Hierarchies h = parse_mountinfo(read_text("/proc/self/mountinfo"));
    if (!h.v2.empty()) {
        std::istringstream in(read_text(h.v2 + "/cgroup.controllers"));
        for (std::string c; in >> c;) h.v2_controllers.push_back(c);
    }
    return h;
}

Membership parse_proc_cgroup(std::string_view text) {
    Membership m;
    for (std::string_view line : fields(text, '\n')) {
        // "ID:CONTROLLERS:PATH"; the path may itself hold ':'.
        const size_t a = line.find(':');
        const size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
        if (b == std::string_view::npos) continue;
        const std::string_view id = line.substr(0, a), list = line.substr(a + 1, b - a - 1);
        const std::string path{line.substr(b + 1)};
        if (id == "0" && list.empty()) {
            m.v2 = path;
            continue;
        }
        for (std::string_view name : fields(list, ',')) {
            if (name == "name=systemd") m.systemd_v1 = path;
            else if (const auto c = v1_controller(name)) m.v1[*c] = path;
        }
    }
    return m;
}

std::optional<Membership> read_membership(int pid) {
    const std::string text = read_text(pid > 0 ? "/proc/" + std::to_string(pid) + "/cgroup" : "/proc/self/cgroup");
    if (text.empty()) return std::nullopt;
    return parse_proc_cgroup(text);
}

const CgroupDir* InstanceDirs::get(Controller c) const {
    const auto it = dirs.find(c);
    return it == dirs.end() ? nullptr : &it->second;
}

std::vector<std::string> InstanceDirs::distinct() const {
    std::vector<std::string> out;
    for (const auto& [c, d] : dirs)
        if (std::find(out.begin(), out.end(), d.path) == out.end()) out.push_back(d.path);
    return out;
}

InstanceDirs dirs_of(const Hierarchies& h, const Membership& m) {
    InstanceDirs out;
    for (Controller c : all_controllers) {
        if (const auto it = h.v1.find(c); it != h.v1.end()) {
            if (const auto p = m.v1.find(c); p != m.v1.end()) out.dirs[c] = {join(it->second, p->second), false};
        } else if (h.on_v2(c) && m.v2) {
            out.dirs[c] = {join(h.v2, *m.v2), true};
        }
    }
    // What systemd tracks the process by (name=systemd on hybrid and legacy hosts, else v2),
    // else the memory hierarchy's path.
    if (m.systemd_v1 && !h.systemd_v1.empty()) out.control_group = *m.systemd_v1;
    else if (m.v2) out.control_group = *m.v2;
    else if (const auto p = m.v1.find(Controller::memory); p != m.v1.end()) out.control_group = p->second;
    return out;
}

}  // namespace offshoot

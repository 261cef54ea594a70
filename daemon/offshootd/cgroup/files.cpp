// files.cpp — see files.hpp.
#include "cgroup/files.hpp"

#include "offshoot/common/errors.hpp"
#include "spawn/fd_table.hpp"
#include "offshoot/common/log.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <sstream>

namespace offshoot {
namespace {

constexpr uint64_t usec_per_sec = 1'000'000;

// One file to write: where, what, and what reading it back must give (limits only).
struct Setting {
    std::string file;
    std::string text;
    std::optional<std::string> readback;
};

uint64_t page_size() { return static_cast<uint64_t>(sysconf(_SC_PAGESIZE)); }

// systemd's cgroup_cpu_adjust_period() and the quota per period (src/core/cgroup.c).
std::pair<uint64_t, uint64_t> cpu_quota_and_period(uint64_t per_sec) {
    const uint64_t period = std::min(std::max({uint64_t{100'000}, uint64_t{1000}, 1000 * usec_per_sec / per_sec}), usec_per_sec);
    return {std::max(per_sec * period / usec_per_sec, uint64_t{1000}), period};
}

// BFQ's weight for an io.weight (systemd's BFQ_WEIGHT()).
uint64_t bfq_weight(uint64_t w) {
    return w <= 100 ? w : 100 + (w - 100) * 900 / 9900;
}

std::string v1_refusal(const char* key, const char* v2_file) {
    return fmt::format("{}= needs cgroup v2 ({}); this host's memory controller is cgroup v1, which has no such limit",
                       key, v2_file);
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

// The files for `r` = `v` in `dir`, or an error.
std::string settings_for(Resource r, uint64_t v, const CgroupDir& dir, std::vector<Setting>& out) {
    const std::string n = std::to_string(v);
    const std::string page_rounded = std::to_string(v / page_size() * page_size());
    switch (r) {
    case Resource::memory_max:
        out.push_back({dir.v2 ? "memory.max" : "memory.limit_in_bytes", n, page_rounded});
        return "";
    case Resource::memory_high:
        if (!dir.v2) return v1_refusal("MemoryHigh", "memory.high");
        out.push_back({"memory.high", n, page_rounded});
        return "";
    case Resource::memory_swap_max:
        if (!dir.v2) return v1_refusal("MemorySwapMax", "memory.swap.max");
        out.push_back({"memory.swap.max", n, page_rounded});
        return "";
    case Resource::tasks_max: out.push_back({"pids.max", n, n}); return "";
    case Resource::cpu_quota: {
        const auto [quota, period] = cpu_quota_and_period(v);
        if (dir.v2) {
            out.push_back({"cpu.max", fmt::format("{} {}", quota, period), fmt::format("{} {}", quota, period)});
        } else {
            out.push_back({"cpu.cfs_period_us", std::to_string(period), std::nullopt});
            out.push_back({"cpu.cfs_quota_us", std::to_string(quota), std::to_string(quota)});
        }
        return "";
    }
    case Resource::cpu_weight:
        if (dir.v2) out.push_back(v == 0 ? Setting{"cpu.idle", "1", {}} : Setting{"cpu.weight", n, {}});
        else out.push_back({"cpu.shares", std::to_string(v == 0 ? 2 : std::clamp<uint64_t>(v * 1024 / 100, 2, 262144)), {}});
        return "";
    case Resource::io_weight:
        if (dir.v2) out.push_back({"io.weight", "default " + n, {}});
        else if (exists(dir.path + "/blkio.weight")) out.push_back({"blkio.weight", std::to_string(std::clamp<uint64_t>(v * 5, 10, 1000)), {}});
        else out.push_back({"blkio.bfq.weight", std::to_string(bfq_weight(v)), {}});
        return "";
    }
    return "unknown resource";
}

Controller controller_of(Resource r) {
    switch (r) {
    case Resource::memory_max:
    case Resource::memory_high:
    case Resource::memory_swap_max: return Controller::memory;
    case Resource::tasks_max: return Controller::pids;
    case Resource::cpu_quota:
    case Resource::cpu_weight: return Controller::cpu;
    case Resource::io_weight: return Controller::io;
    }
    return Controller::memory;
}

// Every file the limits need, each with its directory; or why one cannot be had.
std::string all_settings(const InstanceDirs& dirs, const ResourceControl& limits,
                         std::vector<std::pair<std::string, Setting>>& out) {
    for (const auto& k : resource_keys) {
        if (!limits.set(k.id)) continue;
        const Controller c = controller_of(k.id);
        const CgroupDir* dir = dirs.get(c);
        if (!dir)
            return fmt::format("{}= needs the {} controller, which this host does not offer offshootd", k.config,
                               name_of(c, /* v2= */ true));
        std::vector<Setting> s;
        if (std::string e = settings_for(k.id, limits[k.id], *dir, s); !e.empty()) return e;
        for (auto& one : s) out.emplace_back(dir->path, std::move(one));
    }
    return "";
}

std::optional<uint64_t> number(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// "key value" lines (memory.events, cpu.stat, memory.oom_control).
std::optional<uint64_t> keyed(std::string_view text, std::string_view key) {
    std::istringstream in{std::string(text)};
    std::string k;
    uint64_t v = 0;
    while (in >> k >> v)
        if (k == key) return v;
    return std::nullopt;
}

uint64_t read_number(const CgroupDir* dir, const char* file, uint64_t scale = 1) {
    if (!dir) return UINT64_MAX;
    const auto text = read_file(dir->path + "/" + file);
    const auto n = text ? number(*text) : std::nullopt;
    return n ? *n * scale : UINT64_MAX;
}

}  // namespace

std::optional<std::string> read_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
}

std::string write_file(const std::string& path, std::string_view text) {
    // O_CREAT: cgroupfs has every file already (and refuses to make one); a fake tree in the
    // unit tests gets it made.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_CREAT, 0644);
    if (fd < 0) return fmt::format("cannot open {}: {}", path, errno_text(errno));
    const ssize_t n = ::write(fd, text.data(), text.size());
    const int err = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(text.size()))
        return fmt::format("cannot write {} to {}: {}", text, path, n < 0 ? errno_text(err) : std::string("short write"));
    return "";
}

std::string apply_limits(const InstanceDirs& dirs, const ResourceControl& limits) {
    std::vector<std::pair<std::string, Setting>> settings;
    if (std::string e = all_settings(dirs, limits, settings); !e.empty()) return e;
    for (const auto& [dir, s] : settings)
        if (std::string e = write_file(dir + "/" + s.file, s.text); !e.empty()) return e;
    return "";
}

std::string verify_limits(const InstanceDirs& dirs, const ResourceControl& limits) {
    std::vector<std::pair<std::string, Setting>> settings;
    if (std::string e = all_settings(dirs, limits, settings); !e.empty()) return e;
    for (const auto& [dir, s] : settings) {
        if (!s.readback) continue;
        const auto text = read_file(dir + "/" + s.file);
        std::string seen = text.value_or("(unreadable)");
        while (!seen.empty() && seen.back() == '\n') seen.pop_back();
        if (seen != *s.readback)
            return fmt::format("{}/{} is {}, not {}: the limit is not in force", dir, s.file, seen, *s.readback);
    }
    return "";
}

CgroupUsage read_usage(const InstanceDirs& dirs) {
    CgroupUsage u;
    const CgroupDir* mem = dirs.get(Controller::memory);
    u.memory_current = read_number(mem, mem && mem->v2 ? "memory.current" : "memory.usage_in_bytes");
    u.memory_peak = read_number(mem, mem && mem->v2 ? "memory.peak" : "memory.max_usage_in_bytes");
    u.tasks_current = read_number(dirs.get(Controller::pids), "pids.current");
    if (const CgroupDir* acct = dirs.get(Controller::cpuacct); acct && acct->v2) {
        const auto text = read_file(acct->path + "/cpu.stat");
        const auto usec = text ? keyed(*text, "usage_usec") : std::nullopt;
        if (usec) u.cpu_usage_nsec = *usec * 1000;
    } else {
        u.cpu_usage_nsec = read_number(acct, "cpuacct.usage");
    }
    return u;
}

OomWatch::OomWatch(const InstanceDirs& dirs, int writable, const std::string& mount) {
    const CgroupDir* mem = dirs.get(Controller::memory);
    if (!mem) return;
    // Both kept for the instance's life: above the descriptors a spawn copies (fd_table.hpp).
    counter_ = keep_long_lived(Fd{::open((mem->path + (mem->v2 ? "/memory.events" : "/memory.oom_control")).c_str(), O_RDONLY | O_CLOEXEC)});
    if (mem->v2 || !counter_) return;
    events_ = keep_long_lived(Fd{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)});
    std::string control = mem->path + "/cgroup.event_control";
    const bool below = writable >= 0 && control.starts_with(mount + "/");
    if (below) control = fmt::format(".{}", control.substr(mount.size()));  // (GCC 12 -Wrestrict: no "." + s)
    const Fd fd{::openat(below ? writable : AT_FDCWD, control.c_str(), O_WRONLY | O_CLOEXEC)};
    const std::string line = fmt::format("{} {}", events_.get(), counter_.get());
    if (!fd || ::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        log::debug("no OOM notification for {}: {}", mem->path, errno_text(errno));
        events_ = Fd{};
    }
}

Fd writable_memory_hierarchy(const std::string& mount) {
    Fd tree{::open_tree(AT_FDCWD, mount.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)};
    mount_attr attr{};
    attr.attr_clr = MOUNT_ATTR_RDONLY;
    if (tree && ::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) == 0) return tree;
    log::debug("no writable copy of {}: {}", mount, errno_text(errno));
    return Fd{};
}

bool OomWatch::killed() const {
    if (!counter_) return false;
    if (const auto kills = read_oom_kills(counter_.get())) return *kills > 0;
    if (!events_) {
        log::debug("the instance's memory cgroup was removed before its OOM kills were read");
        return false;
    }
    // Removed (v1): the eventfd counts the OOMs, each signalled before its kill, plus one for
    // the removal, signalled by a kernel work item just after it. 0: no OOM; 2 or more: an OOM.
    uint64_t n = 0;
    if (::read(events_.get(), &n, sizeof n) != static_cast<ssize_t>(sizeof n)) n = 0;
    if (n != 1) return n >= 2;
    // One: an OOM with the removal's signal still to come, or the removal alone. Asked only
    // for a worker SIGKILLed by someone else, so this short wait is rare.
    pollfd p{events_.get(), POLLIN, 0};
    return ::poll(&p, 1, 100) > 0;
}

std::optional<uint64_t> read_oom_kills(int fd) {
    if (fd < 0) return std::nullopt;
    char buf[1024];
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return std::nullopt;
    return keyed(std::string_view(buf, static_cast<size_t>(n)), "oom_kill");
}

std::vector<pid_t> members(const InstanceDirs& dirs) {
    std::vector<pid_t> out;
    for (const auto& dir : dirs.distinct()) {
        const auto text = read_file(dir + "/cgroup.procs");
        if (!text) continue;
        std::istringstream in(*text);
        // Never 0 or 1: kill(0) is our own process group, and init is nobody's to kill.
        for (pid_t p = 0; in >> p;)
            if (p > 1 && std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    }
    return out;
}

void kill_members(const InstanceDirs& dirs) {
    for (const auto& [c, dir] : dirs.dirs) {
        if (!dir.v2) continue;
        // Not write_file(): a cgroup.kill that is not there (Linux < 5.14) must not be made.
        const int fd = ::open((dir.path + "/cgroup.kill").c_str(), O_WRONLY | O_CLOEXEC);
        const bool killed = fd >= 0 && ::write(fd, "1", 1) == 1;
        if (fd >= 0) ::close(fd);
        if (killed) return;
    }
    // v1, or a kernel before 5.14: one by one (as systemd's cg_kill does).
    for (pid_t p : members(dirs)) (void)::kill(p, SIGKILL);
}

bool remove_dirs(const InstanceDirs& dirs) {
    bool all = true;
    for (const auto& dir : dirs.distinct())
        if (::rmdir(dir.c_str()) < 0 && errno != ENOENT) all = false;
    return all;
}

}  // namespace offshoot

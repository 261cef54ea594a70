// direct.cpp — see direct.hpp.
#include "cgroup/direct.hpp"

#include "offshoot/common/errors.hpp"
#include "offshoot/common/log.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

namespace offshoot {
namespace {

constexpr uint64_t retry_usec = 50'000;
constexpr int retry_attempts = 100;  // 5 s for what an instance left behind to die

// The controllers each key needs.
std::set<Controller> needed(const ResourceControl& r) {
    std::set<Controller> out;
    if (r.set(Resource::memory_max) || r.set(Resource::memory_high) || r.set(Resource::memory_swap_max))
        out.insert(Controller::memory);
    if (r.set(Resource::tasks_max)) out.insert(Controller::pids);
    if (r.set(Resource::cpu_quota) || r.set(Resource::cpu_weight)) out.insert(Controller::cpu);
    if (r.set(Resource::io_weight)) out.insert(Controller::io);
    return out;
}

bool make_dir(const std::string& path) { return ::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST; }

std::string join(const std::string& mount, const std::string& path) { return path == "/" ? mount : mount + path; }

// This process's pid namespace, by inode: a pid names a process only within one.
uint64_t pid_namespace() {
    struct stat st {};
    return ::stat("/proc/self/ns/pid", &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

// offshootd's own cgroup in a v1 hierarchy: offshootd-<pid>-<pid namespace>. The namespace
// keeps two offshootds that share a parent cgroup from different pid namespaces (containers,
// the tests' own namespaces) apart: with the pid alone they could have the same name, and each
// would take the other's for a dead predecessor's.
std::string own_name(pid_t self) { return fmt::format("offshootd-{}-{}", self, pid_namespace()); }

bool is_offshootd(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    std::string comm;
    return std::getline(in, comm) && comm == "offshootd";
}

// Kills what is in `dir` and removes it (a leftover of an offshootd that is gone).
void remove_tree(const std::string& dir) {
    if (DIR* d = ::opendir(dir.c_str())) {
        std::vector<std::string> subdirs;
        while (const dirent* e = ::readdir(d))
            if (e->d_type == DT_DIR && e->d_name[0] != '.') subdirs.push_back(dir + "/" + e->d_name);
        ::closedir(d);
        for (const auto& s : subdirs) remove_tree(s);
    }
    InstanceDirs one;
    one.dirs[Controller::memory] = {dir, false};
    kill_members(one);
    (void)::rmdir(dir.c_str());
}

class DirectCgroup final : public InstanceCgroup {
public:
    DirectCgroup(DirectCgroups& engine, InstanceDirs dirs, std::vector<Fd> procs)
        : engine_(engine), procs_(std::move(procs)) {
        set_dirs(std::move(dirs));
    }
    ~DirectCgroup() override {
        if (!released_) release();
    }
    std::vector<int> join_fds() const override {
        std::vector<int> fds;
        for (const auto& f : procs_) fds.push_back(f.get());
        return fds;
    }
    // The child has its own copies of the cgroup.procs descriptors and joins with them; ours
    // go now, not with the instance: kept, they were one descriptor per hierarchy per live
    // instance (three on a v1 host) below kLongLivedFdBase, which every later fork copies and
    // every spawn child closes — spawn cost that grew with the live instances.
    void place(pid_t pid, std::function<void(const std::string&)> done) override {
        procs_.clear();
        InstanceCgroup::place(pid, std::move(done));
    }
    void release() override {
        released_ = true;
        procs_.clear();
        if (dirs().empty()) return;
        kill_members(dirs());
        if (!remove_dirs(dirs())) engine_.remove_later(dirs());
    }

private:
    DirectCgroups& engine_;
    std::vector<Fd> procs_;  // cgroup.procs of each hierarchy, for the child's first step
    bool released_ = false;
};

}  // namespace

DirectCgroups::DirectCgroups(sd_event* event, Hierarchies h, Membership own, pid_t self) : event_(event) {
    set_up_v1(h, own, self);
    set_up_v2(h, own, self);
    for (Controller c : all_controllers)
        if (!base_.count(c) && !missing_.count(c)) missing_[c] = "the host has no such controller";
}

DirectCgroups::~DirectCgroups() {
    for (auto& p : pending_) {
        kill_members(p.dirs);
        (void)remove_dirs(p.dirs);
    }
    for (const auto& b : own_bases_) (void)::rmdir(b.c_str());
}

void DirectCgroups::set_up_v1(const Hierarchies& h, const Membership& own, pid_t self) {
    for (const auto& [c, mount] : h.v1) {
        const auto path = own.v1.find(c);
        if (path == own.v1.end()) continue;
        const std::string parent = join(mount, path->second);
        const std::string base = parent + "/" + own_name(self);
        if (std::find(own_bases_.begin(), own_bases_.end(), base) == own_bases_.end()) {
            sweep_v1(parent, self);
            if (!make_dir(base)) {
                missing_[c] = fmt::format("cannot create {}: {}", base, errno_text(errno));
                continue;
            }
            own_bases_.push_back(base);
        }
        const std::string relative = path->second == "/" ? std::string() : path->second;
        // Member by member: GCC 12 at -O3 takes a braced temporary here for maybe-uninitialized.
        Base& b = base_[c];
        b.dir.path = base;
        b.dir.v2 = false;
        b.relative = relative + "/" + own_name(self);
    }
}

// What a killed offshootd left in `parent`: offshootd-<pid>-<ns> of this pid namespace whose pid
// is no offshootd now (and the older offshootd-<pid>). One of another pid namespace is left
// alone: whether its offshootd lives cannot be told from here.
void DirectCgroups::sweep_v1(const std::string& parent, pid_t self) {
    DIR* d = ::opendir(parent.c_str());
    if (!d) return;
    std::vector<std::string> stale;
    const std::string own_ns = std::to_string(pid_namespace());
    auto number = [](std::string_view t) {
        return !t.empty() && t.size() <= 19 && t.find_first_not_of("0123456789") == std::string_view::npos;
    };
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (e->d_type != DT_DIR || name.rfind("offshootd-", 0) != 0) continue;
        const std::string_view rest = std::string_view(name).substr(10);
        const auto dash = rest.find('-');
        const std::string_view digits = rest.substr(0, dash);
        if (!number(digits) || digits.size() > 9) continue;
        if (dash != std::string_view::npos && (!number(rest.substr(dash + 1)) || rest.substr(dash + 1) != own_ns)) continue;
        const pid_t pid = static_cast<pid_t>(std::stol(std::string(digits)));
        if (pid != self && !is_offshootd(pid)) stale.push_back(parent + "/" + name);
    }
    ::closedir(d);
    for (const auto& s : stale) {
        remove_tree(s);
        log::notice("removed the cgroup {} an earlier offshootd left", s);
    }
}

void DirectCgroups::set_up_v2(const Hierarchies& h, const Membership& own, pid_t self) {
    std::vector<Controller> wanted;
    for (Controller c : all_controllers)
        if (h.on_v2(c)) wanted.push_back(c);
    if (wanted.empty() || !own.v2) return;
    const std::string dir = join(h.v2, *own.v2);
    auto give_up = [&](const std::string& why) {
        for (Controller c : wanted) missing_[c] = why;
    };
    // cgroup v2 gives a cgroup with processes no controlled children: offshootd must be alone
    // in its cgroup, which it then leaves for a leaf of its own.
    // (The root cgroup is exempt from that rule.)
    const bool root = *own.v2 == "/";
    const auto procs = read_file(dir + "/cgroup.procs");
    std::istringstream in(root ? std::string() : procs.value_or(""));
    for (pid_t p = 0; in >> p;)
        if (p != self)
            return give_up(fmt::format("other processes (pid {}) share offshootd's cgroup {}, and cgroup v2 lets a cgroup "
                                       "with processes of its own have no controlled children: run offshootd in a cgroup "
                                       "of its own (a delegated subtree)",
                                       p, dir));
    const std::string leaf = dir + "/supervisor";
    if (!root && !make_dir(leaf)) return give_up(fmt::format("cannot create {}: {}", leaf, errno_text(errno)));
    if (std::string e = root ? "" : write_file(leaf + "/cgroup.procs", "0"); !e.empty()) return give_up(e);
    std::string enable;
    for (Controller c : wanted)
        if (c != Controller::cpuacct) enable += std::string(enable.empty() ? "+" : " +") + name_of(c, true);
    if (std::string e = write_file(dir + "/cgroup.subtree_control", enable); !e.empty()) {
        if (!root) (void)write_file(dir + "/cgroup.procs", "0");
        return give_up(e);
    }
    // Instances of an offshootd that was killed before it could remove them.
    if (DIR* d = ::opendir(dir.c_str())) {
        std::vector<std::string> stale;
        while (const dirent* e = ::readdir(d))
            if (e->d_type == DT_DIR && std::string_view(e->d_name).starts_with("offshoot-")) stale.push_back(dir + "/" + e->d_name);
        ::closedir(d);
        for (const auto& s : stale) remove_tree(s);
    }
    for (Controller c : wanted) {  // (member by member, as in set_up_v1)
        Base& b = base_[c];
        b.dir.path = dir;
        b.dir.v2 = true;
        b.relative = root ? std::string() : *own.v2;
    }
}

std::string DirectCgroups::unavailable(Controller c) const {
    const auto it = missing_.find(c);
    return it == missing_.end() ? std::string() : it->second;
}

std::string DirectCgroups::describe() const {
    if (base_.empty()) return "no cgroups of its own (" + unavailable(Controller::memory) + ")";
    std::string out = "cgroups below its own:";
    for (const auto& [c, b] : base_) out += fmt::format(" {} (v{}) in {};", name_of(c, b.dir.v2), b.dir.v2 ? 2 : 1, b.dir.path);
    for (const auto& [c, why] : missing_) out += fmt::format(" no {}: {};", name_of(c, false), why);
    out.pop_back();
    return out;
}

std::unique_ptr<InstanceCgroup> DirectCgroups::prepare(const InstanceSpec& spec, uint64_t, const std::string& name) {
    const ResourceControl& limits = spec.containment.resources;
    const std::set<Controller> need = needed(limits);
    for (Controller c : need)
        if (const std::string why = unavailable(c); !why.empty())
            fail(errors::spawn_failed, "cgroup: the class or the caller sets a {} limit, but {}", name_of(c, true), why);
    InstanceDirs dirs;
    std::vector<Fd> procs;
    auto undo_and_fail = [&](const std::string& why) {
        (void)remove_dirs(dirs);
        fail(errors::spawn_failed, "cgroup: {}", why);
    };
    for (const auto& [c, base] : base_) {
        if (c == Controller::io && !need.count(c)) continue;  // blkio/io only where a weight asks for it
        // v1's cpu hierarchy only where a CPU limit asks for it, as systemd does: nothing is read
        // from it (usage comes from cpuacct), and every cgroup costs a spawn a mkdir and a join.
        if (c == Controller::cpu && !base.dir.v2 && !need.count(c)) continue;
        const std::string path = base.dir.path + "/" + name;
        if (dirs.control_group.empty() || c == Controller::memory) dirs.control_group = base.relative + "/" + name;
        const bool made = std::any_of(dirs.dirs.begin(), dirs.dirs.end(), [&](auto& d) { return d.second.path == path; });
        if (!made && !make_dir(path)) {
            if (need.count(c)) undo_and_fail(fmt::format("cannot create {}: {}", path, errno_text(errno)));
            continue;  // only for the figures: go without
        }
        dirs.dirs[c] = {path, base.dir.v2};
        if (made) continue;
        Fd fd{::open((path + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC | O_CREAT, 0644)};
        if (!fd) undo_and_fail(fmt::format("cannot open {}/cgroup.procs: {}", path, errno_text(errno)));
        procs.push_back(std::move(fd));
    }
    if (dirs.empty()) return std::make_unique<InstanceCgroup>();
    if (std::string e = apply_limits(dirs, limits); !e.empty()) undo_and_fail(e);
    return std::make_unique<DirectCgroup>(*this, std::move(dirs), std::move(procs));
}

void DirectCgroups::remove_later(InstanceDirs dirs) {
    pending_.push_back({std::move(dirs), 0});
    if (retry_timer_ || !event_) return;
    sd_event_source* s = nullptr;
    if (sd_event_add_time_relative(event_, &s, CLOCK_MONOTONIC, retry_usec, 1000, on_retry, this) >= 0)
        retry_timer_.reset(s);
}

int DirectCgroups::on_retry(sd_event_source*, uint64_t, void* userdata) {
    static_cast<DirectCgroups*>(userdata)->retry();
    return 0;
}

void DirectCgroups::retry() {
    std::erase_if(pending_, [](Pending& p) {
        kill_members(p.dirs);
        if (remove_dirs(p.dirs)) return true;
        if (++p.attempts < retry_attempts) return false;
        log::warning("cannot remove the cgroup {}: processes are still in it", p.dirs.control_group);
        return true;
    });
    if (pending_.empty()) {
        retry_timer_.reset();
        return;
    }
    (void)sd_event_source_set_time_relative(retry_timer_.get(), retry_usec);
    (void)sd_event_source_set_enabled(retry_timer_.get(), SD_EVENT_ONESHOT);
}

}  // namespace offshoot

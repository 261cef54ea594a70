// namespace.cpp — see namespace.hpp. plan_namespaces() runs in offshootd; everything from
// apply_namespaces() down runs in the spawn child and makes system calls only.
#include "spawn/namespace.hpp"

#include "offshoot/common/errors.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

namespace offshoot {
namespace {

using Kind = MountOp::Kind;

// "/a//b/./c/" → "/a/b/c": the spelling the operations are sorted and merged by.
std::string normalize(std::string_view p) {
    std::string out;
    for (size_t i = 0; i < p.size();) {
        size_t j = p.find('/', i);
        if (j == std::string_view::npos) j = p.size();
        const std::string_view part = p.substr(i, j - i);
        if (!part.empty() && part != ".") out.append("/").append(part);
        i = j + 1;
    }
    return out.empty() ? "/" : out;
}

bool below(const std::string& path, const std::string& dir) {
    return dir == "/" ? path != "/" : path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

const char* verb(Kind k) {
    switch (k) {
    case Kind::read_write: return "writable";
    case Kind::read_only: return "read-only";
    case Kind::tmpfs: return "tmpfs on";
    case Kind::private_dev: return "a /dev of its own on";
    case Kind::inaccessible: return "inaccessible";
    }
    return "";
}

class Planner {
public:
    MountOp& add(Kind kind, std::string_view entry, const std::string& what) {
        bool optional = false;
        const std::string path = normalize(sandbox_path(entry, &optional));
        auto [it, fresh] = ops_.try_emplace(path);
        MountOp& op = it->second;
        if (fresh) {
            op.path = path;
            op.kind = kind;
            op.optional = optional;
            op.message = what;
            return op;
        }
        op.optional = op.optional && optional;
        // A read-only request on a tmpfs or /dev makes that read-only; otherwise the stronger wins.
        if (kind == Kind::read_only && (op.kind == Kind::tmpfs || op.kind == Kind::private_dev)) {
            op.then_read_only = true;
        } else if (kind > op.kind) {
            const bool ro = op.then_read_only || op.kind == Kind::read_only;
            op.kind = kind;
            op.message = what;
            op.then_read_only = ro && (kind == Kind::tmpfs || kind == Kind::private_dev);
        }
        return op;
    }
    void tmpfs(std::string_view entry, const char* options, unsigned long flags, bool read_only, const std::string& what) {
        MountOp& op = add(Kind::tmpfs, entry, what);
        if (op.kind != Kind::tmpfs) return;
        op.fs_options = options;
        op.fs_flags = flags;
        op.then_read_only = op.then_read_only || read_only;
    }
    // In path order (a parent sorts before what lies below it); nothing below an inaccessible path.
    std::vector<MountOp> finish() {
        std::vector<MountOp> out;
        for (auto& entry : ops_) {
            const std::string& path = entry.first;  // not a binding: clang 14 can't capture one
            MountOp& op = entry.second;
            const bool hidden = std::any_of(out.begin(), out.end(), [&](const MountOp& o) {
                return o.kind == Kind::inaccessible && below(path, o.path);
            });
            if (hidden) continue;
            op.message += std::string(": ") + verb(op.kind) + " " + op.path;
            out.push_back(std::move(op));
        }
        return out;
    }

private:
    std::map<std::string, MountOp> ops_;
};

void plan_protect_system(Planner& p, ProtectSystem level) {
    const std::string what = std::string("ProtectSystem=") + to_string(level);
    if (level == ProtectSystem::strict) {
        p.add(Kind::read_only, "/", what);
        // The API file systems and the homes stay as they are (ProtectHome= decides those).
        for (const char* rw : {"/proc", "/sys", "/dev", "-/home", "-/root", "-/run/user"}) p.add(Kind::read_write, rw, what);
        return;
    }
    if (level == ProtectSystem::no) return;
    std::vector<const char*> dirs = {"/usr", "-/boot", "-/efi"};
    // Hosts without merged /usr keep programs and libraries outside /usr too.
    for (const char* top : {"/bin", "/sbin", "/lib", "/lib64"}) {
        struct stat st {};
        if (::lstat(top, &st) == 0 && S_ISDIR(st.st_mode)) dirs.push_back(top);
    }
    if (level == ProtectSystem::full) dirs.push_back("/etc");
    for (const char* d : dirs) p.add(Kind::read_only, d, what);
}

void plan_protect_home(Planner& p, ProtectHome level) {
    const std::string what = std::string("ProtectHome=") + to_string(level);
    for (const char* dir : {"-/home", "-/root", "-/run/user"}) {
        switch (level) {
        case ProtectHome::no: return;
        case ProtectHome::yes: p.add(Kind::inaccessible, dir, what); break;
        case ProtectHome::read_only: p.add(Kind::read_only, dir, what); break;
        case ProtectHome::tmpfs:
            // systemd's: empty, read-only, small (src/core/namespace.c protect_home_tmpfs_table).
            p.tmpfs(dir, std::strcmp(dir, "-/root") == 0 ? "mode=0700,size=4m,nr_inodes=1k" : "mode=0755,size=4m,nr_inodes=1k",
                    MS_NODEV | MS_STRICTATIME, /* read_only= */ true, what);
            break;
        }
    }
}

void plan_private_dev(NamespacePlan& plan) {
    const std::string& stage = plan.paths.dev_staging;
    for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
        plan.dev_nodes.push_back(stage + "/" + node);
        plan.dev_node_sources.push_back(std::string("/dev/") + node);
    }
    for (const char* dir : {"pts", "shm", "mqueue"}) {
        plan.dev_dirs.push_back(stage + "/" + dir);
        plan.dev_dir_sources.push_back(std::string("/dev/") + dir);
    }
    for (auto [target, link] : {std::pair{"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
                                {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}})
        plan.dev_links.emplace_back(target, stage + "/" + link);
}

}  // namespace

NamespacePaths namespace_paths(const std::string& runtime_dir) {
    return {runtime_dir + "/inaccessible/dir", runtime_dir + "/inaccessible/file", runtime_dir + "/private-dev"};
}

void prepare_namespace_paths(const NamespacePaths& paths) {
    const std::string parent = paths.inaccessible_dir.substr(0, paths.inaccessible_dir.rfind('/'));
    auto check = [](int r, const std::string& what) {
        if (r < 0 && errno != EEXIST) fail(errors::failed, "cannot create {}: {}", what, errno_text(errno));
    };
    check(::mkdir(parent.c_str(), 0755), parent);
    check(::mkdir(paths.inaccessible_dir.c_str(), 0), paths.inaccessible_dir);
    const int fd = ::open(paths.inaccessible_file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0);
    check(fd, paths.inaccessible_file);
    if (fd >= 0) ::close(fd);
    check(::mkdir(paths.dev_staging.c_str(), 0700), paths.dev_staging);
    // Whatever an older offshootd left: the nodes must be empty and unreadable.
    if (::chmod(paths.inaccessible_dir.c_str(), 0) < 0 || ::chmod(paths.inaccessible_file.c_str(), 0) < 0 ||
        ::truncate(paths.inaccessible_file.c_str(), 0) < 0)
        fail(errors::failed, "cannot prepare {}: {}", parent, errno_text(errno));
}

NamespacePlan plan_namespaces(const Sandbox& s, const NamespacePaths& paths) {
    NamespacePlan plan;
    plan.paths = paths;
    plan.network_namespace = s.private_network;
    plan.mount_namespace = s.needs_mount_namespace();
    if (plan.empty()) return plan;
    Planner p;
    plan_protect_system(p, s.protect_system);
    plan_protect_home(p, s.protect_home);
    if (s.private_tmp)
        for (const char* dir : {"/tmp", "/var/tmp"})
            p.tmpfs(dir, "mode=01777", MS_NOSUID | MS_NODEV, false, "PrivateTmp=yes");
    if (s.private_devices) {
        p.add(Kind::private_dev, "/dev", "PrivateDevices=yes");
        plan_private_dev(plan);
    }
    for (const auto& e : s.read_write_paths) p.add(Kind::read_write, e, "ReadWritePaths=" + std::string(sandbox_path(e)));
    for (const auto& e : s.read_only_paths) p.add(Kind::read_only, e, "ReadOnlyPaths=" + std::string(sandbox_path(e)));
    for (const auto& e : s.inaccessible_paths)
        p.add(Kind::inaccessible, e, "InaccessiblePaths=" + std::string(sandbox_path(e)));
    plan.ops = p.finish();
    plan.fds.assign(plan.ops.size(), -1);
    plan.unshare_message = plan.network_namespace
                               ? (plan.mount_namespace ? "unshare: a mount and a network namespace of its own"
                                                       : "unshare: a network namespace of its own (PrivateNetwork=yes)")
                               : "unshare: a mount namespace of its own";
    return plan;
}

// ---- the spawn child: system calls only, no allocation -------------------------------------
namespace {

constexpr unsigned move_flags = MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS;

NamespaceFailure failed(const char* message) { return {message, errno ? errno : EIO}; }

// PrivateNetwork=: a new network namespace has only "lo", and it is down. Up, it gets
// 127.0.0.1/8 and ::1 from the kernel.
bool loopback_up() {
    const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return false;
    struct ifreq ifr {};
    std::memcpy(ifr.ifr_name, "lo", 3);
    bool ok = ::ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    ok = ok && ::ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
    const int saved = errno;
    ::close(s);
    errno = saved;
    return ok;
}

int set_attributes(int fd, const char* path, unsigned flags, uint64_t attrs) {
    struct mount_attr attr {};
    attr.attr_set = attrs;
    return ::mount_setattr(fd, path, flags, &attr, sizeof attr);
}

// Step 3: detached copies of what must keep its current flags.
NamespaceFailure capture(NamespacePlan& plan) {
    for (size_t i = 0; i < plan.ops.size(); ++i) {
        const MountOp& op = plan.ops[i];
        if (op.kind == Kind::read_write) {
            plan.fds[i] = ::open_tree(AT_FDCWD, op.path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
            if (plan.fds[i] < 0 && !(op.optional && errno == ENOENT)) return failed(op.message.c_str());
        } else if (op.kind == Kind::inaccessible) {
            struct stat st {};
            if (::stat(op.path.c_str(), &st) < 0) {
                if (op.optional && errno == ENOENT) continue;
                return failed(op.message.c_str());
            }
            const std::string& node = S_ISDIR(st.st_mode) ? plan.paths.inaccessible_dir : plan.paths.inaccessible_file;
            plan.fds[i] = ::open_tree(AT_FDCWD, node.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
            if (plan.fds[i] < 0 ||
                set_attributes(plan.fds[i], "", AT_EMPTY_PATH,
                               MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) < 0)
                return failed(op.message.c_str());
        }
    }
    return {};
}

// A read-only copy of what is at `path` now, put on top of it ("/" is flipped in place: a
// mount on top of the root would not be seen from it).
bool make_read_only(const char* path) {
    if (std::strcmp(path, "/") == 0) return set_attributes(AT_FDCWD, "/", AT_RECURSIVE, MOUNT_ATTR_RDONLY) == 0;
    const int fd = ::open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (fd < 0) return false;
    const bool ok = set_attributes(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, MOUNT_ATTR_RDONLY) == 0 &&
                    ::move_mount(fd, "", AT_FDCWD, path, move_flags) == 0;
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return ok;
}

// PrivateDevices=: a small tmpfs with the host's basic nodes bound in, moved over /dev.
bool private_dev(const NamespacePlan& plan) {
    const char* stage = plan.paths.dev_staging.c_str();
    if (::mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NOEXEC | MS_STRICTATIME, "mode=0755,size=4m,nr_inodes=64k") < 0)
        return false;
    for (size_t i = 0; i < plan.dev_nodes.size(); ++i) {
        const int fd = ::open(plan.dev_nodes[i].c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) return false;
        ::close(fd);
        if (::mount(plan.dev_node_sources[i].c_str(), plan.dev_nodes[i].c_str(), nullptr, MS_BIND, nullptr) < 0) return false;
    }
    for (size_t i = 0; i < plan.dev_dirs.size(); ++i) {
        struct stat st {};
        if (::stat(plan.dev_dir_sources[i].c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) continue;  // e.g. no mqueue
        if (::mkdir(plan.dev_dirs[i].c_str(), 0755) < 0 ||
            ::mount(plan.dev_dir_sources[i].c_str(), plan.dev_dirs[i].c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
            return false;
    }
    for (const auto& [target, link] : plan.dev_links)
        if (::symlink(target.c_str(), link.c_str()) < 0) return false;
    // Non-recursive: /dev/shm and /dev/pts stay writable, as under systemd.
    return ::mount(stage, "/dev", nullptr, MS_MOVE, nullptr) == 0 &&
           set_attributes(AT_FDCWD, "/dev", 0, MOUNT_ATTR_RDONLY) == 0;
}

bool apply_one(NamespacePlan& plan, size_t i) {
    const MountOp& op = plan.ops[i];
    const char* path = op.path.c_str();
    switch (op.kind) {
    case Kind::read_only: return make_read_only(path);
    case Kind::read_write:
    case Kind::inaccessible: return plan.fds[i] < 0 || ::move_mount(plan.fds[i], "", AT_FDCWD, path, move_flags) == 0;
    case Kind::tmpfs:
        return ::mount("tmpfs", path, "tmpfs", op.fs_flags, op.fs_options.c_str()) == 0 &&
               (!op.then_read_only || set_attributes(AT_FDCWD, path, 0, MOUNT_ATTR_RDONLY) == 0);
    case Kind::private_dev: return private_dev(plan);
    }
    return false;
}

}  // namespace

NamespaceFailure apply_namespaces(NamespacePlan& plan) noexcept {
    if (plan.empty()) return {};
    const int flags = (plan.mount_namespace ? CLONE_NEWNS : 0) | (plan.network_namespace ? CLONE_NEWNET : 0);
    if (::unshare(flags) < 0) return failed(plan.unshare_message.c_str());
    if (plan.network_namespace && !loopback_up()) return failed("PrivateNetwork=yes: bringing up lo");
    if (!plan.mount_namespace) return {};
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0)
        return failed("mount propagation of / (MS_SLAVE|MS_REC)");
    if (NamespaceFailure f = capture(plan); f.err) return f;
    for (size_t i = 0; i < plan.ops.size(); ++i) {
        const MountOp& op = plan.ops[i];
        errno = 0;
        if (!apply_one(plan, i) && !(op.optional && errno == ENOENT)) return failed(op.message.c_str());
        if (plan.fds[i] >= 0) ::close(plan.fds[i]);
        plan.fds[i] = -1;
    }
    return {};
}

}  // namespace offshoot

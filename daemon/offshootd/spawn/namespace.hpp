// namespace.hpp — an instance's private view of the system (PrivateTmp=, ProtectSystem=, …,
// PrivateNetwork=; config/containment.hpp), made by the spawn child in namespaces of its own.
//
// plan_namespaces() turns the sandbox settings into a list of mount operations before fork
// (it allocates; every string the child needs is made here). apply_namespaces() runs them in
// the child while it is still root, before the capability and uid switch — it only makes
// system calls, so it is safe between fork and exec. The order, as in systemd's exec path
// (src/core/namespace.c setup_namespace):
//   1. unshare(CLONE_NEWNS [| CLONE_NEWNET]); with a network namespace, bring "lo" up
//   2. mount propagation MS_SLAVE|MS_REC on "/": mounts from the host still arrive, nothing
//      made here leaks back to offshootd's namespace or to other instances
//   3. capture, as detached copies (open_tree), what must keep its current flags: the paths
//      that stay writable and the 0000 nodes bound over inaccessible paths
//   4. the operations in path order, parents first, so each one sees the view its parent
//      made: read-only (mount_setattr on a copy, which changes only that attribute — never
//      MS_REMOUNT, which drops nosuid/nodev/noexec and, without MS_BIND, would change the file
//      system for the whole host), writable (the copy from 3 on top), inaccessible (a node on
//      top), tmpfs, a /dev of its own
// The working directory is entered afterwards, inside the new view (spawn.cpp, step "chdir").
#pragma once

#include "config/containment.hpp"

#include <string>
#include <vector>

namespace offshoot {

struct MountOp {
    // For one path, a later kind beats an earlier one: a caller's read-only path tightens a
    // class's read-write one, an inaccessible path beats everything.
    enum class Kind { read_write, read_only, tmpfs, private_dev, inaccessible } kind = Kind::read_only;
    std::string path;
    bool optional = false;       // "-": a path that does not exist is passed over
    bool then_read_only = false; // tmpfs and /dev: made read-only once mounted
    std::string fs_options;      // tmpfs
    unsigned long fs_flags = 0;  // tmpfs
    std::string message;         // "ProtectSystem=strict: read-only /", for a failure
};

// The directories offshootd prepares for the child in its runtime directory.
struct NamespacePaths {
    std::string inaccessible_dir;   // mode 0000, bound over inaccessible directories
    std::string inaccessible_file;  // mode 0000, bound over anything else
    std::string dev_staging;        // an empty directory where a private /dev is put together
};
NamespacePaths namespace_paths(const std::string& runtime_dir);
// Creates them (offshootd's start-up).
void prepare_namespace_paths(const NamespacePaths& paths);

struct NamespacePlan {
    bool mount_namespace = false;
    bool network_namespace = false;
    std::vector<MountOp> ops;  // one per path, parents first
    NamespacePaths paths;
    // What the child fills in: one descriptor per operation (the copies of step 3).
    std::vector<int> fds;
    // A private /dev: nodes bound from the host's, directories, symbolic links.
    std::vector<std::string> dev_nodes, dev_node_sources, dev_dirs, dev_dir_sources;
    std::vector<std::pair<std::string, std::string>> dev_links;  // (target, link)
    std::string unshare_message;
    bool empty() const { return !mount_namespace && !network_namespace; }
};

NamespacePlan plan_namespaces(const Sandbox& sandbox, const NamespacePaths& paths);

struct NamespaceFailure {
    const char* message = nullptr;  // what failed (a string of the plan)
    int err = 0;
};
// In the spawn child. Returns a failure with err == 0 when everything was done.
NamespaceFailure apply_namespaces(NamespacePlan& plan) noexcept;

}  // namespace offshoot

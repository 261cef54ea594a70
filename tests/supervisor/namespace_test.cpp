// namespace_test.cpp — the sandbox settings turned into the spawn child's mount operations
// (spawn/namespace.cpp, plan_namespaces): which paths, in which order, merged as systemd
// merges them. What the kernel then does with them is checked for real in the integration
// tests (tests/integration/containment_test.cpp).
#include "spawn/namespace.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace offshoot {
namespace {

using Kind = MountOp::Kind;

const NamespacePaths paths{"/run/o/inaccessible/dir", "/run/o/inaccessible/file", "/run/o/private-dev"};

const MountOp* find(const NamespacePlan& p, const std::string& path) {
    for (const auto& op : p.ops)
        if (op.path == path) return &op;
    return nullptr;
}

TEST(ANamespacePlan, IsEmptyWithoutASandbox) {
    const NamespacePlan p = plan_namespaces(Sandbox{}, paths);
    EXPECT_TRUE(p.empty());
    EXPECT_TRUE(p.ops.empty());
}

TEST(ANamespacePlan, MakesOnlyANetworkNamespaceForPrivateNetworkAlone) {
    Sandbox s;
    s.private_network = true;
    const NamespacePlan p = plan_namespaces(s, paths);
    EXPECT_TRUE(p.network_namespace);
    EXPECT_FALSE(p.mount_namespace);
    EXPECT_TRUE(p.ops.empty());
}

TEST(ANamespacePlan, KeepsTheApiFileSystemsAndHomesWritableUnderProtectSystemStrict) {
    Sandbox s;
    s.protect_system = ProtectSystem::strict;
    const NamespacePlan p = plan_namespaces(s, paths);
    ASSERT_TRUE(p.mount_namespace);
    ASSERT_FALSE(p.ops.empty());
    EXPECT_EQ(p.ops.front().path, "/") << "the root comes first";
    EXPECT_EQ(p.ops.front().kind, Kind::read_only);
    for (const char* rw : {"/proc", "/sys", "/dev", "/home", "/root", "/run/user"}) {
        const MountOp* op = find(p, rw);
        ASSERT_NE(op, nullptr) << rw;
        EXPECT_EQ(op->kind, Kind::read_write) << rw;
    }
    EXPECT_FALSE(find(p, "/proc")->optional);
    EXPECT_TRUE(find(p, "/home")->optional) << "a host without /home is fine";
    EXPECT_EQ(find(p, "/")->message, "ProtectSystem=strict: read-only /");
    EXPECT_EQ(find(p, "/tmp"), nullptr) << "strict leaves /tmp read-only unless PrivateTmp= or ReadWritePaths= says otherwise";
}

TEST(ANamespacePlan, PutsEachPathAfterItsParentsAndTheStrongerSettingFirst) {
    Sandbox s;
    s.protect_system = ProtectSystem::full;
    s.protect_home = ProtectHome::yes;
    s.private_tmp = true;
    s.read_write_paths = {"/etc/app", "/home/alice/data"};
    s.read_only_paths = {"/etc/app/conf", "/tmp", "//srv/./x/"};
    s.inaccessible_paths = {"-/etc/app/secret"};
    const NamespacePlan p = plan_namespaces(s, paths);
    std::vector<std::string> order;
    for (const auto& op : p.ops) order.push_back(op.path);
    for (size_t i = 0; i < order.size(); ++i)
        for (size_t j = i + 1; j < order.size(); ++j)
            EXPECT_FALSE(order[j].size() < order[i].size() && order[i].compare(0, order[j].size() + 1, order[j] + "/") == 0)
                << order[j] << " (a parent) comes after " << order[i];
    EXPECT_EQ(find(p, "/etc")->kind, Kind::read_only);
    EXPECT_EQ(find(p, "/etc/app")->kind, Kind::read_write);
    EXPECT_EQ(find(p, "/etc/app/conf")->kind, Kind::read_only);
    EXPECT_EQ(find(p, "/etc/app/secret")->kind, Kind::inaccessible);
    EXPECT_TRUE(find(p, "/etc/app/secret")->optional);
    EXPECT_EQ(find(p, "/home")->kind, Kind::inaccessible);
    EXPECT_EQ(find(p, "/home/alice/data"), nullptr) << "nothing below an inaccessible path";
    ASSERT_NE(find(p, "/tmp"), nullptr);
    EXPECT_EQ(find(p, "/tmp")->kind, Kind::tmpfs) << "PrivateTmp's tmpfs";
    EXPECT_TRUE(find(p, "/tmp")->then_read_only) << "… made read-only, as ReadOnlyPaths=/tmp asks";
    EXPECT_FALSE(find(p, "/var/tmp")->then_read_only);
    EXPECT_NE(find(p, "/srv/x"), nullptr) << "paths are compared normalized";
    EXPECT_EQ(find(p, "/usr")->kind, Kind::read_only);
}

TEST(ANamespacePlan, GivesProtectHomeTmpfsSystemdsSmallReadOnlyTmpfs) {
    Sandbox s;
    s.protect_home = ProtectHome::tmpfs;
    const NamespacePlan p = plan_namespaces(s, paths);
    const MountOp* root = find(p, "/root");
    ASSERT_NE(root, nullptr);
    EXPECT_EQ(root->kind, Kind::tmpfs);
    EXPECT_TRUE(root->then_read_only);
    EXPECT_EQ(root->fs_options, "mode=0700,size=4m,nr_inodes=1k");
    EXPECT_EQ(find(p, "/home")->fs_options, "mode=0755,size=4m,nr_inodes=1k");
}

TEST(ANamespacePlan, PreparesAPrivateDevFromTheHostsBasicNodes) {
    Sandbox s;
    s.private_devices = true;
    const NamespacePlan p = plan_namespaces(s, paths);
    ASSERT_NE(find(p, "/dev"), nullptr);
    EXPECT_EQ(find(p, "/dev")->kind, Kind::private_dev);
    EXPECT_EQ(p.dev_nodes.size(), p.dev_node_sources.size());
    EXPECT_NE(std::find(p.dev_nodes.begin(), p.dev_nodes.end(), "/run/o/private-dev/null"), p.dev_nodes.end());
    EXPECT_NE(std::find(p.dev_node_sources.begin(), p.dev_node_sources.end(), "/dev/urandom"), p.dev_node_sources.end());
    EXPECT_EQ(p.fds.size(), p.ops.size());
}

}  // namespace
}  // namespace offshoot

// containment_test.cpp — the [Exec] resource and sandbox keys as systemd parses them
// (config/containment.cpp), and a caller's request applied to them: tighten, never loosen
// (policy/tighten.cpp, through resolve()). No bus, no process.
#include "config/class_config.hpp"
#include "offshoot/common/errors.hpp"
#include "policy/resolve.hpp"
#include "policy/tighten.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace offshoot {
namespace {

Containment parse_exec(const std::string& exec, std::string* error = nullptr) {
    std::string err;
    auto c = parse_class_config("[Class]\nName=X\nPlugin=x.so\nInterface=a.b\n[Exec]\n" + exec, "t.conf", "/p", err);
    if (error) *error = err;
    else EXPECT_TRUE(c) << err;
    return c ? c->containment : Containment{};
}

std::string parse_error(const std::string& exec) {
    std::string err;
    parse_exec(exec, &err);
    return err;
}

TEST(ContainmentKeys, ParseSizesAsSystemdDoes) {
    EXPECT_EQ(parse_size("64M"), uint64_t{64} << 20);
    EXPECT_EQ(parse_size("1.5G"), uint64_t{3} << 29);
    EXPECT_EQ(parse_size("1G512M"), (uint64_t{1} << 30) + (uint64_t{512} << 20));
    EXPECT_EQ(parse_size("1 K"), 1024u);
    EXPECT_EQ(parse_size("100"), 100u);
    EXPECT_EQ(parse_size("100B"), 100u);
    EXPECT_FALSE(parse_size("64m")) << "suffixes are upper case, as in systemd";
    EXPECT_FALSE(parse_size("-1"));
    EXPECT_FALSE(parse_size("512M1G")) << "components must come in descending order";
    EXPECT_FALSE(parse_size("20E"));
    EXPECT_FALSE(parse_size(""));
    EXPECT_EQ(parse_permyriad("20%", false), 2000u);
    EXPECT_EQ(parse_permyriad("20.5%", false), 2050u);
    EXPECT_EQ(parse_permyriad("5‰", false), 50u);
    EXPECT_EQ(parse_permyriad("7‱", false), 7u);
    EXPECT_EQ(parse_permyriad("150%", true), 15000u);
    EXPECT_FALSE(parse_permyriad("150%", false));
    EXPECT_FALSE(parse_permyriad("20.555%", true));
}

TEST(ContainmentKeys, ReadEveryResourceKeyInTheUnitsOfSystemdsProperties) {
    const Containment c = parse_exec(
        "MemoryMax=64M\nMemoryHigh=48M\nMemorySwapMax=0\nTasksMax=16\nCPUQuota=20%\nCPUWeight=50\nIOWeight=200\n");
    EXPECT_EQ(c.resources[Resource::memory_max], uint64_t{64} << 20);
    EXPECT_EQ(c.resources[Resource::memory_high], uint64_t{48} << 20);
    EXPECT_EQ(c.resources[Resource::memory_swap_max], 0u);
    EXPECT_EQ(c.resources[Resource::tasks_max], 16u);
    EXPECT_EQ(c.resources[Resource::cpu_quota], 200000u) << "CPUQuotaPerSecUSec: µs of CPU per second";
    EXPECT_EQ(c.resources[Resource::cpu_weight], 50u);
    EXPECT_EQ(c.resources[Resource::io_weight], 200u);
    EXPECT_EQ(parse_exec("CPUWeight=idle\n").resources[Resource::cpu_weight], 0u);
    EXPECT_EQ(parse_exec("CPUQuota=150%\n").resources[Resource::cpu_quota], 1500000u);
    EXPECT_FALSE(parse_exec("MemoryMax=infinity\n").resources.any());
    EXPECT_FALSE(parse_exec("MemoryMax=64M\nMemoryMax=\n").resources.any()) << "an empty value resets";
}

TEST(ContainmentKeys, ResolvePercentagesAgainstTheHostAsSystemdDoes) {
    const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    const uint64_t quarter = parse_exec("MemoryMax=25%\n").resources[Resource::memory_max];
    EXPECT_EQ(quarter, physical_memory() / 4 / page * page);
    EXPECT_GT(quarter, 0u);
    EXPECT_EQ(parse_exec("TasksMax=10%\n").resources[Resource::tasks_max], system_tasks_max() / 10);
}

TEST(ContainmentKeys, RefuseWhatSystemdRefusesNamingTheKey) {
    EXPECT_NE(parse_error("MemoryMax=0\n").find("MemoryMax= must be at least 1 byte"), std::string::npos);
    EXPECT_NE(parse_error("MemoryMax=lots\n").find("MemoryMax= must be a size"), std::string::npos);
    EXPECT_NE(parse_error("MemoryHigh=101%\n").find("MemoryHigh="), std::string::npos);
    EXPECT_NE(parse_error("TasksMax=0\n").find("TasksMax="), std::string::npos);
    EXPECT_NE(parse_error("CPUQuota=0%\n").find("CPUQuota="), std::string::npos);
    EXPECT_NE(parse_error("CPUQuota=20\n").find("CPUQuota="), std::string::npos);
    EXPECT_NE(parse_error("CPUWeight=0\n").find("CPUWeight= must be a weight from 1 to 10000, or idle"), std::string::npos);
    EXPECT_NE(parse_error("IOWeight=idle\n").find("IOWeight="), std::string::npos);
    EXPECT_NE(parse_error("PrivateTmp=perhaps\n").find("PrivateTmp= must be yes or no"), std::string::npos);
    EXPECT_NE(parse_error("ProtectSystem=very\n").find("ProtectSystem="), std::string::npos);
    EXPECT_NE(parse_error("ProtectHome=read-write\n").find("ProtectHome="), std::string::npos);
    EXPECT_NE(parse_error("ReadOnlyPaths=etc\n").find("absolute"), std::string::npos);
    EXPECT_NE(parse_error("InaccessiblePaths=/a/../b\n").find(".."), std::string::npos);
}

TEST(ContainmentKeys, ReadTheSandboxKeysWithSystemdsValues) {
    const Containment c = parse_exec(
        "PrivateTmp=yes\nPrivateDevices=true\nPrivateNetwork=1\nProtectSystem=strict\nProtectHome=tmpfs\n"
        "ReadWritePaths=/var/lib/x -/srv/maybe\nReadOnlyPaths=/srv\nInaccessiblePaths=/etc/secret\n"
        "InaccessiblePaths=/root/.ssh\n");
    const Sandbox& s = c.sandbox;
    EXPECT_TRUE(s.private_tmp);
    EXPECT_TRUE(s.private_devices);
    EXPECT_TRUE(s.private_network);
    EXPECT_EQ(s.protect_system, ProtectSystem::strict);
    EXPECT_EQ(s.protect_home, ProtectHome::tmpfs);
    EXPECT_EQ(s.read_write_paths, (std::vector<std::string>{"/var/lib/x", "-/srv/maybe"}));
    EXPECT_EQ(s.read_only_paths, (std::vector<std::string>{"/srv"}));
    EXPECT_EQ(s.inaccessible_paths, (std::vector<std::string>{"/etc/secret", "/root/.ssh"})) << "lists add up";
    EXPECT_EQ(parse_exec("ProtectSystem=yes\n").sandbox.protect_system, ProtectSystem::yes);
    EXPECT_EQ(parse_exec("ProtectSystem=full\nProtectSystem=\n").sandbox.protect_system, ProtectSystem::no);
    EXPECT_TRUE(parse_exec("ReadOnlyPaths=/srv\nReadOnlyPaths=\n").sandbox.read_only_paths.empty());
    EXPECT_FALSE(parse_exec("PrivateNetwork=yes\n").sandbox.needs_mount_namespace());
    EXPECT_TRUE(parse_exec("PrivateNetwork=yes\n").sandbox.any());
}

// ---- a caller's request on top of the class ------------------------------------------------

ClassConfig contained_class(const std::string& exec) {
    std::string err;
    auto c = parse_class_config("[Class]\nName=Contained\nPlugin=x.so\nInterface=a.b\n[Access]\nAllowedUsers=nobody\n"
                                "[Exec]\n" + exec,
                                "t.conf", "/p", err);
    EXPECT_TRUE(c) << err;
    return c.value_or(ClassConfig{});
}

InstanceSpec resolve_with(const ClassConfig& cls, const ContainmentRequest& c, const std::string& cwd = "/") {
    SpawnRequest req;
    req.class_name = cls.name;
    req.uid = 65534;
    req.cwd = cwd;
    req.containment = c;
    return resolve(req, Caller{0, ":1.1"}, cls, 0);
}

std::string denial(const ClassConfig& cls, const ContainmentRequest& c, const char* name = errors::access_denied,
                   const std::string& cwd = "/") {
    try {
        resolve_with(cls, c, cwd);
    } catch (const Error& e) {
        EXPECT_EQ(e.getName(), name) << e.getMessage();
        return e.getMessage();
    }
    ADD_FAILURE() << "the request was accepted";
    return "";
}

TEST(ACallersContainmentRequest, TightensWhatTheClassSetsAndSetsWhatItLeavesOpen) {
    const ClassConfig cls = contained_class("MemoryMax=64M\nTasksMax=16\nCPUWeight=50\nPrivateTmp=yes\nProtectSystem=full\n"
                                            "ReadOnlyPaths=/srv\n");
    ContainmentRequest c;
    c[Resource::memory_max] = uint64_t{32} << 20;
    c[Resource::cpu_quota] = 100000;
    c[Resource::cpu_weight] = 10;
    c.private_network = true;
    c.protect_system = ProtectSystem::strict;
    c.protect_home = ProtectHome::read_only;
    c.read_only_paths = {"/opt"};
    c.inaccessible_paths = {"/etc/secret"};
    const InstanceSpec s = resolve_with(cls, c);
    const ResourceControl& r = s.containment.resources;
    EXPECT_EQ(r[Resource::memory_max], uint64_t{32} << 20);
    EXPECT_EQ(r[Resource::tasks_max], 16u) << "what the caller did not ask for stays the class's";
    EXPECT_EQ(r[Resource::cpu_quota], 100000u);
    EXPECT_EQ(r[Resource::cpu_weight], 10u);
    EXPECT_FALSE(r.set(Resource::memory_high));
    const Sandbox& sb = s.containment.sandbox;
    EXPECT_TRUE(sb.private_tmp);
    EXPECT_TRUE(sb.private_network);
    EXPECT_EQ(sb.protect_system, ProtectSystem::strict);
    EXPECT_EQ(sb.protect_home, ProtectHome::read_only);
    EXPECT_EQ(sb.read_only_paths, (std::vector<std::string>{"/srv", "/opt"}));
    EXPECT_EQ(sb.inaccessible_paths, (std::vector<std::string>{"/etc/secret"}));
    EXPECT_EQ(s.cls.containment.resources[Resource::memory_max], uint64_t{64} << 20) << "the class itself is unchanged";
}

TEST(ACallersContainmentRequest, IsRefusedWhenItWouldLoosenNamingTheKeyAndBothValues) {
    const ClassConfig cls = contained_class("MemoryMax=64M\nTasksMax=16\nCPUQuota=20%\nIOWeight=50\nPrivateTmp=yes\n"
                                            "PrivateNetwork=yes\nProtectSystem=strict\nProtectHome=tmpfs\n");
    auto one = [](auto set) {
        ContainmentRequest c;
        set(c);
        return c;
    };
    EXPECT_EQ(denial(cls, one([](auto& c) { c[Resource::memory_max] = uint64_t{256} << 20; })),
              "memory-max 268435456 would loosen the class's MemoryMax=67108864: a caller may only tighten what its class sets");
    EXPECT_NE(denial(cls, one([](auto& c) { c[Resource::tasks_max] = UINT64_MAX; })).find("tasks-max infinity"),
              std::string::npos);
    EXPECT_NE(denial(cls, one([](auto& c) { c[Resource::cpu_quota] = 1000000; })).find("CPUQuota=200000"), std::string::npos);
    EXPECT_NE(denial(cls, one([](auto& c) { c[Resource::io_weight] = 100; })).find("io-weight 100"), std::string::npos);
    EXPECT_NE(denial(cls, one([](auto& c) { c.private_tmp = false; })).find("private-tmp false would remove the class's PrivateTmp=yes"),
              std::string::npos);
    EXPECT_NE(denial(cls, one([](auto& c) { c.private_network = false; })).find("PrivateNetwork=yes"), std::string::npos);
    EXPECT_NE(denial(cls, one([](auto& c) { c.protect_system = ProtectSystem::full; }))
                  .find("protect-system 'full' would loosen the class's ProtectSystem=strict"),
              std::string::npos);
    EXPECT_NE(denial(cls, one([](auto& c) { c.protect_home = ProtectHome::read_only; })).find("ProtectHome=tmpfs"),
              std::string::npos);
}

TEST(ACallersContainmentRequest, MayLowerAWeightTheClassLeavesAtItsDefaultButNotRaiseIt) {
    const ClassConfig cls = contained_class("");
    ContainmentRequest c;
    c[Resource::cpu_weight] = 10000;
    EXPECT_NE(denial(cls, c).find("cpu-weight 10000 would loosen the class's CPUWeight=100 (the default)"), std::string::npos);
    c[Resource::cpu_weight] = 20;
    EXPECT_EQ(resolve_with(cls, c).containment.resources[Resource::cpu_weight], 20u);
}

TEST(ACallersContainmentRequest, IsRefusedWhenTheSandboxWouldHideTheWorkingDirectory) {
    const ClassConfig tmp = contained_class("PrivateTmp=yes\n");
    EXPECT_NE(denial(tmp, {}, errors::invalid_argument, "/tmp/work")
                  .find("the working directory /tmp/work is hidden by PrivateTmp=yes"),
              std::string::npos);
    EXPECT_NO_THROW(resolve_with(tmp, {}, "/tmp")) << "/tmp itself is there: the private one";
    const ClassConfig home = contained_class("ProtectHome=yes\n");
    EXPECT_NE(denial(home, {}, errors::invalid_argument, "/home/alice").find("ProtectHome=yes (/home is inaccessible)"),
              std::string::npos);
    EXPECT_NE(denial(home, {}, errors::invalid_argument, "//root/").find("/root"), std::string::npos);
    ContainmentRequest hide;
    hide.inaccessible_paths = {"/srv"};
    EXPECT_NE(denial(contained_class(""), hide, errors::invalid_argument, "/srv/data/./x")
                  .find("hidden by InaccessiblePaths=/srv"),
              std::string::npos);
    EXPECT_NO_THROW(resolve_with(contained_class(""), hide, "/srv-other"));
}

TEST(PathWithin, ComparesComponentsNotCharacters) {
    EXPECT_TRUE(path_within("/srv/a", "/srv"));
    EXPECT_TRUE(path_within("/srv", "/srv/"));
    EXPECT_TRUE(path_within("//srv/./a/", "/srv"));
    EXPECT_FALSE(path_within("/srvx", "/srv"));
    EXPECT_TRUE(path_within("/anything", "/"));
    EXPECT_FALSE(path_within("/", "/srv"));
}

}  // namespace
}  // namespace offshoot

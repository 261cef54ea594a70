// containment_test.cpp — instances contained by this machine's real kernel, with offshootd
// embedded (no systemd: it makes the cgroups itself; here, on this VM, in the cgroup v1
// memory, pids and cpu hierarchies). The Contained class takes memory, forks, spins, lists
// the network interfaces and touches files; each test checks what the kernel did — the
// cgroup's own files, /proc, the errno a system call got — not what offshootd says.
// (Under a real systemd, with scopes: tests/systemd/service-test.sh.)
#include <net/if.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "daemon_test.hpp"
#include "lifecycle_support.hpp"
#include "offshoot/test/paths.hpp"

namespace offshoot::test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kContained = "org.offshoot1.example.Contained";
constexpr const char* kAccessDenied = errors::access_denied;
constexpr uint64_t MiB = 1 << 20;

std::string class_file(const std::string& name, const std::string& users, const std::string& exec) {
    return "[Class]\nName=" + name + "\nPlugin=contained.so\nInterface=org.offshoot1.example.Contained\n"
           "[Access]\nAllowedUsers=" + users + "\nAllowedCallers=root\n[Exec]\nWorkingDirectory=/\n" + exec;
}

// A cgroup file of process `pid` for `controller`, wherever its hierarchy is (v1: its own
// mount; v2: the unified one), read from /proc/PID/cgroup.
std::string cgroup_file(pid_t pid, const std::string& controller, const std::string& file) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
    std::string line, v2;
    while (std::getline(in, line)) {
        const auto a = line.find(':'), b = line.find(':', a + 1);
        const std::string list = "," + line.substr(a + 1, b - a - 1) + ",", path = line.substr(b + 1);
        if (list.find("," + controller + ",") != std::string::npos) return "/sys/fs/cgroup/" + controller + path + "/" + file;
        if (list == ",,") v2 = path;
    }
    return "/sys/fs/cgroup" + v2 + "/" + file;
}

std::string first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

// The Contained object at an instance's address.
class ContainedClient {
public:
    explicit ContainedClient(const std::string& address) : bus_(address, std::chrono::seconds(20)) {}
    Reply call(const char* member, const BusClient::Append& append = {}) {
        return bus_.call(kObjectName, kObjectPath, kContained, member, append);
    }
    int32_t write_file(const std::string& path, const std::string& content) {
        Reply r = call("WriteFile", [&](sd_bus_message* m) { return sd_bus_message_append(m, "ss", path.c_str(), content.c_str()); });
        return read_errno(r, "WriteFile");
    }
    std::pair<int32_t, std::string> read_file(const std::string& path) {
        Reply r = call("ReadFile", [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", path.c_str()); });
        const char* content = nullptr;
        const int32_t e = read_errno(r, "ReadFile");
        if (sd_bus_message_read(r.get(), "s", &content) < 0) throw std::runtime_error("ReadFile: bad reply");
        return {e, content};
    }
    int32_t list(const std::string& path, std::vector<std::string>* names = nullptr) {
        Reply r = call("ListDirectory", [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", path.c_str()); });
        const int32_t e = read_errno(r, "ListDirectory");
        std::vector<std::string> out;
        if (sd_bus_message_enter_container(r.get(), 'a', "s") < 0) throw std::runtime_error("ListDirectory: bad reply");
        for (const char* s = nullptr; sd_bus_message_read(r.get(), "s", &s) > 0;) out.emplace_back(s);
        if (names) *names = out;
        return e;
    }
    std::vector<std::string> interfaces() {
        Reply r = call("Interfaces");
        if (!r.ok()) throw std::runtime_error(r.describe());
        std::vector<std::string> out;
        if (sd_bus_message_enter_container(r.get(), 'a', "s") < 0) throw std::runtime_error("Interfaces: bad reply");
        for (const char* s = nullptr; sd_bus_message_read(r.get(), "s", &s) > 0;) out.emplace_back(s);
        return out;
    }

private:
    static int32_t read_errno(Reply& r, const char* what) {
        if (!r.ok()) throw std::runtime_error(std::string(what) + ": " + r.describe());
        int32_t e = -1;
        if (sd_bus_message_read(r.get(), "i", &e) < 0) throw std::runtime_error(std::string(what) + ": bad reply");
        return e;
    }
    BusClient bus_;
};

class WithContainedClasses : public DaemonTest {
protected:
    TestDaemonOptions daemon_options() override {
        conf_.emplace("offshoot-conf", 0755);
        data_.emplace("offshoot-contained", 0755);
        for (const char* d : {"ro", "rw", "secret"}) make_dir(*data_ / d, 0777);
        std::ofstream(*data_ / "secret/key") << "k";
        const std::string paths = "ProtectSystem=strict\nReadOnlyPaths=" + (*data_ / "ro").string() +
                                  "\nReadWritePaths=" + (*data_ / "rw").string() + "\nInaccessiblePaths=" +
                                  (*data_ / "secret").string() + "\n";
        const std::vector<std::pair<std::string, std::string>> files = {
            {"open.conf", class_file("Open", "nobody root", "")},
            {"root-strict.conf", class_file("RootStrict", "root", "ProtectSystem=strict\nPrivateTmp=yes\n")},
            {"home-ro.conf", class_file("HomeReadOnly", "root", "ProtectHome=read-only\n")},
            {"home-tmpfs.conf", class_file("HomeTmpfs", "root", "ProtectHome=tmpfs\n")},
            {"paths.conf", class_file("Paths", "nobody", paths)},
            {"devices.conf", class_file("Devices", "nobody", "PrivateDevices=yes\n")},
            {"missing.conf", class_file("Missing", "nobody", "ReadOnlyPaths=/nonexistent-offshoot\n")},
        };
        for (const auto& [name, text] : files) std::ofstream(*conf_ / name) << text;
        TestDaemonOptions o;
        o.config_dir = conf_->path();
        return o;
    }
    SpawnReply spawn_ok(const std::string& cls, uint32_t uid = kNobody, SpawnOptions extra = {}) {
        extra.emplace_back("uid", uid);
        SpawnReply r = spawn_with_options(bus(), cls, extra);
        EXPECT_TRUE(r.ok()) << cls << ": " << r.describe();
        return r;
    }
    pid_t pid_of(const SpawnReply& r) { return static_cast<pid_t>(instance_main_pid(bus(), r.path)); }
    uint64_t property(const SpawnReply& r, const char* name) {
        return bus().get_u64_property(kBusName, r.path.c_str(), kInstanceInterface, name);
    }
    std::optional<TempDir> conf_, data_;
};

// ---- resources ------------------------------------------------------------------------------

// offshootds whose cgroups share a parent, each in a pid namespace of its own with its own /proc
// (as in containers): both are pid 1 there. Named by pid alone, both took the same cgroup
// (offshootd-1) and their instances the same cgroups below it — one's release could remove the
// other's before its worker joined (SpawnFailed "cgroup: … No such device", seen in CI).
class AnOffshootdInAPidNamespace {
public:
    AnOffshootdInAPidNamespace() : dir_("offshoot-pidns", 0755) {
        SubprocessOptions o;
        o.argv = {"unshare", "--pid", "--fork", "--mount-proc", offshootd_path().string(),
                  "--address=" + bus_.address(), "--runtime-dir=" + (dir_ / "run").string()};
        o.stdout_file = dir_ / "log";
        o.stderr_file = dir_ / "log";
        process_.emplace(o);
        client_.emplace(bus_.address());
        bool owned = false;
        client_->match_signal("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                              "NameOwnerChanged", [&](sd_bus_message* m) {
                                  const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
                                  if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) >= 0 &&
                                      std::string_view(name) == kBusName && *new_owner)
                                      owned = true;
                              });
        Reply has = client_->call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                  "NameHasOwner", [](sd_bus_message* m) { return sd_bus_message_append(m, "s", kBusName); });
        int yes = 0;
        if (has.ok() && sd_bus_message_read(has.get(), "b", &yes) >= 0 && yes) owned = true;
        if (!client_->process_until([&] { return owned; }, Deadline(10s)))
            throw std::runtime_error("offshootd in a pid namespace did not start");
    }
    ~AnOffshootdInAPidNamespace() {
        // SIGTERM to offshootd itself (unshare's child); unshare exits with its status.
        std::ifstream children("/proc/" + std::to_string(process_->pid()) + "/task/" +
                               std::to_string(process_->pid()) + "/children");
        pid_t child = 0;
        if (children >> child) ::kill(child, SIGTERM);
        if (!process_->wait(Deadline(10s))) process_->kill(SIGKILL);
    }
    BusClient& bus() { return *client_; }

private:
    TestBus bus_;
    TempDir dir_;
    std::optional<Subprocess> process_;
    std::optional<BusClient> client_;
};

// ---- credentials -----------------------------------------------------------------------------

// A worker asked to run as root (a class that names root in AllowedUsers=) keeps uid 0 but no
// capability and an empty bounding set: the bounding set is emptied while the child still holds
// CAP_SETPCAP, before the id steps, and the last capability step clears the rest without asking
// libcap-ng for the bounding set again (which, without CAP_SETPCAP, it answers with an error in
// the system log: tests/systemd/service-test.sh checks the journal for it).
TEST_F(WithContainedClasses, RunsARootWorkerWithNoCapabilitiesAndAnEmptyBoundingSet) {
    const SpawnReply r = spawn_ok("Open", 0);
    ASSERT_TRUE(r.ok());
    auto fields = read_status_fields(pid_of(r));
    ASSERT_TRUE(fields);
    EXPECT_THAT((*fields)["Uid"], StartsWith("0\t0\t0\t0"));
    for (const char* cap : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
        EXPECT_EQ((*fields)[cap], "0000000000000000") << cap;
    EXPECT_EQ((*fields)["NoNewPrivs"], "1");
}

TEST_F(WithContainedClasses, KeepsTheCgroupsOfOffshootdsInTwoPidNamespacesApart) {
    AnOffshootdInAPidNamespace a, b;
    SpawnReply ra = spawn(a.bus(), "Contained", kNobody), rb = spawn(b.bus(), "Contained", kNobody);
    ASSERT_TRUE(ra.ok()) << ra.describe();
    ASSERT_TRUE(rb.ok()) << rb.describe();
    const std::string ca = a.bus().get_string_property(kBusName, ra.path.c_str(), kInstanceInterface, "ControlGroup");
    const std::string cb = b.bus().get_string_property(kBusName, rb.path.c_str(), kInstanceInterface, "ControlGroup");
    EXPECT_FALSE(ca.empty());
    EXPECT_NE(ca, cb) << "two offshootds share an instance's cgroup";
    // One releases its instance; the other's still runs, in its cgroup. (Its worker's peer
    // check refuses a caller in another pid namespace, so the handle says so, not a call.)
    ASSERT_TRUE(release_instance(a.bus(), ra.path).ok());
    EXPECT_EQ(instance_state(b.bus(), rb.path), "running");
    EXPECT_GE(b.bus().get_u64_property(kBusName, rb.path.c_str(), kInstanceInterface, "TasksCurrent"), 1u);
}

TEST_F(WithContainedClasses, RunsEachInstanceInACgroupOfItsOwnUnderTheClassesLimits) {
    SpawnReply a = spawn_ok("Contained"), b = spawn_ok("Contained");
    ASSERT_TRUE(a.ok() && b.ok());
    const pid_t pa = pid_of(a), pb = pid_of(b);
    // The kernel's own files, in the cgroups the workers are in.
    EXPECT_EQ(first_line(cgroup_file(pa, "memory", "memory.limit_in_bytes")), std::to_string(64 * MiB));
    EXPECT_EQ(first_line(cgroup_file(pa, "pids", "pids.max")), "16");
    EXPECT_EQ(first_line(cgroup_file(pa, "cpu", "cpu.cfs_quota_us")), "20000");
    EXPECT_EQ(first_line(cgroup_file(pa, "cpu", "cpu.cfs_period_us")), "100000");
    EXPECT_NE(cgroup_file(pa, "pids", ""), cgroup_file(pb, "pids", "")) << "each instance has a cgroup of its own";
    const std::string cg = bus().get_string_property(kBusName, a.path.c_str(), kInstanceInterface, "ControlGroup");
    EXPECT_THAT(cg, ::testing::EndsWith("/offshoot-Contained-" + a.path.substr(a.path.rfind('/') + 1)));
    EXPECT_EQ(cgroup_file(pa, "memory", ""), "/sys/fs/cgroup/memory" + cg + "/") << "ControlGroup names the memory cgroup";
    EXPECT_EQ(bus().get_string_property(kBusName, a.path.c_str(), kInstanceInterface, "Unit"), "") << "no systemd here";
    EXPECT_EQ(property(a, "MemoryMax"), 64 * MiB);
    EXPECT_EQ(property(a, "TasksMax"), 16u);
    EXPECT_EQ(property(a, "CPUQuotaPerSecUSec"), 200000u);
    EXPECT_EQ(property(a, "MemoryHigh"), UINT64_MAX);
    const uint64_t memory = property(a, "MemoryCurrent");
    EXPECT_GT(memory, 0u);
    EXPECT_LT(memory, 64 * MiB);
    EXPECT_GE(property(a, "TasksCurrent"), 1u);
    EXPECT_GT(property(a, "CPUUsageNSec"), 0u);
    EXPECT_GE(property(a, "MemoryPeak"), memory);
    // The cgroup goes with the instance.
    const std::string dir = cgroup_file(pa, "pids", "");
    ASSERT_TRUE(stop_instance(bus(), a.path).ok());
    EXPECT_TRUE(wait_until([&] { return !exists(dir); }, Deadline(5s))) << dir << " is left after the stop";
    EXPECT_EQ(property(a, "MemoryCurrent"), UINT64_MAX) << "no process, no figure";
}

// Without a CPU limit an instance gets no cgroup in v1's cpu hierarchy (systemd makes none
// either; nothing is read from it, and each cgroup costs a spawn a mkdir and a join): it stays in
// offshootd's, while memory, pids and cpuacct (the figures) are its own. On v2, one cgroup holds
// every controller, so the cpu line names the instance's own.
TEST_F(WithContainedClasses, GivesAnInstanceWithoutACpuLimitNoCgroupOfItsOwnInV1sCpuHierarchy) {
    SpawnReply r = spawn_ok("Open");
    ASSERT_TRUE(r.ok());
    const pid_t pid = pid_of(r);
    const std::string own = "offshoot-Open-" + r.path.substr(r.path.rfind('/') + 1) + "/";
    EXPECT_THAT(cgroup_file(pid, "pids", ""), ::testing::EndsWith(own));
    EXPECT_THAT(cgroup_file(pid, "memory", ""), ::testing::EndsWith(own));
    // How this host mounts cpu: its own v1 hierarchy, v1 together with cpuacct (which the
    // instance has a cgroup in, so the shared one is its own), or v2.
    bool cpu_alone_on_v1 = false;
    {
        std::ifstream in("/proc/self/cgroup");
        std::string line;
        while (std::getline(in, line)) {
            const auto a = line.find(':'), b = line.find(':', a + 1);
            const std::string list = "," + line.substr(a + 1, b - a - 1) + ",";
            if (list.find(",cpu,") != std::string::npos) cpu_alone_on_v1 = list.find(",cpuacct,") == std::string::npos;
        }
    }
    if (cpu_alone_on_v1)
        EXPECT_EQ(cgroup_file(pid, "cpu", ""), cgroup_file(daemon().pid(), "cpu", ""));
    else
        EXPECT_THAT(cgroup_file(pid, "cpu", ""), ::testing::EndsWith(own));
    // Its CPU time is still counted (cpuacct on v1, cpu.stat on v2).
    EXPECT_TRUE(wait_until([&] { return property(r, "CPUUsageNSec") > 0 && property(r, "CPUUsageNSec") != UINT64_MAX; },
                           Deadline(5s)));
}

// The spawn child joins its cgroups through cgroup.procs descriptors offshootd opens before the
// fork; offshootd's own copies go once the child is placed, so what a live instance costs
// offshootd in descriptors does not include one per hierarchy (bench/RESULTS.md, scale).
TEST_F(WithContainedClasses, KeepsNoCgroupProcsDescriptorOfARunningInstance) {
    SpawnReply r = spawn_ok("Open");
    ASSERT_TRUE(r.ok());
    const pid_t pid = pid_of(r);
    const std::string own = "offshoot-Open-" + r.path.substr(r.path.rfind('/') + 1);
    ASSERT_THAT(cgroup_file(pid, "memory", ""), ::testing::EndsWith(own + "/")) << "the instance has no cgroup";
    std::vector<std::string> held;
    const std::string dir = "/proc/" + std::to_string(daemon().pid()) + "/fd";
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        std::error_code ec;
        const std::string target = std::filesystem::read_symlink(e.path(), ec).string();
        if (target.find(own + "/cgroup.procs") != std::string::npos) held.push_back(target);
    }
    EXPECT_THAT(held, ::testing::IsEmpty());
}

// A process is gone once /proc no longer has it, or has it as a zombie (this VM's PID 1
// reaps no orphans).
bool gone(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) return true;
    const auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

TEST_F(WithContainedClasses, KillsWhatAWorkerLeftBehindWhenTheInstanceEnds) {
    SpawnReply r = spawn_ok("Open");
    ASSERT_TRUE(r.ok());
    ContainedClient c(r.address);
    Reply left = c.call("Leave", [](sd_bus_message* m) { return sd_bus_message_append(m, "t", uint64_t{600000}); });
    ASSERT_TRUE(left.ok()) << left.describe();
    uint32_t child = 0;
    ASSERT_GE(sd_bus_message_read(left.get(), "u", &child), 0);
    ASSERT_FALSE(gone(static_cast<pid_t>(child)));
    EXPECT_EQ(cgroup_file(static_cast<pid_t>(child), "pids", ""), cgroup_file(pid_of(r), "pids", ""))
        << "the child is in the instance's cgroup";
    ASSERT_TRUE(stop_instance(bus(), r.path).ok());
    EXPECT_TRUE(wait_until([&] { return gone(static_cast<pid_t>(child)); }, Deadline(5s)))
        << "the worker's child " << child << " outlived its instance";
}

TEST_F(WithContainedClasses, EndsAnInstanceThatOutgrowsMemoryMaxWithResultOomKillAndNothingElse) {
    SpawnReply hog = spawn_ok("Contained"), neighbour = spawn_ok("Contained");
    ASSERT_TRUE(hog.ok() && neighbour.ok());
    ContainedClient h(hog.address);
    Reply r = h.call("Allocate", [](sd_bus_message* m) { return sd_bus_message_append(m, "t", 256 * MiB); });
    EXPECT_FALSE(r.ok()) << "256 MiB fit under MemoryMax=64M";
    WaitResult w = wait_instance(bus(), hog.path);
    ASSERT_EQ(w.error, "");
    EXPECT_EQ(w.result, "oom-kill");
    EXPECT_EQ(w.code, SIGKILL);
    EXPECT_EQ(instance_state(bus(), hog.path), "failed");
    // The neighbour and offshootd are untouched.
    ContainedClient n(neighbour.address);
    EXPECT_FALSE(n.interfaces().empty());
    EXPECT_EQ(instance_state(bus(), neighbour.path), "running");
    EXPECT_EQ(list_instances(bus()).size(), 2u);
    EXPECT_EQ(::kill(daemon().pid(), 0), 0);
}

TEST_F(WithContainedClasses, LetsFewerThanTasksMaxForksSucceed) {
    SpawnReply r = spawn_ok("Contained");
    ASSERT_TRUE(r.ok());
    ContainedClient c(r.address);
    Reply f = c.call("Fork", [](sd_bus_message* m) { return sd_bus_message_append(m, "u", 40u); });
    ASSERT_TRUE(f.ok()) << f.describe();
    uint32_t forked = 0;
    int32_t err = 0;
    ASSERT_GE(sd_bus_message_read(f.get(), "ui", &forked, &err), 0);
    EXPECT_LT(forked, 16u) << "the worker counts against TasksMax=16 too";
    EXPECT_GT(forked, 0u);
    EXPECT_EQ(err, EAGAIN);
}

TEST_F(WithContainedClasses, CapsTheCpuTimeOfASpinAtCpuQuota) {
    SpawnReply r = spawn_ok("Contained");
    ASSERT_TRUE(r.ok());
    ContainedClient c(r.address);
    Reply s = c.call("Spin", [](sd_bus_message* m) { return sd_bus_message_append(m, "t", uint64_t{1000}); });
    ASSERT_TRUE(s.ok()) << s.describe();
    uint64_t cpu_usec = 0;
    ASSERT_GE(sd_bus_message_read(s.get(), "t", &cpu_usec), 0);
    EXPECT_LT(cpu_usec, 500'000u) << "1 s of spinning under CPUQuota=20%";
    EXPECT_GT(cpu_usec, 50'000u);
}

TEST_F(WithContainedClasses, LetsACallerTightenTheClassesLimitsButNotLoosenThem) {
    SpawnReply r = spawn_ok("Contained", kNobody, {{"tasks-max", uint64_t{8}}, {"memory-max", 32 * MiB}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(first_line(cgroup_file(pid_of(r), "pids", "pids.max")), "8");
    EXPECT_EQ(first_line(cgroup_file(pid_of(r), "memory", "memory.limit_in_bytes")), std::to_string(32 * MiB));
    EXPECT_EQ(property(r, "TasksMax"), 8u);
    SpawnReply loose = spawn_with_options(bus(), "Contained", {{"uid", kNobody}, {"memory-max", 256 * MiB}});
    EXPECT_EQ(loose.error_name, kAccessDenied);
    EXPECT_EQ(loose.error_message,
              "memory-max 268435456 would loosen the class's MemoryMax=67108864: a caller may only tighten what its class sets");
    SpawnReply unsandboxed = spawn_with_options(bus(), "Contained", {{"uid", kNobody}, {"private-network", false}});
    EXPECT_EQ(unsandboxed.error_name, kAccessDenied);
    EXPECT_THAT(unsandboxed.error_message, HasSubstr("PrivateNetwork=yes"));
    // A class with no limits takes a caller's.
    SpawnReply open = spawn_ok("Open", kNobody, {{"tasks-max", uint64_t{5}}});
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(first_line(cgroup_file(pid_of(open), "pids", "pids.max")), "5");
}

// ---- namespaces -----------------------------------------------------------------------------

TEST_F(WithContainedClasses, GivesPrivateTmpAnEmptyTmpOfItsOwnThatGoesWithTheInstance) {
    const std::string name = "/tmp/offshoot-private-tmp-" + std::to_string(::getpid());
    SpawnReply a = spawn_ok("Contained");
    ASSERT_TRUE(a.ok());
    ContainedClient ca(a.address);
    ASSERT_EQ(ca.write_file(name, "mine"), 0);
    EXPECT_EQ(ca.read_file(name), (std::pair<int32_t, std::string>{0, "mine"}));
    EXPECT_FALSE(exists(name)) << "the instance's /tmp file is visible outside it";
    SpawnReply b = spawn_ok("Contained");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(ContainedClient(b.address).read_file(name).first, ENOENT) << "another instance sees it";
    // Started again on the same handle: a fresh /tmp.
    ASSERT_TRUE(stop_instance(bus(), a.path).ok());
    ASSERT_TRUE(bus().call(kBusName, a.path.c_str(), kInstanceInterface, "Start").ok());
    const std::string address = bus().get_string_property(kBusName, a.path.c_str(), kInstanceInterface, "Address");
    EXPECT_EQ(ContainedClient(address).read_file(name).first, ENOENT) << "/tmp outlived the instance";
}

TEST_F(WithContainedClasses, MakesTheSystemReadOnlyUnderProtectSystemStrictEvenForRoot) {
    SpawnReply r = spawn_ok("RootStrict", 0);
    ASSERT_TRUE(r.ok());
    ContainedClient c(r.address);
    const std::string usr = "/usr/offshoot-strict-" + std::to_string(::getpid());
    EXPECT_EQ(c.write_file(usr, "x"), EROFS);
    EXPECT_EQ(c.write_file("/etc/offshoot-strict-test", "x"), EROFS);
    EXPECT_EQ(c.write_file("/var/offshoot-strict-test", "x"), EROFS);
    EXPECT_EQ(c.write_file("/tmp/ok", "x"), 0) << "PrivateTmp's /tmp stays writable";
    EXPECT_EQ(c.write_file("/dev/null", "x"), 0) << "the API file systems stay as they are";
    EXPECT_FALSE(exists(usr));
    // The same class without the sandbox writes there (as root may): the sandbox did it.
    SpawnReply open = spawn_ok("Open", 0);
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(ContainedClient(open.address).write_file(usr, "x"), 0);
    EXPECT_TRUE(exists(usr));
    ::unlink(usr.c_str());
}

TEST_F(WithContainedClasses, HidesTheHomesUnderEachProtectHomeSetting) {
    // yes (the vendor config): nothing there at all, even for a process of uid 0.
    SpawnReply yes = spawn_ok("Contained");
    ASSERT_TRUE(yes.ok());
    ContainedClient c(yes.address);
    EXPECT_EQ(c.list("/root"), EACCES);
    EXPECT_EQ(c.list("/home"), EACCES);
    // read-only: there, and not writable — even as root.
    SpawnReply ro = spawn_ok("HomeReadOnly", 0);
    ASSERT_TRUE(ro.ok());
    ContainedClient r(ro.address);
    EXPECT_EQ(r.list("/root"), 0);
    EXPECT_EQ(r.write_file("/root/offshoot-home-test", "x"), EROFS);
    // tmpfs: empty.
    SpawnReply tmpfs = spawn_ok("HomeTmpfs", 0);
    ASSERT_TRUE(tmpfs.ok());
    std::vector<std::string> names{"?"};
    EXPECT_EQ(ContainedClient(tmpfs.address).list("/root", &names), 0);
    EXPECT_TRUE(names.empty()) << names.front();
    std::vector<std::string> host;
    for (const auto& e : std::filesystem::directory_iterator("/root")) host.push_back(e.path().filename());
    EXPECT_FALSE(host.empty()) << "the host's /root is empty: the tmpfs check proves nothing";
}

TEST_F(WithContainedClasses, LeavesPrivateNetworkOnlyTheLoopback) {
    struct if_nameindex* list = ::if_nameindex();
    ASSERT_NE(list, nullptr);
    size_t host = 0;
    for (const struct if_nameindex* i = list; i->if_index; ++i) ++host;
    ::if_freenameindex(list);
    ASSERT_GT(host, 1u) << "the host has only lo: the check proves nothing";
    SpawnReply r = spawn_ok("Contained");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(ContainedClient(r.address).interfaces(), (std::vector<std::string>{"lo"}));
    // A caller may ask the same of a class that does not.
    SpawnReply open = spawn_ok("Open", kNobody, {{"private-network", true}});
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(ContainedClient(open.address).interfaces(), (std::vector<std::string>{"lo"}));
    auto m = bus().call_checked(kBusName, open.path.c_str(), "org.freedesktop.DBus.Properties", "Get", [](sd_bus_message* q) {
        return sd_bus_message_append(q, "ss", kInstanceInterface, "PrivateNetwork");
    });
    int on = 0;
    ASSERT_GE(sd_bus_message_read(m.get(), "v", "b", &on), 0);
    EXPECT_TRUE(on) << "the handle shows what the caller added";
}

TEST_F(WithContainedClasses, AppliesReadOnlyReadWriteAndInaccessiblePaths) {
    SpawnReply r = spawn_ok("Paths");
    ASSERT_TRUE(r.ok());
    ContainedClient c(r.address);
    EXPECT_EQ(c.write_file((*data_ / "ro/f").string(), "x"), EROFS);
    EXPECT_EQ(c.write_file((*data_ / "rw/f").string(), "x"), 0);
    EXPECT_EQ(c.write_file((*data_ / "f").string(), "x"), EROFS) << "ProtectSystem=strict around them";
    EXPECT_EQ(c.list((*data_ / "secret").string()), EACCES);
    EXPECT_EQ(c.read_file((*data_ / "secret/key").string()).first, EACCES);
    EXPECT_TRUE(exists((*data_ / "rw/f").string())) << "a write through ReadWritePaths= reaches the host";
    // A caller adds paths to a class that has none.
    SpawnReply open = spawn_ok("Open", kNobody, {{"read-only-paths", std::vector<std::string>{(*data_ / "rw").string()}},
                                                 {"inaccessible-paths", std::vector<std::string>{"/etc"}}});
    ASSERT_TRUE(open.ok());
    ContainedClient o(open.address);
    EXPECT_EQ(o.write_file((*data_ / "rw/g").string(), "x"), EROFS);
    EXPECT_EQ(o.list("/etc"), EACCES);
}

TEST_F(WithContainedClasses, GivesPrivateDevicesOnlyTheBasicNodes) {
    SpawnReply r = spawn_ok("Devices");
    ASSERT_TRUE(r.ok());
    ContainedClient c(r.address);
    std::vector<std::string> dev;
    ASSERT_EQ(c.list("/dev", &dev), 0);
    for (const char* node : {"null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "ptmx", "fd"})
        EXPECT_NE(std::find(dev.begin(), dev.end(), node), dev.end()) << node;
    EXPECT_EQ(std::find(dev.begin(), dev.end(), "mem"), dev.end()) << "the host's /dev/mem is there";
    EXPECT_EQ(c.write_file("/dev/null", "x"), 0);
    EXPECT_EQ(c.write_file("/dev/new", "x"), EROFS);
}

TEST_F(WithContainedClasses, NamesTheNamespaceStepAndThePathWhenASandboxCannotBeMade) {
    SpawnReply r = spawn_with_options(bus(), "Missing", {{"uid", kNobody}});
    EXPECT_EQ(r.error_name, kSpawnFailed);
    EXPECT_EQ(r.error_message,
              "namespace: ReadOnlyPaths=/nonexistent-offshoot: read-only /nonexistent-offshoot: No such file or directory");
    EXPECT_TRUE(list_instances(bus()).empty()) << "a failed Spawn leaves a handle";
}

TEST_F(WithContainedClasses, RefusesAWorkingDirectoryTheSandboxHides) {
    SpawnReply r = spawn_with_options(bus(), "Contained", {{"uid", kNobody}, {"cwd", std::string("/tmp/work")}});
    EXPECT_EQ(r.error_name, kInvalidArgument);
    EXPECT_THAT(r.error_message, StartsWith("the working directory /tmp/work is hidden by PrivateTmp=yes"));
}

// ---- no cgroup to write: fail closed --------------------------------------------------------

// offshootd in a mount namespace of its own where the cgroup file system is read-only (what
// systemd's ProtectControlGroups= does): it cannot make a cgroup for anyone.
class WithReadOnlyCgroups : public WithContainedClasses {
protected:
    TestDaemonOptions daemon_options() override {
        TestDaemonOptions o = WithContainedClasses::daemon_options();
        wrapper_.emplace("offshoot-wrapper", 0755);
        const auto script = *wrapper_ / "offshootd";
        std::ofstream(script) << "#!/bin/sh\n"
                                 "exec unshare --mount --propagation private /bin/sh -c '"
                                 "for d in /sys/fs/cgroup/*/ /sys/fs/cgroup; do mount -o remount,bind,ro \"$d\" 2>/dev/null; done; "
                                 "exec \"$0\" \"$@\"' "
                              << offshootd_path().string() << " \"$@\"\n";
        ::chmod(script.c_str(), 0755);
        o.offshootd = script;
        return o;
    }
    std::optional<TempDir> wrapper_;
};

TEST_F(WithReadOnlyCgroups, RefusesAnInstanceThatAsksForLimitsAndSpawnsOneThatAsksForNone) {
    SpawnReply limited = spawn_with_options(bus(), "Contained", {{"uid", kNobody}});
    EXPECT_EQ(limited.error_name, kSpawnFailed);
    EXPECT_THAT(limited.error_message, StartsWith("cgroup: the class or the caller sets a memory limit, but cannot create"));
    EXPECT_THAT(limited.error_message, HasSubstr("Read-only file system"));
    SpawnReply asked = spawn_with_options(bus(), "Open", {{"uid", kNobody}, {"tasks-max", uint64_t{4}}});
    EXPECT_EQ(asked.error_name, kSpawnFailed) << "a caller's limit fails closed too";
    SpawnReply open = spawn_ok("Open");
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(bus().get_string_property(kBusName, open.path.c_str(), kInstanceInterface, "ControlGroup"), "");
    EXPECT_EQ(property(open, "TasksCurrent"), UINT64_MAX);
    EXPECT_FALSE(ContainedClient(open.address).interfaces().empty()) << "the instance serves";
}

}  // namespace
}  // namespace offshoot::test

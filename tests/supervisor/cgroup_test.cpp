// cgroup_test.cpp — the cgroup engine without systemd (cgroup/direct.cpp) against a fake
// cgroup v2 tree in a temporary directory: what it writes where (the supervisor leaf, the
// controllers it enables, each limit in systemd's conversion), what it reads (usage, OOM
// kills), and how it fails closed. Also the parsers of /proc/self/mountinfo and
// /proc/PID/cgroup (cgroup/layout.cpp), for v2, v1 and hybrid layouts. The v1 path runs for
// real in the integration tests (tests/integration/containment_test.cpp); the OOM count of a v1
// cgroup that was removed before it was read (as systemd removes an empty scope's) runs here,
// on this host's v1 memory hierarchy.
#include "cgroup/direct.hpp"
#include "cgroup/files.hpp"
#include "cgroup/layout.hpp"
#include "offshoot/common/errors.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace offshoot {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

// <tmp>/cgroup is "mounted" cgroup2 with memory, pids, cpu and io; offshootd sits in /svc.
class AFakeCgroupV2Tree : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() / ("offshoot-cgroup-test-" + std::to_string(getpid()));
        fs::remove_all(root_);
        fs::create_directories(root_ / "cgroup/svc");
        write(root_ / "cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
        write(svc() / "cgroup.controllers", "cpu io memory pids\n");
        write(svc() / "cgroup.subtree_control", "");
        write(svc() / "cgroup.procs", std::to_string(getpid()) + "\n");
    }
    void TearDown() override { fs::remove_all(root_); }

    fs::path svc() const { return root_ / "cgroup/svc"; }
    Hierarchies hierarchies() const {
        Hierarchies h;
        h.v2 = (root_ / "cgroup").string();
        h.v2_controllers = {"cpuset", "cpu", "io", "memory", "hugetlb", "pids"};
        return h;
    }
    Membership in_svc() const {
        Membership m;
        m.v2 = "/svc";
        return m;
    }
    static InstanceSpec spec_with(const std::string& exec_limits) {
        InstanceSpec s;
        s.cls.name = "Echo";
        std::istringstream in(exec_limits);
        for (std::string line; std::getline(in, line);) {
            const auto eq = line.find('=');
            std::string err;
            EXPECT_TRUE(parse_containment_key(line.substr(0, eq), line.substr(eq + 1), s.containment, err));
            EXPECT_EQ(err, "");
        }
        return s;
    }
    fs::path root_;
};

TEST_F(AFakeCgroupV2Tree, GetsOffshootdIntoALeafAndEnablesTheControllersBelowItsCgroup) {
    DirectCgroups engine(nullptr, hierarchies(), in_svc(), getpid());
    EXPECT_EQ(read(svc() / "supervisor/cgroup.procs"), "0") << "offshootd moved itself into the leaf";
    EXPECT_EQ(read(svc() / "cgroup.subtree_control"), "+memory +pids +cpu +io");
    for (Controller c : {Controller::memory, Controller::pids, Controller::cpu, Controller::io})
        EXPECT_EQ(engine.unavailable(c), "") << name_of(c, true);
    EXPECT_NE(engine.describe().find("memory (v2)"), std::string::npos) << engine.describe();
}

TEST_F(AFakeCgroupV2Tree, WritesEachLimitInSystemdsConversionAndHandsTheChildItsCgroupProcs) {
    DirectCgroups engine(nullptr, hierarchies(), in_svc(), getpid());
    const InstanceSpec spec = spec_with("MemoryMax=64M\nMemoryHigh=48M\nMemorySwapMax=0\nTasksMax=16\nCPUQuota=20%\n"
                                        "CPUWeight=50\nIOWeight=200");
    auto cg = engine.prepare(spec, 3, "offshoot-Echo-3");
    const fs::path dir = svc() / "offshoot-Echo-3";
    ASSERT_TRUE(fs::is_directory(dir));
    EXPECT_EQ(read(dir / "memory.max"), std::to_string(64 << 20));
    EXPECT_EQ(read(dir / "memory.high"), std::to_string(48 << 20));
    EXPECT_EQ(read(dir / "memory.swap.max"), "0");
    EXPECT_EQ(read(dir / "pids.max"), "16");
    EXPECT_EQ(read(dir / "cpu.max"), "20000 100000") << "20% of the default 100 ms period";
    EXPECT_EQ(read(dir / "cpu.weight"), "50");
    EXPECT_EQ(read(dir / "io.weight"), "default 200");
    EXPECT_EQ(cg->control_group(), "/svc/offshoot-Echo-3");
    EXPECT_EQ(cg->unit(), "") << "no systemd, no unit";
    ASSERT_EQ(cg->join_fds().size(), 1u) << "one hierarchy: one cgroup.procs";
    EXPECT_EQ(::write(cg->join_fds()[0], "0", 1), 1);
    EXPECT_EQ(read(dir / "cgroup.procs"), "0");
    EXPECT_FALSE(cg->parks_child()) << "the child joins by itself; nobody has to move it";
}

TEST_F(AFakeCgroupV2Tree, ReadsUsageAndOomKillsFromTheCgroupsOwnFiles) {
    DirectCgroups engine(nullptr, hierarchies(), in_svc(), getpid());
    const fs::path dir = svc() / "offshoot-Echo-1";
    fs::create_directories(dir);
    write(dir / "memory.current", "1234\n");
    write(dir / "memory.peak", "5678\n");
    write(dir / "pids.current", "3\n");
    write(dir / "cpu.stat", "usage_usec 250\nuser_usec 200\nsystem_usec 50\n");
    write(dir / "memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\n");
    auto cg = engine.prepare(spec_with("MemoryMax=1M"), 1, "offshoot-Echo-1");
    const CgroupUsage u = cg->usage();
    EXPECT_EQ(u.memory_current, 1234u);
    EXPECT_EQ(u.memory_peak, 5678u);
    EXPECT_EQ(u.tasks_current, 3u);
    EXPECT_EQ(u.cpu_usage_nsec, 250000u);
    EXPECT_FALSE(cg->oom_killed()) << "oom events without a kill are no OOM kill";
    write(dir / "memory.events", "low 0\nhigh 0\nmax 40\noom 2\noom_kill 1\n");
    EXPECT_TRUE(cg->oom_killed());
}

TEST_F(AFakeCgroupV2Tree, RemovesTheInstancesCgroupOnRelease) {
    DirectCgroups engine(nullptr, hierarchies(), in_svc(), getpid());
    auto cg = engine.prepare(spec_with("TasksMax=4"), 2, "offshoot-Echo-2");
    const fs::path dir = svc() / "offshoot-Echo-2";
    ASSERT_TRUE(fs::exists(dir));
    for (const auto& e : fs::directory_iterator(dir)) fs::remove(e.path());  // cgroupfs has no files to delete
    cg->release();
    EXPECT_FALSE(fs::exists(dir));
}

TEST_F(AFakeCgroupV2Tree, FailsClosedWhenOthersShareOffshootdsCgroup) {
    write(svc() / "cgroup.procs", std::to_string(getpid()) + "\n1\n");
    DirectCgroups engine(nullptr, hierarchies(), in_svc(), getpid());
    EXPECT_FALSE(fs::exists(svc() / "supervisor")) << "offshootd stays where it is";
    EXPECT_NE(engine.unavailable(Controller::memory).find("other processes (pid 1) share offshootd's cgroup"),
              std::string::npos)
        << engine.unavailable(Controller::memory);
    try {
        engine.prepare(spec_with("MemoryMax=64M"), 1, "offshoot-Echo-1");
        ADD_FAILURE() << "an instance with MemoryMax= was prepared without a memory cgroup";
    } catch (const Error& e) {
        EXPECT_EQ(e.getName(), errors::spawn_failed);
        EXPECT_EQ(e.getMessage().rfind("cgroup: the class or the caller sets a memory limit, but other processes", 0), 0u)
            << e.getMessage();
    }
    // Asking for nothing, an instance still spawns, without a cgroup of its own.
    auto cg = engine.prepare(spec_with(""), 2, "offshoot-Echo-2");
    EXPECT_EQ(cg->control_group(), "");
    EXPECT_TRUE(cg->join_fds().empty());
    EXPECT_EQ(cg->usage().memory_current, UINT64_MAX);
}

TEST_F(AFakeCgroupV2Tree, FailsClosedWhenAControllerIsNotOffered) {
    Hierarchies h = hierarchies();
    h.v2_controllers = {"memory", "pids"};
    DirectCgroups engine(nullptr, h, in_svc(), getpid());
    EXPECT_EQ(read(svc() / "cgroup.subtree_control"), "+memory +pids");
    EXPECT_NE(engine.unavailable(Controller::cpu), "");
    try {
        engine.prepare(spec_with("CPUQuota=20%"), 1, "offshoot-Echo-1");
        ADD_FAILURE() << "CPUQuota= was accepted without a cpu controller";
    } catch (const Error& e) {
        EXPECT_NE(e.getMessage().find("sets a cpu limit"), std::string::npos) << e.getMessage();
    }
    EXPECT_FALSE(fs::exists(svc() / "offshoot-Echo-1")) << "nothing is left behind";
}

TEST(CgroupFilesOnV1, RefuseTheLimitsV1DoesNotHave) {
    InstanceDirs dirs;
    dirs.dirs[Controller::memory] = {"/nonexistent", false};
    ResourceControl r;
    r[Resource::memory_high] = 1 << 20;
    EXPECT_NE(apply_limits(dirs, r).find("MemoryHigh= needs cgroup v2 (memory.high)"), std::string::npos);
    ResourceControl s;
    s[Resource::memory_swap_max] = 0;
    EXPECT_NE(apply_limits(dirs, s).find("MemorySwapMax= needs cgroup v2"), std::string::npos);
    ResourceControl t;
    t[Resource::tasks_max] = 16;
    EXPECT_NE(apply_limits(dirs, t).find("TasksMax= needs the pids controller"), std::string::npos);
}

TEST(CgroupLayout, ReadsAHybridHostsMountsAndAProcessesPlaceInThem) {
    const std::string mountinfo =
        "31 23 0:28 / /sys/fs/cgroup ro,relatime - tmpfs tmpfs ro,size=4096k\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
        "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    Hierarchies h = parse_mountinfo(mountinfo);
    h.v2_controllers = {"hugetlb"};
    EXPECT_EQ(h.v2, "/sys/fs/cgroup/unified");
    EXPECT_EQ(h.systemd_v1, "/sys/fs/cgroup/systemd");
    EXPECT_EQ(h.v1.at(Controller::memory), "/sys/fs/cgroup/memory");
    EXPECT_EQ(h.v1.at(Controller::cpuacct), "/sys/fs/cgroup/cpuacct");
    EXPECT_FALSE(h.on_v2(Controller::memory));
    EXPECT_FALSE(h.has(Controller::io));
    const Membership m = parse_proc_cgroup(
        "9:name=systemd:/offshoot.slice/offshoot-Counter-3.scope\n8:pids:/offshoot.slice/offshoot-Counter-3.scope\n"
        "4:memory:/offshoot.slice/offshoot-Counter-3.scope\n2:cpuacct:/offshoot.slice/offshoot-Counter-3.scope\n"
        "1:cpu:/offshoot.slice/offshoot-Counter-3.scope\n0::/offshoot.slice/offshoot-Counter-3.scope\n");
    const InstanceDirs d = dirs_of(h, m);
    EXPECT_EQ(d.control_group, "/offshoot.slice/offshoot-Counter-3.scope");
    EXPECT_EQ(d.get(Controller::memory)->path, "/sys/fs/cgroup/memory/offshoot.slice/offshoot-Counter-3.scope");
    EXPECT_FALSE(d.get(Controller::memory)->v2);
    EXPECT_EQ(d.get(Controller::pids)->path, "/sys/fs/cgroup/pids/offshoot.slice/offshoot-Counter-3.scope");
    EXPECT_EQ(d.get(Controller::io), nullptr);
}

TEST(CgroupLayout, ReadsAPureV2HostAndCoMountedV1Controllers) {
    Hierarchies v2 = parse_mountinfo("30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
    v2.v2_controllers = {"cpu", "io", "memory", "pids"};
    const InstanceDirs d = dirs_of(v2, parse_proc_cgroup("0::/system.slice/offshootd.service\n"));
    EXPECT_EQ(d.control_group, "/system.slice/offshootd.service");
    EXPECT_EQ(d.get(Controller::io)->path, "/sys/fs/cgroup/system.slice/offshootd.service");
    EXPECT_TRUE(d.get(Controller::cpuacct)->v2) << "cpu.stat serves for the usage";
    const Hierarchies co = parse_mountinfo("32 31 0:29 / /sys/fs/cgroup/cpu\\054cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n");
    EXPECT_EQ(co.v1.at(Controller::cpu), "/sys/fs/cgroup/cpu,cpuacct") << "mountinfo's octal escapes are read";
    EXPECT_EQ(co.v1.at(Controller::cpuacct), co.v1.at(Controller::cpu));
    const InstanceDirs both = dirs_of(co, parse_proc_cgroup("3:cpu,cpuacct:/x\n"));
    EXPECT_EQ(both.distinct().size(), 1u);
}

}  // namespace
}  // namespace offshoot

namespace offshoot {
namespace {

// A v1 memory cgroup of 16 MiB below this test's own, with one child that allocates `bytes` in
// it and ends; then the cgroup is removed, and the watch opened while it ran is asked.
bool oom_after_removal(size_t bytes) {
    std::string own;
    std::ifstream in("/proc/self/cgroup");
    for (std::string line; std::getline(in, line);)
        if (line.find(":memory:") != std::string::npos) own = line.substr(line.find(":memory:") + 8);
    EXPECT_FALSE(own.empty()) << "this host has no v1 memory hierarchy";
    const fs::path dir = fs::path("/sys/fs/cgroup/memory" + own) / ("offshoot-oom-test-" + std::to_string(getpid()));
    fs::create_directories(dir);
    write(dir / "memory.limit_in_bytes", std::to_string(16 << 20));
    InstanceDirs dirs;
    dirs.dirs[Controller::memory] = {dir.string(), false};
    const OomWatch watch(dirs);
    const pid_t pid = fork();
    if (pid == 0) {
        write(dir / "cgroup.procs", "0");
        auto* p = static_cast<volatile char*>(malloc(bytes));
        for (size_t i = 0; p && i < bytes; i += 4096) p[i] = 1;
        _exit(p ? 0 : 1);
    }
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    const bool oom_killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    EXPECT_EQ(oom_killed, bytes > (16 << 20)) << "status " << status;
    EXPECT_EQ(rmdir(dir.c_str()), 0) << std::strerror(errno);
    return watch.killed();
}

TEST(AnOomWatchOnV1, CountsAnOomKillInACgroupRemovedBeforeItWasRead) {
    EXPECT_TRUE(oom_after_removal(64 << 20)) << "64 MiB in 16 MiB";
}

TEST(AnOomWatchOnV1, SeesNoOomKillInACgroupRemovedAfterAWorkerThatFitted) {
    EXPECT_FALSE(oom_after_removal(1 << 20)) << "1 MiB in 16 MiB";
}

}  // namespace
}  // namespace offshoot

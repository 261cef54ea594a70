// config_test.cpp — class configuration files, offshootd.conf and the spawn rate limiter.
#include "config/daemon_config.hpp"

#include "config/class_config.hpp"
#include "config/syscall_sets.hpp"

#include <gtest/gtest.h>
#include <seccomp.h>
#include <sys/resource.h>

namespace offshoot {
namespace {

std::optional<ClassConfig> parse(const std::string& text, std::string& err) {
    return parse_class_config(text, "test.conf", "/plugins", err);
}

TEST(AClassConfig, ReadsEverySectionAndResolvesARelativePlugin) {
    std::string err;
    auto c = parse("[Class]\nName=Counter\nPlugin=counter.so\nInterface=org.offshoot1.example.Counter\n"
                   "[Access]\nAllowedUsers=nobody 1000-60000\nAllowedCallers=root @adm\nAllowAnyGroup=yes\n"
                   "[Exec]\nWorkingDirectory=/srv\nUMask=0077\nEnvironment=A=1 B=2\n"
                   "LimitNOFILE=100:200\nLimitAS=1G\nLimitCPU=infinity\n"
                   "SystemCallFilter=@system-service ~chdir\nSystemCallErrorNumber=EPERM\n",
                   err);
    ASSERT_TRUE(c) << err;
    EXPECT_EQ(c->plugin, "/plugins/counter.so");
    EXPECT_EQ(c->allowed_users, (std::vector<std::string>{"nobody", "1000-60000"}));
    EXPECT_EQ(c->allowed_callers, (std::vector<std::string>{"root", "@adm"}));
    EXPECT_TRUE(c->allow_any_group);
    EXPECT_EQ(c->working_directory, "/srv");
    EXPECT_EQ(c->umask, 0077u);
    EXPECT_EQ(c->environment, (std::vector<std::string>{"A=1", "B=2"}));
    ASSERT_EQ(c->limits.size(), 3u);
    EXPECT_EQ(c->limits[0].resource, RLIMIT_NOFILE);
    EXPECT_EQ(c->limits[0].soft, 100u);
    EXPECT_EQ(c->limits[0].hard, 200u);
    EXPECT_EQ(c->limits[1].soft, 1ull << 30);
    EXPECT_EQ(c->limits[2].soft, RLIM_INFINITY);
    EXPECT_EQ(c->syscall_errno, EPERM);
}

TEST(AClassConfig, IsRefusedWithTheLineAndReasonWhenInvalid) {
    const char* head = "[Class]\nName=X\nPlugin=x.so\nInterface=org.x.Y\n";
    struct Case {
        std::string extra;
        const char* expect;
    } cases[] = {
        {"[Exec]\nWorkingDirectory=relative\n", "absolute"},
        {"[Exec]\nUMask=0999\n", "UMask"},
        {"[Exec]\nLimitNOFILE=200:100\n", "soft <= hard"},
        {"[Exec]\nLimitNOFILE=lots\n", "LimitNOFILE"},
        {"[Exec]\nSystemCallFilter=@no-such-group\n", "unknown system call group"},
        {"[Exec]\nSystemCallFilter=not_a_syscall\n", "unknown system call"},
        {"[Exec]\nSystemCallErrorNumber=EWHAT\n", "errno"},
        {"[Exec]\nColour=red\n", "unknown key"},
        {"[Other]\nA=b\n", "unknown section"},
        {"[Access]\nAllowAnyGroup=maybe\n", "yes or no"},
    };
    for (auto& c : cases) {
        std::string err;
        EXPECT_FALSE(parse(head + c.extra, err)) << c.extra;
        EXPECT_NE(err.find(c.expect), std::string::npos) << c.extra << " → " << err;
    }
    std::string err;
    EXPECT_FALSE(parse("[Class]\nName=X\nPlugin=x.so\n", err));
    EXPECT_NE(err.find("Interface"), std::string::npos) << err;
    EXPECT_FALSE(parse("[Class]\nName=X\nPlugin=../x.so\nInterface=org.x.Y\n", err));
    EXPECT_FALSE(parse("[Class]\nName=X\nPlugin=x.so\nInterface=nodots\n", err));
    EXPECT_FALSE(parse("[Class]\nName=bad name\nPlugin=x.so\nInterface=org.x.Y\n", err));
}

TEST(ASyscallFilter, AddsGroupsRemovesTildeEntriesAndAlwaysKeepsExecAndExit) {
    std::string err;
    auto set = resolve_syscall_filter({"@file-system", "~chdir"}, err);
    ASSERT_TRUE(set) << err;
    EXPECT_TRUE(set->count(seccomp_syscall_resolve_name("openat")));
    EXPECT_FALSE(set->count(seccomp_syscall_resolve_name("chdir")));
    EXPECT_TRUE(set->count(seccomp_syscall_resolve_name("execve")));
    EXPECT_TRUE(set->count(seccomp_syscall_resolve_name("exit_group")));
    EXPECT_FALSE(set->count(seccomp_syscall_resolve_name("socket")));
    EXPECT_FALSE(resolve_syscall_filter({"@nope"}, err));
    EXPECT_EQ(parse_errno_name("EPERM"), EPERM);
    EXPECT_EQ(parse_errno_name("13"), 13);
    EXPECT_FALSE(parse_errno_name("0"));
    EXPECT_FALSE(parse_errno_name("EWHAT"));
}

TEST(TheDaemonConfig, HasDefaultsAndRefusesUnknownKeysAndBadValues) {
    std::string err;
    auto d = parse_daemon_config("", err);
    ASSERT_TRUE(d) << err;
    EXPECT_EQ(d->max_instances, 4096u);
    EXPECT_EQ(d->max_instances_per_user, 64u);
    d = parse_daemon_config("[Daemon]\nMaxInstancesPerUser=3\nSpawnRatePerSecond=2.5\nSpawnRateBurst=4\n", err);
    ASSERT_TRUE(d) << err;
    EXPECT_EQ(d->max_instances_per_user, 3u);
    EXPECT_DOUBLE_EQ(d->spawn_rate_per_second, 2.5);
    EXPECT_EQ(d->spawn_rate_burst, 4u);
    EXPECT_FALSE(parse_daemon_config("[Daemon]\nMaxInstances=0\n", err));
    EXPECT_FALSE(parse_daemon_config("[Daemon]\nMaxInstancesPerUsers=3\n", err));
    EXPECT_NE(err.find("unknown key"), std::string::npos);
    EXPECT_FALSE(parse_daemon_config("[Deamon]\nMaxInstances=3\n", err));
    // Not numbers in range: NaN compares false with both bounds (a fuzz finding,
    // tests/fuzz/crashes/fuzz-config/daemon-rate-per-second-nan), infinities, negatives.
    for (const char* v : {"nan", "-nan", "NAN", "inf", "-inf", "infinity", "-1", "0", "1e7"}) {
        err.clear();
        EXPECT_FALSE(parse_daemon_config(std::string("[Daemon]\nSpawnRatePerSecond=") + v + "\n", err)) << v;
        EXPECT_NE(err.find("SpawnRatePerSecond"), std::string::npos) << v << ": " << err;
    }
}

TEST(ARateLimiter, AllowsABurstThenRefillsAtItsRate) {
    RateLimiter r(/*rate=*/10, /*burst=*/3);
    uint64_t retry = 0, t = 1'000'000;
    EXPECT_TRUE(r.take(t, retry));
    EXPECT_TRUE(r.take(t, retry));
    EXPECT_TRUE(r.take(t, retry));
    EXPECT_FALSE(r.take(t, retry));
    EXPECT_NEAR(static_cast<double>(retry), 100'000, 1000);  // one token per 100 ms
    EXPECT_FALSE(r.take(t + 50'000, retry));
    EXPECT_TRUE(r.take(t + 150'000, retry));
    EXPECT_FALSE(r.full(t + 150'000));
    EXPECT_TRUE(r.full(t + 10'000'000));
}

}  // namespace
}  // namespace offshoot

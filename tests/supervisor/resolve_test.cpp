// resolve_test.cpp — a spawn request, its caller and its class into an instance's spec
// (policy/resolve.cpp), and the quotas that admit it (policy/quotas.cpp). No bus, no process.
#include "offshoot/common/errors.hpp"
#include "policy/quotas.hpp"
#include "policy/resolve.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace offshoot {
namespace {

ClassConfig open_class() {
    ClassConfig c;
    c.name = "X";
    c.allowed_users = {"nobody"};
    c.working_directory = "/";
    c.environment = {"LANG=C.UTF-8", "PATH=/class/bin"};
    return c;
}

std::string env_value(const InstanceSpec& s, const std::string& key) {
    for (const auto& e : s.environment)
        if (e.compare(0, key.size() + 1, key + "=") == 0) return e.substr(key.size() + 1);
    return "<unset>";
}

TEST(Resolve, TakesTheTargetsIdsAndHomeFromTheUserDatabase) {
    SpawnRequest req;
    req.class_name = "X";
    req.uid = 65534;
    const auto nobody = lookup_user(65534);
    ASSERT_TRUE(nobody);
    const InstanceSpec s = resolve(req, Caller{0, ":1.7"}, open_class(), 0);
    EXPECT_EQ(s.uid, 65534u);
    EXPECT_EQ(s.gid, nobody->gid);
    EXPECT_EQ(s.groups, user_groups(*nobody));
    EXPECT_EQ(s.owner.uid, 0u);
    EXPECT_EQ(s.owner.unique_name, ":1.7");
    EXPECT_EQ(s.cwd, "/");
    EXPECT_EQ(env_value(s, "HOME"), nobody->home);
    EXPECT_EQ(env_value(s, "USER"), nobody->name);
    EXPECT_EQ(env_value(s, "LISTEN_FDS"), "1");
}

TEST(Resolve, LetsTheCallersEnvironmentOverrideTheClassesAndTheClassTheBasics) {
    SpawnRequest req;
    req.uid = 65534;
    req.environment = {"LANG=de_DE.UTF-8", "EXTRA=1"};
    const InstanceSpec s = resolve(req, Caller{0, ":1.7"}, open_class(), 0);
    EXPECT_EQ(env_value(s, "PATH"), "/class/bin");
    EXPECT_EQ(env_value(s, "LANG"), "de_DE.UTF-8");
    EXPECT_EQ(env_value(s, "EXTRA"), "1");
    EXPECT_EQ(std::count_if(s.environment.begin(), s.environment.end(),
                            [](const std::string& e) { return e.starts_with("LANG="); }),
              1);
}

TEST(Resolve, DefaultsToTheCallerAndTheClassesDirectoryAndUmask) {
    ClassConfig c = open_class();
    c.working_directory = "/tmp";
    c.umask = 0027;
    SpawnRequest req;
    const InstanceSpec s = resolve(req, Caller{65534, ":1.9"}, c, 0);
    EXPECT_EQ(s.uid, 65534u);  // the caller itself: no policy needed
    EXPECT_EQ(s.cwd, "/tmp");
    EXPECT_EQ(s.umask, 0027u);
    req.cwd = "/var";
    req.umask = 0077;
    const InstanceSpec t = resolve(req, Caller{65534, ":1.9"}, c, 0);
    EXPECT_EQ(t.cwd, "/var");
    EXPECT_EQ(t.umask, 0077u);
}

TEST(Resolve, RefusesAUidWithoutAnEntryUnlessAGidIsGiven) {
    SpawnRequest req;
    req.uid = 4'000'000'000u;
    ClassConfig c = open_class();
    c.allowed_users = {"0-4294967294"};
    c.allow_any_group = true;  // without an entry, the groups cannot be checked otherwise
    try {
        (void)resolve(req, Caller{0, ":1.1"}, c, 0);
        FAIL() << "resolved a uid without a user database entry and no gid";
    } catch (const Error& e) {
        EXPECT_EQ(e.getName(), errors::invalid_argument);
        EXPECT_NE(e.getMessage().find("gid"), std::string::npos) << e.getMessage();
    }
    req.gid = 4'000'000'000u;
    const InstanceSpec s = resolve(req, Caller{0, ":1.1"}, c, 0);
    EXPECT_EQ(env_value(s, "USER"), "4000000000");
    EXPECT_EQ(env_value(s, "HOME"), "/");
}

TEST(Resolve, AppliesThePolicy) {
    SpawnRequest req;
    req.uid = 0;  // uid 65534 asking to run as root
    EXPECT_THROW((void)resolve(req, Caller{65534, ":1.2"}, open_class(), 0), Error);
}

TEST(Resolve, AnUnprivilegedSupervisorRunsInstancesOnlyAsItself) {
    SpawnRequest req;
    req.uid = 65534;
    try {
        (void)resolve(req, Caller{0, ":1.1"}, open_class(), 1000);
        FAIL() << "an unprivileged offshootd resolved an instance as another uid";
    } catch (const Error& e) {
        EXPECT_EQ(e.getName(), errors::access_denied);
        EXPECT_NE(e.getMessage().find("unprivileged"), std::string::npos) << e.getMessage();
    }
}

TEST(Quotas, BoundHandlesPerUserAndAllTogetherAndExemptRootFromThePerUserOnes) {
    DaemonConfig limits;
    limits.max_instances = 5;
    limits.max_instances_per_user = 2;
    limits.spawn_rate_per_second = 1000;
    limits.spawn_rate_burst = 1000;
    Quotas q(limits);
    const Caller user{1000, ":1.1"}, root{0, ":1.2"};
    q.admit(user, 0, 0);
    q.handle_added(1000);
    q.admit(user, 1, 0);
    q.handle_added(1000);
    EXPECT_THROW(q.admit(user, 2, 0), Error);
    q.handle_removed(1000);
    EXPECT_NO_THROW(q.admit(user, 1, 0));
    for (int k = 0; k < 4; ++k) q.handle_added(0);
    EXPECT_NO_THROW(q.admit(root, 4, 0));
    try {
        q.admit(root, 5, 0);
        FAIL() << "admitted past MaxInstances=";
    } catch (const Error& e) {
        EXPECT_EQ(e.getName(), errors::limit_exceeded);
        EXPECT_NE(e.getMessage().find("MaxInstances="), std::string::npos);
    }
}

TEST(Quotas, RateLimitNonRootSpawnsAndSayWhenToRetry) {
    DaemonConfig limits;
    limits.spawn_rate_per_second = 1;
    limits.spawn_rate_burst = 2;
    Quotas q(limits);
    const Caller user{1000, ":1.1"};
    q.admit(user, 0, 1'000'000);
    q.admit(user, 0, 1'000'000);
    try {
        q.admit(user, 0, 1'000'000);
        FAIL() << "admitted past the burst";
    } catch (const Error& e) {
        EXPECT_EQ(e.getName(), errors::limit_exceeded);
        EXPECT_NE(e.getMessage().find("try again in"), std::string::npos) << e.getMessage();
    }
    EXPECT_NO_THROW(q.admit(user, 0, 2'100'000));  // a second later a token is back
    for (int k = 0; k < 10; ++k) EXPECT_NO_THROW(q.admit(Caller{0, ":1.3"}, 0, 1'000'000));
}

}  // namespace
}  // namespace offshoot

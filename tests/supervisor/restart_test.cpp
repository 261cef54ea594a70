// restart_test.cpp — the restart policy's keys (config/restart.hpp): parsed as systemd spells
// them, systemd.service(5)'s table of which ends restart under which policy, and the rule that a
// caller's per-instance choice restarts after nothing the class's does not (policy/resolve.cpp).
#include "config/class_config.hpp"
#include "config/restart.hpp"
#include "offshoot/common/errors.hpp"
#include "policy/resolve.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace offshoot {
namespace {

std::optional<ClassConfig> parse_exec(const std::string& exec, std::string& err) {
    return parse_class_config("[Class]\nName=R\nPlugin=r.so\nInterface=org.x.R\n[Exec]\n" + exec, "r.conf", "/p", err);
}

TEST(ARestartPolicy, IsReadFromExecWithSystemdsNamesAndDefaults) {
    std::string err;
    auto plain = parse_exec("", err);
    ASSERT_TRUE(plain) << err;
    EXPECT_EQ(plain->restart.policy, RestartPolicy::no);
    EXPECT_EQ(plain->restart.restart_usec, 100'000u);               // systemd's RestartSec= default
    EXPECT_EQ(plain->restart.start_limit_interval_usec, 10'000'000u);  // DefaultStartLimitIntervalSec=
    EXPECT_EQ(plain->restart.start_limit_burst, 5u);                  // DefaultStartLimitBurst=

    auto c = parse_exec("Restart=on-abnormal\nRestartSec=1min 30s\nStartLimitIntervalSec=250ms\nStartLimitBurst=7\n", err);
    ASSERT_TRUE(c) << err;
    EXPECT_EQ(c->restart.policy, RestartPolicy::on_abnormal);
    EXPECT_EQ(c->restart.restart_usec, 90'000'000u);
    EXPECT_EQ(c->restart.start_limit_interval_usec, 250'000u);
    EXPECT_EQ(c->restart.start_limit_burst, 7u);
}

TEST(ARestartPolicy, RefusesWhatSystemdWouldNotTakeOrWhatCannotApply) {
    struct Case {
        const char* exec;
        const char* says;
    };
    for (const Case& k : std::vector<Case>{
             {"Restart=sometimes\n", "Restart= must be"},
             {"Restart=on-watchdog\n", "no watchdog"},
             {"RestartSec=soon\n", "RestartSec="},
             {"RestartSec=2h\n", "at most 1h"},
             {"RestartSec=\n", "RestartSec="},
             {"StartLimitBurst=0\n", "StartLimitBurst="},
             {"StartLimitBurst=5x\n", "StartLimitBurst="},
             {"StartLimitIntervalSec=-1\n", "StartLimitIntervalSec="},
         }) {
        std::string err;
        EXPECT_FALSE(parse_exec(k.exec, err)) << k.exec;
        EXPECT_NE(err.find(k.says), std::string::npos) << k.exec << ": " << err;
    }
}

TEST(ATimeSpan, AddsItsPartsInSystemdsUnits) {
    EXPECT_EQ(parse_timespan_usec("5"), 5'000'000u);
    EXPECT_EQ(parse_timespan_usec("100ms"), 100'000u);
    EXPECT_EQ(parse_timespan_usec("1h 2min 3s 4ms 5us"), 3'723'004'005u);
    EXPECT_EQ(parse_timespan_usec("2 s"), 2'000'000u);
    EXPECT_EQ(parse_timespan_usec("0"), 0u);
    EXPECT_FALSE(parse_timespan_usec(""));
    EXPECT_FALSE(parse_timespan_usec("infinity"));
    EXPECT_FALSE(parse_timespan_usec("3 fortnights"));
    EXPECT_FALSE(parse_timespan_usec("99999999999999999999s"));
}

TEST(ARestartPolicy, RestartsAfterTheEndsSystemdsTableGivesIt) {
    const std::vector<std::string> ends{"success", "exit-code", "signal", "core-dump", "timeout", "oom-kill", "spawn-failed",
                                        "start-limit-hit"};
    auto restarted = [&](RestartPolicy p) {
        std::string out;
        for (const auto& e : ends)
            if (restarts_after(p, e)) out += (out.empty() ? "" : " ") + e;
        return out;
    };
    EXPECT_EQ(restarted(RestartPolicy::no), "");
    EXPECT_EQ(restarted(RestartPolicy::always), "success exit-code signal core-dump timeout oom-kill spawn-failed");
    EXPECT_EQ(restarted(RestartPolicy::on_success), "success");
    EXPECT_EQ(restarted(RestartPolicy::on_failure), "exit-code signal core-dump timeout oom-kill spawn-failed");
    EXPECT_EQ(restarted(RestartPolicy::on_abnormal), "signal core-dump timeout oom-kill");
    EXPECT_EQ(restarted(RestartPolicy::on_abort), "signal core-dump");
}

TEST(ARestartPolicy, MayBeNarrowedPerInstanceButNeverWidened) {
    EXPECT_TRUE(restart_within(RestartPolicy::no, RestartPolicy::no));
    EXPECT_TRUE(restart_within(RestartPolicy::on_abort, RestartPolicy::on_failure));
    EXPECT_TRUE(restart_within(RestartPolicy::on_failure, RestartPolicy::always));
    EXPECT_FALSE(restart_within(RestartPolicy::always, RestartPolicy::on_failure));
    EXPECT_FALSE(restart_within(RestartPolicy::on_success, RestartPolicy::on_failure));
    EXPECT_FALSE(restart_within(RestartPolicy::on_abort, RestartPolicy::no));

    ClassConfig c;
    c.name = "R";
    c.allowed_users = {"nobody"};
    c.restart.policy = RestartPolicy::on_failure;
    c.restart.start_limit_burst = 3;
    SpawnRequest req;
    req.uid = 65534;
    EXPECT_EQ(resolve(req, Caller{0, ":1.1"}, c, 0).restart.policy, RestartPolicy::on_failure);  // the class's
    req.restart = RestartPolicy::on_abort;
    const InstanceSpec narrowed = resolve(req, Caller{0, ":1.1"}, c, 0);
    EXPECT_EQ(narrowed.restart.policy, RestartPolicy::on_abort);
    EXPECT_EQ(narrowed.restart.start_limit_burst, 3u);  // the rest stays the class's
    req.restart = RestartPolicy::always;
    try {
        (void)resolve(req, Caller{0, ":1.1"}, c, 0);
        FAIL() << "a caller widened the class's restart policy";
    } catch (const Error& e) {
        EXPECT_EQ(e.getName(), errors::access_denied);
        EXPECT_NE(e.getMessage().find("Restart=on-failure"), std::string::npos) << e.getMessage();
        EXPECT_NE(e.getMessage().find("'always'"), std::string::npos) << e.getMessage();
    }
}

}  // namespace
}  // namespace offshoot

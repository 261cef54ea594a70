// lifecycle_restart_test.cpp — the restart policy (issue 20, part 1; config/restart.hpp):
// Resilient (faulty.so under Restart=on-failure, RestartSec=100ms, StartLimitBurst=3 in 10 s)
// comes back after a crash at the same handle and address with a new MainPID, NRestarts and a
// Restarted signal, and past its start limit ends failed with start-limit-hit; SlowRestart (the
// same with RestartSec=1h) leaves a window in which Stop, Release, the owner's going and Start
// act on a pending restart. Every wait is on an event with a deadline.
#include "lifecycle_support.hpp"

#include <sys/resource.h>
#include <sys/stat.h>

namespace offshoot::test {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;

struct Restarted {
    std::string result;
    int32_t code = -1;
    uint32_t n_restarts = 0;
};

class ARestartableInstance : public DaemonTest {
protected:
    // Records the handle's Restarted and Exited signals and the States it announces.
    void watch(const std::string& path) {
        bus().match_signal(kBusName, path.c_str(), kInstanceInterface, "Restarted", [this](sd_bus_message* m) {
            Restarted r;
            const char* result = nullptr;
            if (sd_bus_message_read(m, "siu", &result, &r.code, &r.n_restarts) >= 0) {
                r.result = result;
                restarted_.push_back(r);
            }
        });
        bus().match_signal(kBusName, path.c_str(), kInstanceInterface, "Exited", [this](sd_bus_message*) { ++exited_; });
        bus().match_signal(kBusName, path.c_str(), "org.freedesktop.DBus.Properties", "PropertiesChanged",
                           [this](sd_bus_message* m) {
                               const PropertiesChanged pc = parse_properties_changed(m);
                               if (auto s = pc.changed.find("State"); s != pc.changed.end()) states_.push_back(s->second);
                           });
    }
    // Crashes the worker behind `address` (the call fails: its connection closes).
    static void crash(const std::string& address, const char* how = "segv") {
        BusClient peer(address);
        Reply r = peer.call(kObjectName, kObjectPath, kFaultyInterface, "Crash",
                            [how](sd_bus_message* m) { return sd_bus_message_append(m, "s", how); });
        EXPECT_FALSE(r.ok()) << "Crash(" << how << ") answered";
    }
    bool await_restarts(size_t n) {
        return bus().process_until([&] { return restarted_.size() >= n; }, Deadline(10s));
    }
    uint32_t n_restarts(const std::string& path) {
        return bus().get_u32_property(kBusName, path.c_str(), kInstanceInterface, "NRestarts");
    }

    std::vector<Restarted> restarted_;
    std::vector<std::string> states_;
    int exited_ = 0;
};

TEST_F(ARestartableInstance, ComesBackAfterACrashAtTheSameAddressAndIsCallableAgain) {
    SpawnReply r = spawn(bus(), "Resilient", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    watch(r.path);
    const uint32_t pid = instance_main_pid(bus(), r.path);
    EXPECT_EQ(n_restarts(r.path), 0u);
    EXPECT_EQ(bus().get_string_property(kBusName, r.path.c_str(), kInstanceInterface, "Restart"), "on-failure");

    crash(r.address);
    // Connected at once, in the restart window: the socket is offshootd's meanwhile, so this
    // waits in its backlog and the new worker answers (Hello, then the call).
    const auto crashed_at = Clock::now();
    BusClient again(r.address);
    Reply reply = again.call(kObjectName, kObjectPath, kFaultyInterface, "Throw",
                             [](sd_bus_message* m) { return sd_bus_message_append(m, "s", "back"); });
    const double took = ms_since(crashed_at);
    EXPECT_EQ(reply.error_name, "org.offshoot1.example.Faulty.Error") << reply.describe();
    EXPECT_EQ(reply.error_message, "back");
    report_figure("restart: crash → a call answered by the restarted worker (RestartSec=100ms)", took);

    ASSERT_TRUE(await_restarts(1)) << "no Restarted signal";
    // Under AddressSanitizer too: the worker leaves SIGSEGV to its default action.
    EXPECT_THAT(restarted_[0].result, AnyOf(Eq("signal"), Eq("core-dump")));
    EXPECT_EQ(restarted_[0].code, SIGSEGV);
    EXPECT_EQ(restarted_[0].n_restarts, 1u);
    EXPECT_EQ(instance_state(bus(), r.path), "running");
    EXPECT_EQ(n_restarts(r.path), 1u);
    EXPECT_EQ(instance_address(bus(), r.path), r.address);
    const uint32_t new_pid = instance_main_pid(bus(), r.path);
    EXPECT_NE(new_pid, 0u);
    EXPECT_NE(new_pid, pid);
    EXPECT_EQ(instance_result(bus(), r.path), "");  // running again
    EXPECT_EQ(exited_, 0) << "Exited was emitted for a restart";
    // running → restarting → running, announced in order.
    ASSERT_TRUE(bus().process_until([&] { return states_.size() >= 2; }, Deadline(5s)));
    EXPECT_EQ(states_, (std::vector<std::string>{"restarting", "running"}));
}

TEST_F(ARestartableInstance, EndsFailedWithStartLimitHitPastItsStartLimit) {
    SpawnReply r = spawn(bus(), "Resilient", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    watch(r.path);
    // StartLimitBurst=3 in 10 s: the first start and two restarts, then no more.
    for (size_t n = 1; n <= 2; ++n) {
        crash(r.address, n == 1 ? "abort" : "exit");
        ASSERT_TRUE(await_restarts(n)) << "restart " << n << " did not come";
    }
    EXPECT_EQ(restarted_[1].result, "exit-code");
    EXPECT_EQ(restarted_[1].code, 3);
    const std::string socket_path = r.address.substr(r.address.find('=') + 1);
    struct stat st {};
    ASSERT_EQ(::stat(socket_path.c_str(), &st), 0) << socket_path;

    crash(r.address);
    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "start-limit-hit");
    EXPECT_EQ(w.code, 0);
    EXPECT_EQ(instance_state(bus(), r.path), "failed");
    EXPECT_EQ(instance_result(bus(), r.path), "start-limit-hit");
    EXPECT_EQ(n_restarts(r.path), 2u);
    EXPECT_EQ(instance_address(bus(), r.path), "");
    EXPECT_NE(::stat(socket_path.c_str(), &st), 0) << "the socket file outlived the instance";
    EXPECT_TRUE(bus().process_until([&] { return exited_ == 1; }, Deadline(5s)));
    // A Start by hand begins again, with the count back at zero.
    ASSERT_TRUE(start_instance(bus(), r.path).ok());
    EXPECT_EQ(instance_state(bus(), r.path), "running");
    EXPECT_EQ(n_restarts(r.path), 0u);
}

// A restart that fails before its fork (here: offshootd out of descriptors) is a start like any
// other: the start limit ends the attempts, and the kept socket is not lost on the way.
TEST_F(ARestartableInstance, CountsARestartThatCouldNotForkTowardItsStartLimit) {
    SpawnReply r = spawn(bus(), "Resilient", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    watch(r.path);
    // offshootd's soft descriptor limit down to where exactly two numbers are free below it:
    // a launch takes them for its readiness channel and then fails with EMFILE before the fork
    // (the open descriptors, the bus among them, keep working). Two, not none: in the sanitizer
    // build UBSan's own checks need a pipe(2) in the handler that catches the failure.
    const pid_t daemon_pid = daemon().pid();
    int limit = 0;
    for (int free_seen = 0; free_seen < 2; ++limit) {
        struct stat st {};
        if (::stat(("/proc/" + std::to_string(daemon_pid) + "/fd/" + std::to_string(limit)).c_str(), &st) != 0) ++free_seen;
    }
    struct rlimit before {};
    ASSERT_EQ(::prlimit(daemon_pid, RLIMIT_NOFILE, nullptr, &before), 0);
    struct rlimit starved = before;
    starved.rlim_cur = static_cast<rlim_t>(limit);
    ASSERT_EQ(::prlimit(daemon_pid, RLIMIT_NOFILE, &starved, nullptr), 0);
    crash(r.address);
    // StartLimitBurst=3: the first start and two failed attempts, then start-limit-hit.
    WaitResult w = wait_instance(bus(), r.path);
    ASSERT_EQ(::prlimit(daemon_pid, RLIMIT_NOFILE, &before, nullptr), 0);
    EXPECT_EQ(w.result, "start-limit-hit");
    EXPECT_EQ(n_restarts(r.path), 2u);
    EXPECT_TRUE(restarted_.empty());
    // With descriptors again, the handle starts by hand as ever.
    ASSERT_TRUE(start_instance(bus(), r.path).ok());
    EXPECT_EQ(instance_state(bus(), r.path), "running");
}

TEST_F(ARestartableInstance, IsStoppedForGoodByStopWhileItsRestartIsPending) {
    SpawnReply r = spawn(bus(), "SlowRestart", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    watch(r.path);
    crash(r.address);
    ASSERT_TRUE(bus().process_until([&] { return !states_.empty(); }, Deadline(5s)));
    EXPECT_EQ(instance_state(bus(), r.path), "restarting");
    EXPECT_EQ(instance_address(bus(), r.path), r.address);  // kept for the restart
    EXPECT_EQ(instance_main_pid(bus(), r.path), 0u);
    // Wait does not return for a restart…
    CallInFlight waiting(bus(), kBusName, r.path.c_str(), kInstanceInterface, "Wait", nullptr);
    EXPECT_FALSE(waiting.wait(Deadline(200ms))) << "Wait returned while a restart was pending";
    // …Kill has no process to signal…
    EXPECT_EQ(kill_instance(bus(), r.path, SIGTERM).error_name, kNotRunning);
    // …and Stop calls the restart off.
    ASSERT_TRUE(stop_instance(bus(), r.path).ok());
    ASSERT_TRUE(waiting.wait(Deadline(5s))) << "Wait still waiting after Stop";
    EXPECT_EQ(instance_state(bus(), r.path), "failed");
    EXPECT_THAT(instance_result(bus(), r.path), AnyOf(Eq("signal"), Eq("core-dump")));
    EXPECT_EQ(instance_address(bus(), r.path), "");
    EXPECT_EQ(n_restarts(r.path), 0u);
    EXPECT_TRUE(restarted_.empty());
}

TEST_F(ARestartableInstance, IsForgottenByReleaseWhileItsRestartIsPending) {
    SpawnReply r = spawn(bus(), "SlowRestart", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    watch(r.path);
    crash(r.address);
    ASSERT_TRUE(bus().process_until([&] { return !states_.empty(); }, Deadline(5s)));
    ASSERT_TRUE(release_instance(bus(), r.path).ok());
    EXPECT_EQ(instance_count(bus()), 0u);
    const std::string socket_path = r.address.substr(r.address.find('=') + 1);
    struct stat st {};
    EXPECT_NE(::stat(socket_path.c_str(), &st), 0) << "the socket file outlived the handle";
}

TEST_F(ARestartableInstance, TiedToItsCallerEndsWithThemEvenWhileARestartIsPending) {
    auto owner = std::make_unique<BusClient>(bus_address());
    SpawnReply r = spawn_with_options(*owner, "SlowRestart", {{"uid", kNobody}, {"tie-to-caller", true}});
    ASSERT_TRUE(r.ok()) << r.describe();
    watch(r.path);
    crash(r.address);
    ASSERT_TRUE(bus().process_until([&] { return !states_.empty(); }, Deadline(5s)));
    EXPECT_EQ(instance_state(bus(), r.path), "restarting");
    owner.reset();  // the owner's connection closes
    EXPECT_TRUE(bus().process_until([&] { return instance_count(bus()) == 0; }, Deadline(5s)))
        << "the handle outlived its owner";
}

TEST_F(ARestartableInstance, AnswersAStartDuringThePendingRestartOnlyAfterIt) {
    SpawnReply r = spawn(bus(), "SlowRestart", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    watch(r.path);
    crash(r.address);
    ASSERT_TRUE(bus().process_until([&] { return !states_.empty(); }, Deadline(5s)));
    // An hour's RestartSec=: a Start waits for it, as systemd's start job waits out an
    // auto-restart — any number of them.
    CallInFlight start(bus(), kBusName, r.path.c_str(), kInstanceInterface, "Start", nullptr);
    CallInFlight second(bus(), kBusName, r.path.c_str(), kInstanceInterface, "Start", nullptr);
    EXPECT_FALSE(start.wait(Deadline(200ms))) << "Start returned before the restart";
    EXPECT_FALSE(second.wait(Deadline(10ms))) << "a second Start returned before the restart";
    // Stop ends it for good; the waiting Starts learn why.
    ASSERT_TRUE(stop_instance(bus(), r.path).ok());
    for (CallInFlight* c : {&start, &second}) {
        ASSERT_TRUE(c->wait(Deadline(5s)));
        EXPECT_EQ(c->error_name(), errors::spawn_failed);
        EXPECT_THAT(c->error_message(), HasSubstr("will not be restarted: it was stopped"));
    }
}

TEST_F(ARestartableInstance, UntiedOutlivesItsOwnerAlsoWhileARestartIsPending) {
    auto owner = std::make_unique<BusClient>(bus_address());
    SpawnReply r = spawn_with_options(*owner, "SlowRestart", {{"uid", kNobody}, {"tie-to-caller", false}});
    ASSERT_TRUE(r.ok()) << r.describe();
    watch(r.path);
    crash(r.address);
    ASSERT_TRUE(bus().process_until([&] { return !states_.empty(); }, Deadline(5s)));
    // A tied instance of the same owner: its handle's going shows that offshootd has acted
    // on the owner's disconnect.
    SpawnReply tied = spawn_with_options(*owner, "Counter", {{"uid", kNobody}, {"tie-to-caller", true}});
    ASSERT_TRUE(tied.ok()) << tied.describe();
    std::vector<std::string> removed;
    bus().match_signal(kBusName, kSupervisorPath, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
                       [&](sd_bus_message* m) {
                           const char* path = nullptr;
                           if (sd_bus_message_read(m, "o", &path) >= 0) removed.emplace_back(path);
                       });
    CallInFlight waiting(bus(), kBusName, r.path.c_str(), kInstanceInterface, "Wait", nullptr);
    owner.reset();
    ASSERT_TRUE(bus().process_until([&] { return !removed.empty(); }, Deadline(5s)))
        << "the tied instance outlived its owner";
    EXPECT_EQ(removed, (std::vector<std::string>{tied.path}));
    EXPECT_EQ(instance_count(bus()), 1u);
    // The untied one stays, restarting, as a running one would; its Wait is still unanswered.
    EXPECT_EQ(instance_state(bus(), r.path), "restarting");
    EXPECT_FALSE(waiting.wait(Deadline(10ms)));
    ASSERT_TRUE(stop_instance(bus(), r.path).ok());  // (as root)
    EXPECT_TRUE(waiting.wait(Deadline(5s)));
}

TEST_F(ARestartableInstance, TakesANarrowerPolicyPerInstanceButNeverAWiderOne) {
    SpawnReply wider = spawn_with_options(bus(), "Resilient", {{"uid", kNobody}, {"restart", std::string("always")}});
    EXPECT_EQ(wider.error_name, errors::access_denied);
    EXPECT_THAT(wider.error_message, HasSubstr("Restart=on-failure"));
    SpawnReply none = spawn_with_options(bus(), "Faulty", {{"uid", kNobody}, {"restart", std::string("on-abort")}});
    EXPECT_EQ(none.error_name, errors::access_denied);
    SpawnReply bogus = spawn_with_options(bus(), "Resilient", {{"uid", kNobody}, {"restart", std::string("often")}});
    EXPECT_EQ(bogus.error_name, errors::invalid_argument);

    // restart=no: a crash ends it, as it would any class without a policy.
    SpawnReply r = spawn_with_options(bus(), "Resilient", {{"uid", kNobody}, {"restart", std::string("no")}});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(bus().get_string_property(kBusName, r.path.c_str(), kInstanceInterface, "Restart"), "no");
    crash(r.address);
    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_THAT(w.result, AnyOf(Eq("signal"), Eq("core-dump")));
    EXPECT_EQ(instance_state(bus(), r.path), "failed");
    EXPECT_EQ(n_restarts(r.path), 0u);

    // on-abort: an exit is no abort.
    SpawnReply a = spawn_with_options(bus(), "Resilient", {{"uid", kNobody}, {"restart", std::string("on-abort")}});
    ASSERT_TRUE(a.ok()) << a.describe();
    crash(a.address, "exit");
    EXPECT_EQ(wait_instance(bus(), a.path).result, "exit-code");
}

}  // namespace
}  // namespace offshoot::test

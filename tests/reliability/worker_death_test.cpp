// worker_death_test.cpp — issue 8 item 3: a worker killed from outside (SIGKILL, SIGSEGV,
// SIGABRT sent by another process, as the OOM killer or an administrator would) while a call to
// it is in flight: the caller's call fails in < 1 s, the handle goes to "failed" with the Result
// the signal implies, and Exited says the same.
//
// lifecycle_crash_test.cpp covers deaths the worker causes itself (Faulty.Crash) and SIGKILL
// through Instance.Kill; here the signal comes from outside offshootd. The worker is stopped
// (SIGSTOP) before the call is sent, so the call is certainly in flight when the signal lands;
// SIGCONT then lets a catchable signal take effect.
#include <signal.h>

#include "reliability_support.hpp"

namespace offshoot::test {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;

struct DeathCase {
    const char* name;
    int signal;
};

class AWorkerKilledFromOutsideMidCall : public DaemonTest, public ::testing::WithParamInterface<DeathCase> {};

TEST_P(AWorkerKilledFromOutsideMidCall, FailsTheCallWithinOneSecondAndEndsFailedWithTheSignalsResult) {
    const DeathCase c = GetParam();
    SpawnReply r = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    const auto pid = static_cast<pid_t>(instance_main_pid(bus(), r.path));
    ASSERT_GT(pid, 0);
    std::vector<std::pair<std::string, int32_t>> exited;
    Clock::time_point exited_at{};
    bus().match_signal(kBusName, r.path.c_str(), kInstanceInterface, "Exited", [&](sd_bus_message* m) {
        const char* result = nullptr;
        int32_t code = -1;
        if (sd_bus_message_read(m, "si", &result, &code) >= 0) exited.emplace_back(result, code);
        exited_at = Clock::now();
    });

    BusClient peer(r.address);  // method calls time out after 20 s
    ASSERT_EQ(counter_increment(peer, 5), 5);
    ASSERT_EQ(::kill(pid, SIGSTOP), 0);
    CallInFlight call(peer, kCounterInterface, "Get");

    const auto killed_at = Clock::now();
    ASSERT_EQ(::kill(pid, c.signal), 0);
    if (c.signal != SIGKILL) {
        ASSERT_EQ(::kill(pid, SIGCONT), 0);
    }
    ASSERT_TRUE(call.wait(Deadline(5s))) << "the call is still waiting 5 s after the signal";
    const double call_failed = ms_between(killed_at, call.answered_at());
    EXPECT_EQ(call.reply(), nullptr) << "a killed worker answered";
    EXPECT_NE(call.error_name(), "");
    EXPECT_LT(call_failed, 1000.0) << call.error_name() << ": " << call.error_message();
    report_figure((std::string("external ") + c.name + " of a worker → the in-flight call fails (" +
                   call.error_name() + ")").c_str(),
                  call_failed);

    EXPECT_TRUE(bus().process_until([&] { return !exited.empty(); }, Deadline(5s))) << "no Exited signal";
    if (!exited.empty()) {
        const double exited_after = ms_between(killed_at, exited_at);
        EXPECT_LT(exited_after, 1000.0);
        report_figure((std::string("external ") + c.name + " of a worker → Exited received").c_str(), exited_after);
    }
    WaitResult w = wait_instance(bus(), r.path);
    ASSERT_EQ(w.error, "");
    // (In the sanitizer build too: the worker leaves SIGSEGV and SIGABRT to their default
    // action, see daemon/offshoot-worker/main.cpp.)
    if (c.signal == SIGKILL) {
        EXPECT_EQ(w.result, "signal");
        EXPECT_EQ(w.code, SIGKILL);
    } else {
        EXPECT_THAT(w.result, AnyOf(Eq("signal"), Eq("core-dump")));
        EXPECT_EQ(w.code, c.signal);
        EXPECT_EQ(instance_exit_signal(bus(), r.path), c.signal);
    }
    EXPECT_EQ(instance_state(bus(), r.path), "failed");
    EXPECT_EQ(instance_result(bus(), r.path), w.result);
    EXPECT_EQ(exited, (std::vector<std::pair<std::string, int32_t>>{{w.result, w.code}}));
}

INSTANTIATE_TEST_SUITE_P(Signals, AWorkerKilledFromOutsideMidCall,
                         ::testing::Values(DeathCase{"SIGKILL", SIGKILL}, DeathCase{"SIGSEGV", SIGSEGV},
                                           DeathCase{"SIGABRT", SIGABRT}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace offshoot::test

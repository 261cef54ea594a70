// lifecycle_crash_test.cpp — crash reporting: a worker that dies mid-call (the Faulty example:
// SIGSEGV, abort, exit; or SIGKILL from outside) fails the call in flight at once, not after a
// method-call timeout; the instance goes to "failed" with the Result, ExitSignal/ExitCode and
// Exited signal that say how it ended. Exceptions thrown by methods reach the caller with their
// D-Bus error name and never end the worker.
//
// Core dumps: whether the kernel writes one (Result "core-dump" rather than "signal") depends
// on the RLIMIT_CORE offshootd passes down and on core_pattern, so both are accepted. Under
// AddressSanitizer the worker's SIGSEGV is caught by ASan, which exits 1 instead.
#include "lifecycle_support.hpp"

namespace offshoot::test {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;

struct CrashCase {
    const char* how;
    int signal;     // 0: an exit
    int exit_code;  // for an exit
};

class AWorkerThatCrashesMidCall : public DaemonTest, public ::testing::WithParamInterface<CrashCase> {};

TEST_P(AWorkerThatCrashesMidCall, FailsTheCallAtOnceAndReportsHowItEnded) {
    const CrashCase c = GetParam();
    SpawnReply r = spawn(bus(), "Faulty", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    std::vector<std::pair<std::string, int32_t>> exited;
    bus().match_signal(kBusName, r.path.c_str(), kInstanceInterface, "Exited", [&](sd_bus_message* m) {
        const char* result = nullptr;
        int32_t code = -1;
        if (sd_bus_message_read(m, "si", &result, &code) >= 0) exited.emplace_back(result, code);
    });

    BusClient peer(r.address);  // method calls time out after 20 s
    const auto t0 = Clock::now();
    Reply reply = peer.call(kObjectName, kObjectPath, kFaultyInterface, "Crash",
                            [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", c.how); });
    const double took = ms_since(t0);
    EXPECT_FALSE(reply.ok());
    EXPECT_LT(took, 1000.0) << "the call failed only after " << took << " ms: " << reply.describe();
    report_figure((std::string("Crash(\"") + c.how + "\") → the caller's error").c_str(), took);

    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(instance_state(bus(), r.path), "failed");
    // (In the sanitizer build too: the worker leaves SIGSEGV and SIGABRT to their default
    // action, see daemon/offshoot-worker/main.cpp.)
    if (c.signal) {
        EXPECT_THAT(w.result, AnyOf(Eq("signal"), Eq("core-dump")));
        EXPECT_EQ(w.code, c.signal);
        EXPECT_EQ(instance_exit_signal(bus(), r.path), c.signal);
        EXPECT_EQ(instance_exit_code(bus(), r.path), 0);
    } else {
        EXPECT_EQ(w.result, "exit-code");
        EXPECT_EQ(w.code, c.exit_code);
        EXPECT_EQ(instance_exit_code(bus(), r.path), w.code);
        EXPECT_EQ(instance_exit_signal(bus(), r.path), 0);
    }
    EXPECT_TRUE(bus().process_until([&] { return !exited.empty(); }, Deadline(5s)));
    EXPECT_EQ(exited, (std::vector<std::pair<std::string, int32_t>>{{w.result, w.code}}));
}

INSTANTIATE_TEST_SUITE_P(Faulty, AWorkerThatCrashesMidCall,
                         ::testing::Values(CrashCase{"segv", SIGSEGV, 0}, CrashCase{"abort", SIGABRT, 0},
                                           CrashCase{"exit", 0, 3}),
                         [](const auto& info) { return std::string(info.param.how); });

class AWorkerKilledWithSigkill : public DaemonTest {};

TEST_F(AWorkerKilledWithSigkill, FailsTheCallInFlightWithinOneSecond) {
    SpawnReply r = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    BusClient peer(r.address);
    // Stopped, the worker cannot answer: the call stays in flight until the SIGKILL.
    ASSERT_TRUE(kill_instance(bus(), r.path, SIGSTOP).ok());
    CallInFlight call(peer, kCounterInterface, "Get");
    EXPECT_FALSE(call.wait(Deadline(100ms))) << "a stopped worker answered";

    const auto killed_at = Clock::now();
    ASSERT_TRUE(kill_instance(bus(), r.path, SIGKILL).ok());
    ASSERT_TRUE(call.wait(Deadline(5s))) << "the call is still waiting 5 s after the SIGKILL";
    const double took = ms_between(killed_at, call.answered_at());
    EXPECT_NE(call.error_name(), "");
    EXPECT_LT(took, 1000.0);
    report_figure("worker SIGKILL → the caller's in-flight call fails", took);

    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "signal");
    EXPECT_EQ(w.code, SIGKILL);
    EXPECT_EQ(instance_exit_signal(bus(), r.path), SIGKILL);
}

class AMethodThatThrows : public DaemonTest {};

TEST_F(AMethodThatThrows, ReachesTheCallerAsTheClassErrorAndTheWorkerSurvives) {
    SpawnReply r = spawn(bus(), "Faulty", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    const uint32_t pid = instance_main_pid(bus(), r.path);
    BusClient peer(r.address);
    for (const char* message : {"first", "second: still here"}) {
        Reply reply = peer.call(kObjectName, kObjectPath, kFaultyInterface, "Throw",
                                [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", message); });
        EXPECT_EQ(reply.error_name, "org.offshoot1.example.Faulty.Error");
        EXPECT_EQ(reply.error_message, message);
    }
    Reply unknown = peer.call(kObjectName, kObjectPath, kFaultyInterface, "Crash",
                              [](sd_bus_message* m) { return sd_bus_message_append(m, "s", "gently"); });
    EXPECT_EQ(unknown.error_name, "org.freedesktop.DBus.Error.InvalidArgs");
    EXPECT_THAT(unknown.error_message, HasSubstr("gently"));
    EXPECT_EQ(instance_state(bus(), r.path), "running");
    EXPECT_EQ(instance_main_pid(bus(), r.path), pid);
}

}  // namespace
}  // namespace offshoot::test

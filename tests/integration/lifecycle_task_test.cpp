// lifecycle_task_test.cpp — tasks end to end, with the Sleeper example: run()'s return value
// becomes the instance's Result and ExitCode; Wait returns it while the task runs, long after it
// ended, and to several callers at once; the object answers while run() runs; Stop cuts a task
// short in stop mode "terminate" and waits for it to finish in stop mode "wait".
#include "lifecycle_support.hpp"

#include <list>

namespace offshoot::test {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

SpawnReply spawn_sleeper(BusClient& bus, std::vector<std::string> arguments, SpawnOptions more = {}) {
    SpawnOptions options = {{"uid", kNobody}, {"arguments", std::move(arguments)}};
    options.insert(options.end(), more.begin(), more.end());
    return spawn_with_options(bus, "Sleeper", options);
}

class ASleeper : public DaemonTest {};

TEST_F(ASleeper, ExitsWithSuccessOnceItsTimeIsUp) {
    const auto t0 = Clock::now();
    SpawnReply r = spawn_sleeper(bus(), {"200", "0"});
    ASSERT_TRUE(r.ok()) << r.describe();
    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_GE(ms_since(t0), 200.0);
    EXPECT_EQ(w.error, "");
    EXPECT_EQ(w.result, "success");
    EXPECT_EQ(w.code, 0);
    EXPECT_EQ(instance_state(bus(), r.path), "exited");
    EXPECT_EQ(instance_result(bus(), r.path), "success");
    EXPECT_EQ(instance_exit_code(bus(), r.path), 0);
    EXPECT_EQ(instance_main_pid(bus(), r.path), 0u);
}

TEST_F(ASleeper, ExitsWithItsExitCodeWhichTheInstanceAndExitedReport) {
    std::vector<std::pair<std::string, int32_t>> exited;
    bus().match_signal(kBusName, nullptr, kInstanceInterface, "Exited", [&](sd_bus_message* m) {
        const char* result = nullptr;
        int32_t code = -1;
        if (sd_bus_message_read(m, "si", &result, &code) >= 0) exited.emplace_back(result, code);
    });
    SpawnReply r = spawn_sleeper(bus(), {"100", "3"});
    ASSERT_TRUE(r.ok()) << r.describe();
    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "exit-code");
    EXPECT_EQ(w.code, 3);
    EXPECT_EQ(instance_state(bus(), r.path), "failed");
    EXPECT_EQ(instance_result(bus(), r.path), "exit-code");
    EXPECT_EQ(instance_exit_code(bus(), r.path), 3);
    EXPECT_EQ(instance_exit_signal(bus(), r.path), 0);
    EXPECT_TRUE(bus().process_until([&] { return !exited.empty(); }, Deadline(5s)));
    EXPECT_THAT(exited, ElementsAre(Pair("exit-code", 3)));
}

TEST_F(ASleeper, AnswersRemainingWhileItSleeps) {
    SpawnReply r = spawn_sleeper(bus(), {"5000", "0"});
    ASSERT_TRUE(r.ok()) << r.describe();
    BusClient peer(r.address);
    const uint64_t first = call_t(peer, kSleeperInterface, "Remaining");
    EXPECT_GT(first, 0u);
    EXPECT_LE(first, 5000u);
    const uint64_t second = call_t(peer, kSleeperInterface, "Remaining");
    EXPECT_LE(second, first);
    EXPECT_EQ(instance_state(bus(), r.path), "running");
}

TEST_F(ASleeper, IsReadyBeforeItEndsEvenWhenItHasNothingToDo) {
    // run() may return before offshootd has read READY=1: the Spawn still succeeds.
    for (int i = 0; i < 10; ++i) {
        SpawnReply r = spawn_sleeper(bus(), {"0", "0"});
        ASSERT_TRUE(r.ok()) << "round " << i << ": " << r.describe();
        WaitResult w = wait_instance(bus(), r.path);
        EXPECT_EQ(w.result, "success") << "round " << i;
        ASSERT_TRUE(release_instance(bus(), r.path).ok());
    }
}

class WaitOnATask : public DaemonTest {};

TEST_F(WaitOnATask, ReturnsTheSameResultLongAfterTheExit) {
    SpawnReply r = spawn_sleeper(bus(), {"0", "5"});
    ASSERT_TRUE(r.ok()) << r.describe();
    WaitResult first = wait_instance(bus(), r.path);
    ASSERT_EQ(first.result, "exit-code");
    // Other instances come and go meanwhile.
    for (int i = 0; i < 3; ++i) {
        SpawnReply other = spawn_sleeper(bus(), {"100", "0"});
        ASSERT_TRUE(other.ok()) << other.describe();
        EXPECT_EQ(wait_instance(bus(), other.path).result, "success");
        ASSERT_TRUE(release_instance(bus(), other.path).ok());
    }
    WaitResult later = wait_instance(bus(), r.path);
    EXPECT_EQ(later.result, "exit-code");
    EXPECT_EQ(later.code, 5);
}

TEST_F(WaitOnATask, AnswersSeveralCallersWaitingAtTheSameTime) {
    SpawnReply r = spawn_sleeper(bus(), {"300", "6"});
    ASSERT_TRUE(r.ok()) << r.describe();
    std::list<BusClient> clients;
    std::list<CallInFlight> waits;
    for (int i = 0; i < 4; ++i) {
        clients.emplace_back(daemon().address());
        waits.emplace_back(clients.back(), kBusName, r.path.c_str(), kInstanceInterface, "Wait", nullptr);
    }
    // While they wait, the task is still running.
    EXPECT_EQ(instance_state(bus(), r.path), "running");
    int n = 0;
    for (auto& w : waits) {
        ASSERT_TRUE(w.wait(Deadline(10s))) << "waiter " << n << " got no answer";
        ASSERT_NE(w.reply(), nullptr) << w.error_name() << ": " << w.error_message();
        const char* result = nullptr;
        int32_t code = -1;
        ASSERT_GE(sd_bus_message_read(w.reply(), "si", &result, &code), 0);
        EXPECT_STREQ(result, "exit-code") << "waiter " << n;
        EXPECT_EQ(code, 6) << "waiter " << n;
        ++n;
    }
}

class ATaskInStopModeTerminate : public DaemonTest {};

TEST_F(ATaskInStopModeTerminate, IsCutShortByStopAndEndsWithSuccess) {
    SpawnReply r = spawn_sleeper(bus(), {"60000", "5"});
    ASSERT_TRUE(r.ok()) << r.describe();
    const auto t0 = Clock::now();
    Reply stopped = stop_instance(bus(), r.path);
    ASSERT_TRUE(stopped.ok()) << stopped.describe();
    EXPECT_LT(ms_since(t0), 1000.0);
    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "success");
    EXPECT_EQ(w.code, 0);
    EXPECT_EQ(instance_exit_code(bus(), r.path), 0);
}

class ATaskInStopModeWait : public DaemonTest {};

TEST_F(ATaskInStopModeWait, MakesStopReturnOnlyOnceRunHasFinished) {
    const auto t0 = Clock::now();
    SpawnReply r = spawn_sleeper(bus(), {"500", "0"}, {{"stop-mode", std::string("wait")}});
    ASSERT_TRUE(r.ok()) << r.describe();
    Reply stopped = stop_instance(bus(), r.path);
    const double took = ms_since(t0);
    ASSERT_TRUE(stopped.ok()) << stopped.describe();
    EXPECT_GE(took, 500.0);
    report_figure("Stop of a 500 ms Sleeper in stop mode wait, from Spawn", took);
    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "success");
    EXPECT_EQ(w.code, 0);
    EXPECT_EQ(instance_exit_code(bus(), r.path), 0);
    EXPECT_EQ(instance_state(bus(), r.path), "exited");
}

TEST_F(ATaskInStopModeWait, KeepsItsOwnExitCodeWhenStopped) {
    SpawnReply r = spawn_sleeper(bus(), {"200", "4"}, {{"stop-mode", std::string("wait")}});
    ASSERT_TRUE(r.ok()) << r.describe();
    ASSERT_TRUE(stop_instance(bus(), r.path).ok());
    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "exit-code");
    EXPECT_EQ(w.code, 4);
}

}  // namespace
}  // namespace offshoot::test

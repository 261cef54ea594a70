// lifecycle_hooks_test.cpp — a class's start() and stop() hooks, end to end: a start() that
// throws fails the Spawn with SpawnFailed carrying its message and leaves nothing behind; stop()
// runs on Stop, after which the process exits 0; a stop() that never returns is cut short by
// SIGKILL once the instance's stop timeout has passed (Result "timeout").
#include "lifecycle_support.hpp"

namespace offshoot::test {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

class AClassWithHooks : public DaemonWithProbeTest {};

TEST_F(AClassWithHooks, FailsTheSpawnWithSpawnFailedCarryingStartsMessageAndLeavesNothingBehind) {
    SpawnReply r = spawn_with_options(
        bus(), "Probe", {{"uid", kNobody}, {"arguments", std::vector<std::string>{"start-throws=the disk is full"}}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error_name, kSpawnFailed);
    // docs/lifecycle.md: "start: <error name>: <message>" — the class's own error name is kept.
    EXPECT_EQ(r.error_message, "start: org.offshoot1.test.Error.Start: the disk is full");
    // The reply comes once offshootd has reaped the worker: nothing is left at that moment.
    EXPECT_THAT(children_of(daemon().pid()), IsEmpty());
    EXPECT_THAT(list_instances(bus()), IsEmpty());
    EXPECT_EQ(instance_count(bus()), 0u);
    const auto sockets = daemon().runtime_dir() / "instances";
    EXPECT_TRUE(!std::filesystem::exists(sockets) || std::filesystem::is_empty(sockets))
        << "a socket is left in " << sockets;
}

TEST_F(AClassWithHooks, FailsTheSpawnWithTheConstructorsErrorNameAndMessage) {
    SpawnReply r = spawn_with_options(
        bus(), "Probe", {{"uid", kNobody}, {"arguments", std::vector<std::string>{"create-throws=asked to refuse"}}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error_name, kSpawnFailed);
    EXPECT_EQ(r.error_message, "create-object: org.offshoot1.test.Error.Create: asked to refuse");
    EXPECT_THAT(list_instances(bus()), IsEmpty());
}

TEST_F(AClassWithHooks, RunsStopWhenStoppedAndThenExitsZero) {
    TempDir dir("offshoot-stop", 0777);  // nobody writes the file
    const auto stop_file = dir / "stopped";
    SpawnReply r = spawn_with_options(
        bus(), "Probe", {{"uid", kNobody}, {"arguments", std::vector<std::string>{"stop-file=" + stop_file.string()}}});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_FALSE(std::filesystem::exists(stop_file)) << "stop() ran before Stop";

    Reply stopped = stop_instance(bus(), r.path);
    ASSERT_TRUE(stopped.ok()) << stopped.describe();
    // Stop returned: the process is gone, so the hook has run.
    EXPECT_EQ(read_text_file(stop_file), "stopped\n");
    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "success");
    EXPECT_EQ(w.code, 0);
    EXPECT_EQ(instance_exit_code(bus(), r.path), 0);
    EXPECT_EQ(instance_state(bus(), r.path), "exited");
}

TEST_F(AClassWithHooks, IsKilledWhenStopHangsPastTheStopTimeoutAndReportsTimeout) {
    SpawnReply r = spawn_with_options(bus(), "Probe",
                                      {{"uid", kNobody},
                                       {"arguments", std::vector<std::string>{"stop-hangs=yes"}},
                                       {"stop-timeout-usec", uint64_t{300'000}}});
    ASSERT_TRUE(r.ok()) << r.describe();
    PidWatch process(static_cast<pid_t>(instance_main_pid(bus(), r.path)));
    ASSERT_TRUE(process.valid());

    const auto t0 = Clock::now();
    Reply stopped = stop_instance(bus(), r.path);
    const double took = ms_since(t0);
    ASSERT_TRUE(stopped.ok()) << stopped.describe();
    report_figure("Stop of a hanging stop() with stop-timeout-usec=300000", took);
    EXPECT_GE(took, 295.0);  // timer slack only
    EXPECT_LT(took, 1000.0);
    EXPECT_TRUE(process.gone(Deadline(0ms)));

    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "timeout");
    EXPECT_EQ(w.code, SIGKILL);
    EXPECT_EQ(instance_state(bus(), r.path), "failed");
    EXPECT_EQ(instance_result(bus(), r.path), "timeout");
    EXPECT_EQ(instance_exit_signal(bus(), r.path), SIGKILL);
}

class ATaskWithBadArguments : public DaemonTest {};

TEST_F(ATaskWithBadArguments, FailsTheSpawnWithSpawnFailedSayingWhatIsExpected) {
    SpawnReply r = spawn_with_options(
        bus(), "Sleeper", {{"uid", kNobody}, {"arguments", std::vector<std::string>{"soon", "0"}}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error_name, kSpawnFailed);
    EXPECT_THAT(r.error_message, HasSubstr("Sleeper takes arguments [milliseconds, exit-code]"));
    EXPECT_THAT(r.error_message, HasSubstr("'soon'"));
    EXPECT_THAT(list_instances(bus()), IsEmpty());
    EXPECT_THAT(children_of(daemon().pid()), IsEmpty());
}

}  // namespace
}  // namespace offshoot::test

// lifecycle_control_test.cpp — Kill(i signal) sends the signal to the instance's process (and
// is refused without one or for a number that is no signal); Release forgets a finished handle
// and stops a running one first.
#include "lifecycle_support.hpp"

namespace offshoot::test {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

class KillOnAnInstance : public DaemonTest {};

TEST_F(KillOnAnInstance, SendsSigkillWhichEndsItWithResultSignal) {
    SpawnReply r = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    Reply killed = kill_instance(bus(), r.path, SIGKILL);
    ASSERT_TRUE(killed.ok()) << killed.describe();
    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "signal");
    EXPECT_EQ(w.code, SIGKILL);
    EXPECT_EQ(instance_state(bus(), r.path), "failed");
    EXPECT_EQ(instance_exit_signal(bus(), r.path), SIGKILL);
    EXPECT_EQ(instance_exit_code(bus(), r.path), 0);
}

TEST_F(KillOnAnInstance, SendsTheSignalItIsGivenEvenOneTheWorkerHandles) {
    // SIGTERM through Kill is a stop request the worker honours: stop(), exit 0.
    SpawnReply r = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    ASSERT_TRUE(kill_instance(bus(), r.path, SIGTERM).ok());
    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "success");
    EXPECT_EQ(w.code, 0);
    // And one it does not handle ends it by that signal.
    ASSERT_TRUE(start_instance(bus(), r.path).ok());
    ASSERT_TRUE(kill_instance(bus(), r.path, SIGUSR1).ok());
    w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "signal");
    EXPECT_EQ(w.code, SIGUSR1);
}

TEST_F(KillOnAnInstance, IsRefusedWhenThereIsNoProcess) {
    SpawnReply r = spawn_with_options(bus(), "Sleeper",
                                      {{"uid", kNobody}, {"arguments", std::vector<std::string>{"0"}}});
    ASSERT_TRUE(r.ok()) << r.describe();
    ASSERT_EQ(wait_instance(bus(), r.path).result, "success");
    Reply killed = kill_instance(bus(), r.path, SIGKILL);
    EXPECT_EQ(killed.error_name, kNotRunning) << killed.describe();
}

TEST_F(KillOnAnInstance, IsRefusedForANumberThatIsNoSignal) {
    SpawnReply r = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    for (int32_t bad : {0, -9, 65, 1000}) {
        Reply killed = kill_instance(bus(), r.path, bad);
        EXPECT_EQ(killed.error_name, kInvalidArgument) << bad << ": " << killed.describe();
    }
    EXPECT_EQ(instance_state(bus(), r.path), "running");
}

class ReleaseOnAnInstance : public DaemonTest {};

TEST_F(ReleaseOnAnInstance, ForgetsAFinishedHandle) {
    SpawnReply r = spawn_with_options(bus(), "Sleeper",
                                      {{"uid", kNobody}, {"arguments", std::vector<std::string>{"0", "2"}}});
    ASSERT_TRUE(r.ok()) << r.describe();
    ASSERT_EQ(wait_instance(bus(), r.path).result, "exit-code");
    // Kept after the exit: the handle still answers.
    EXPECT_EQ(instance_state(bus(), r.path), "failed");
    EXPECT_EQ(instance_count(bus()), 1u);

    Reply released = release_instance(bus(), r.path);
    ASSERT_TRUE(released.ok()) << released.describe();
    EXPECT_EQ(instance_count(bus()), 0u);
    EXPECT_THAT(list_instances(bus()), IsEmpty());
    Reply gone = bus().call(kBusName, r.path.c_str(), kInstanceInterface, "Wait");
    EXPECT_FALSE(gone.ok());
}

TEST_F(ReleaseOnAnInstance, StopsARunningInstanceFirst) {
    TempDir dir("offshoot-ticker", 0777);
    SpawnReply r = spawn_with_options(bus(), "Ticker",
                                      {{"uid", kNobody}, {"cwd", dir.str()},
                                       {"arguments", std::vector<std::string>{"60000"}}});
    ASSERT_TRUE(r.ok()) << r.describe();
    PidWatch process(static_cast<pid_t>(instance_main_pid(bus(), r.path)));
    ASSERT_TRUE(process.valid());

    Reply released = release_instance(bus(), r.path);
    ASSERT_TRUE(released.ok()) << released.describe();
    // Release returned: the process is gone and was stopped the clean way (end() ran).
    EXPECT_TRUE(process.gone(Deadline(0ms)));
    EXPECT_EQ(read_text_file(dir / "ticker-end"), "1\n");
    EXPECT_THAT(list_instances(bus()), IsEmpty());
    EXPECT_THAT(children_of(daemon().pid()), IsEmpty());
}

}  // namespace
}  // namespace offshoot::test

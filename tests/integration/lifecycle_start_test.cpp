// lifecycle_start_test.cpp — explicit start: SpawnWithOptions {"start": false} creates a handle
// in state "created" with no process and no address; Start() launches it and returns once it
// is callable; Start() on a finished instance launches a fresh process on the same handle.
#include "lifecycle_support.hpp"

namespace offshoot::test {
namespace {

class AnInstanceSpawnedWithoutStart : public DaemonTest {};

TEST_F(AnInstanceSpawnedWithoutStart, HasAHandleButNoProcessAndNoAddressUntilStarted) {
    SpawnReply r = spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"start", false}});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.address, "");
    EXPECT_EQ(instance_state(bus(), r.path), "created");
    EXPECT_EQ(instance_main_pid(bus(), r.path), 0u);
    EXPECT_EQ(instance_address(bus(), r.path), "");
    EXPECT_EQ(instance_result(bus(), r.path), "");
    EXPECT_THAT(children_of(daemon().pid()), ::testing::IsEmpty());
    // Nothing to wait for yet: Wait answers at once, with an empty result.
    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.error, "");
    EXPECT_EQ(w.result, "");

    Reply started = start_instance(bus(), r.path);
    ASSERT_TRUE(started.ok()) << started.describe();
    // Start returned: the object is callable at once.
    EXPECT_EQ(instance_state(bus(), r.path), "running");
    const uint32_t pid = instance_main_pid(bus(), r.path);
    EXPECT_GT(pid, 0u);
    const std::string address = instance_address(bus(), r.path);
    ASSERT_NE(address, "");
    BusClient peer(address);
    EXPECT_TRUE(peer.call(kObjectName, kObjectPath, kCounterInterface, "Get").ok());
}

class AFinishedInstance : public DaemonTest {};

TEST_F(AFinishedInstance, StartsAFreshProcessOnTheSameHandle) {
    SpawnReply r = spawn_with_options(
        bus(), "Sleeper", {{"uid", kNobody}, {"arguments", std::vector<std::string>{"50", "3"}}});
    ASSERT_TRUE(r.ok()) << r.describe();
    const uint32_t first_pid = instance_main_pid(bus(), r.path);
    WaitResult first = wait_instance(bus(), r.path);
    ASSERT_EQ(first.result, "exit-code");
    ASSERT_EQ(instance_main_pid(bus(), r.path), 0u);

    Reply started = start_instance(bus(), r.path);
    ASSERT_TRUE(started.ok()) << started.describe();
    const uint32_t second_pid = instance_main_pid(bus(), r.path);
    EXPECT_GT(second_pid, 0u);
    EXPECT_NE(second_pid, first_pid);
    EXPECT_NE(instance_address(bus(), r.path), "");
    // Running again: the previous run's result is cleared until this one ends.
    EXPECT_EQ(instance_result(bus(), r.path), "");
    EXPECT_EQ(list_instances(bus()).size(), 1u);

    WaitResult second = wait_instance(bus(), r.path);
    EXPECT_EQ(second.result, "exit-code");
    EXPECT_EQ(second.code, 3);
}

TEST_F(AFinishedInstance, CanBeStartedAgainAfterAStop) {
    SpawnReply r = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    ASSERT_TRUE(stop_instance(bus(), r.path).ok());
    ASSERT_EQ(instance_state(bus(), r.path), "exited");
    ASSERT_TRUE(start_instance(bus(), r.path).ok());
    EXPECT_EQ(instance_state(bus(), r.path), "running");
    BusClient peer(instance_address(bus(), r.path));
    EXPECT_TRUE(peer.call(kObjectName, kObjectPath, kCounterInterface, "Get").ok());
}

}  // namespace
}  // namespace offshoot::test

// lifecycle_stop_mode_test.cpp — stop mode "wait" for an instance that has no work of its own
// to finish (a plain object, neither task nor loop): there is nothing to wait for, so Stop must
// still end it. The worker's side of the contract: SIGTERM in wait mode stops a plain object at
// once (daemon/offshoot-worker/lifecycle.hpp); offshootd's: it sends SIGTERM in wait mode too (the
// worker decides whether to wait) and bounds every Stop with the stop timeout.
#include "lifecycle_support.hpp"

namespace offshoot::test {
namespace {

class APlainObjectInStopModeWait : public DaemonTest {};

TEST_F(APlainObjectInStopModeWait, IsStoppedByStopBecauseThereIsNoWorkToWaitFor) {
    SpawnReply r = spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"stop-mode", std::string("wait")}});
    ASSERT_TRUE(r.ok()) << r.describe();
    PidWatch process(static_cast<pid_t>(instance_main_pid(bus(), r.path)));

    BusClient impatient(daemon().address(), std::chrono::seconds(3));
    Reply stopped = stop_instance(impatient, r.path);
    EXPECT_TRUE(stopped.ok()) << "Stop of a plain object in stop mode wait did not return within 3 s: "
                              << stopped.describe();
    if (!stopped.ok()) {
        // Leave nothing for the tear-down to wait 20 s on: what Stop should have done.
        ASSERT_TRUE(kill_instance(bus(), r.path, SIGTERM).ok());
        ASSERT_TRUE(process.gone(Deadline(5s)));
    }
    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "success");
    EXPECT_EQ(w.code, 0);
}

TEST_F(APlainObjectInStopModeWait, EndsCleanlyOnSigtermAsTheWorkerDefinesIt) {
    // The worker's half, through Kill: SIGTERM in wait mode stops a plain object (stop(), exit 0).
    SpawnReply r = spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"stop-mode", std::string("wait")}});
    ASSERT_TRUE(r.ok()) << r.describe();
    ASSERT_TRUE(kill_instance(bus(), r.path, SIGTERM).ok());
    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "success");
    EXPECT_EQ(w.code, 0);
}

}  // namespace
}  // namespace offshoot::test

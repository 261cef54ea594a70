// lifecycle_task_test.cpp — tasks end to end, with the Sleeper example: run()'s return value
// becomes the instance's Result and ExitCode; Wait returns it while the task runs, long after it
// ended, and to several callers at once; the object answers while run() runs; Stop cuts a task
// short in stop mode "terminate" and waits for it to finish in stop mode "wait".
#include "lifecycle_support.hpp"

#include <list>
#include <optional>
#include <regex>

#include "offshoot/test/as_user.hpp"

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

// ---- what a task hands back -------------------------------------------------------------

// Sleeper's return value, {"slept-ms": t, "stopped": b}, read from an 'av' (none: nullopt).
struct SleeperValue {
    uint64_t slept_ms = 0;
    bool stopped = false;
};

std::optional<SleeperValue> read_sleeper_value(sd_bus_message* m) {
    if (sd_bus_message_enter_container(m, 'a', "v") < 0) throw std::runtime_error("not av");
    if (sd_bus_message_at_end(m, 0) > 0) return std::nullopt;
    if (sd_bus_message_enter_container(m, 'v', "a{sv}") < 0) throw std::runtime_error("not v a{sv}");
    SleeperValue v;
    int seen = 0;
    if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0) throw std::runtime_error("not a{sv}");
    while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
        const char* key = nullptr;
        sd_bus_message_read(m, "s", &key);
        if (std::string(key) == "slept-ms" && sd_bus_message_read(m, "v", "t", &v.slept_ms) > 0) ++seen;
        else if (std::string(key) == "stopped") {
            int b = 0;
            if (sd_bus_message_read(m, "v", "b", &b) > 0) ++seen;
            v.stopped = b;
        } else throw std::runtime_error("unexpected key " + std::string(key));
        sd_bus_message_exit_container(m);
    }
    if (seen != 2) throw std::runtime_error("slept-ms or stopped missing");
    return v;
}

struct ValueWaitResult {
    std::string result;
    int32_t code = -1;
    std::optional<SleeperValue> value;
};

ValueWaitResult wait_return_value(BusClient& bus, const std::string& path) {
    MessagePtr reply = bus.call_checked(kBusName, path.c_str(), kInstanceInterface, "WaitReturnValue");
    ValueWaitResult w;
    const char* result = nullptr;
    if (sd_bus_message_read(reply.get(), "si", &result, &w.code) < 0) throw std::runtime_error("not si");
    w.result = result;
    w.value = read_sleeper_value(reply.get());
    return w;
}

std::optional<SleeperValue> return_value_property(BusClient& bus, const std::string& path) {
    MessagePtr reply = bus.call_checked(kBusName, path.c_str(), "org.freedesktop.DBus.Properties", "Get",
                                        [](sd_bus_message* m) { return sd_bus_message_append(m, "ss", kInstanceInterface, "ReturnValue"); });
    if (sd_bus_message_enter_container(reply.get(), 'v', "av") < 0) throw std::runtime_error("not v av");
    return read_sleeper_value(reply.get());
}

class ATasksReturnValue : public DaemonTest {};

TEST_F(ATasksReturnValue, ReachesWaitReturnValueAndThePropertyWithTheExitCode) {
    SpawnReply r = spawn_sleeper(bus(), {"100", "3"});
    ASSERT_TRUE(r.ok()) << r.describe();
    // While it runs there is nothing to hand back yet.
    EXPECT_EQ(return_value_property(bus(), r.path).has_value(), false);
    ValueWaitResult w = wait_return_value(bus(), r.path);
    EXPECT_EQ(w.result, "exit-code");
    EXPECT_EQ(w.code, 3);
    ASSERT_TRUE(w.value);
    EXPECT_GE(w.value->slept_ms, 100u);
    EXPECT_LT(w.value->slept_ms, 10'000u);
    EXPECT_FALSE(w.value->stopped);
    // Kept with the handle, as Result is: the property and a later call say the same.
    const auto later = return_value_property(bus(), r.path);
    ASSERT_TRUE(later);
    EXPECT_EQ(later->slept_ms, w.value->slept_ms);
    EXPECT_EQ(wait_return_value(bus(), r.path).value->slept_ms, w.value->slept_ms);
    // Wait itself is unchanged.
    WaitResult plain = wait_instance(bus(), r.path);
    EXPECT_EQ(plain.result, "exit-code");
    EXPECT_EQ(plain.code, 3);
}

TEST_F(ATasksReturnValue, SaysTheTaskWasStoppedWhenAStopCutItShort) {
    SpawnReply r = spawn_sleeper(bus(), {"60000", "0"});
    ASSERT_TRUE(r.ok()) << r.describe();
    ASSERT_TRUE(stop_instance(bus(), r.path).ok());
    ValueWaitResult w = wait_return_value(bus(), r.path);
    EXPECT_EQ(w.result, "success");
    ASSERT_TRUE(w.value);
    EXPECT_TRUE(w.value->stopped);
    EXPECT_LT(w.value->slept_ms, 60'000u);
}

TEST_F(ATasksReturnValue, IsClearedWhenTheInstanceStartsAgainAndNoneForAPlainObject) {
    SpawnReply r = spawn_sleeper(bus(), {"60000", "0"});
    ASSERT_TRUE(r.ok()) << r.describe();
    ASSERT_TRUE(stop_instance(bus(), r.path).ok());
    ASSERT_TRUE(wait_return_value(bus(), r.path).value);
    Reply started = bus().call(kBusName, r.path.c_str(), kInstanceInterface, "Start");
    ASSERT_TRUE(started.ok()) << started.describe();
    EXPECT_FALSE(return_value_property(bus(), r.path).has_value());  // the new process runs (60 s)
    ASSERT_TRUE(stop_instance(bus(), r.path).ok());
    EXPECT_TRUE(wait_return_value(bus(), r.path).value);

    SpawnReply counter = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(counter.ok()) << counter.describe();
    ASSERT_TRUE(stop_instance(bus(), counter.path).ok());
    ValueWaitResult none = wait_return_value(bus(), counter.path);
    EXPECT_EQ(none.result, "success");
    EXPECT_FALSE(none.value);
}

TEST_F(ATasksReturnValue, IsForItsOwnerAndRootOnly) {
    SpawnReply r = spawn_sleeper(bus(), {"0", "0"});
    ASSERT_TRUE(r.ok()) << r.describe();
    ASSERT_TRUE(wait_return_value(bus(), r.path).value);
    const std::string address = bus_address(), path = r.path;
    const std::string seen = run_as(kNobody, kNobody, [&] {
        BusClient other(address);
        Reply wait = other.call(kBusName, path.c_str(), kInstanceInterface, "WaitReturnValue");
        Reply get = other.call(kBusName, path.c_str(), "org.freedesktop.DBus.Properties", "Get",
                               [](sd_bus_message* m) { return sd_bus_message_append(m, "ss", kInstanceInterface, "ReturnValue"); });
        Reply all = other.call(kBusName, path.c_str(), "org.freedesktop.DBus.Properties", "GetAll",
                               [](sd_bus_message* m) { return sd_bus_message_append(m, "s", kInstanceInterface); });
        std::string out = wait.error_name + "|" + get.error_name + "|" + (all.ok() ? "ok" : all.error_name);
        if (all.ok()) {
            // GetAll shows the others an empty ReturnValue.
            sd_bus_message* m = all.get();
            sd_bus_message_enter_container(m, 'a', "{sv}");
            while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                const char* key = nullptr;
                sd_bus_message_read(m, "s", &key);
                if (std::string(key) == "ReturnValue") {
                    sd_bus_message_enter_container(m, 'v', "av");
                    sd_bus_message_enter_container(m, 'a', "v");
                    out += sd_bus_message_at_end(m, 0) > 0 ? "|empty" : "|VALUE";
                    sd_bus_message_exit_container(m);
                    sd_bus_message_exit_container(m);
                } else {
                    sd_bus_message_skip(m, "v");
                }
                sd_bus_message_exit_container(m);
            }
        }
        return out;
    });
    EXPECT_EQ(seen, std::string(errors::access_denied) + "|" + errors::access_denied + "|ok|empty");
}

TEST_F(ATasksReturnValue, ShowsInBusctlAsAnArrayOfOneVariant) {
    SpawnReply r = spawn_sleeper(bus(), {"0", "0"});
    ASSERT_TRUE(r.ok()) << r.describe();
    ASSERT_TRUE(wait_return_value(bus(), r.path).value);
    RunResult get = run({"busctl", "--address=" + bus_address(), "get-property", kBusName, r.path,
                         kInstanceInterface, "ReturnValue"});
    ASSERT_TRUE(get.ok()) << get.describe();
    EXPECT_TRUE(std::regex_match(get.out, std::regex(R"re(av 1 a\{sv\} 2 "slept-ms" t [0-9]+ "stopped" b false\n)re")))
        << get.out;
}

}  // namespace
}  // namespace offshoot::test

// lifecycle_test.cpp — Stop ends the process, Wait reports how it ended, Exited and
// PropertiesChanged(State) are emitted, and ListInstances/InstanceCount follow.
#include <poll.h>
#include <unistd.h>

#include "daemon_test.hpp"
#include "offshoot/test/pidfd.hpp"

namespace offshoot::test {
namespace {

using ::testing::ElementsAre;

// Reads the State entry of a PropertiesChanged(s, a{sv}, as) signal: its new value, or
// "<invalidated>" when only named as changed, or "" when the signal is not about State.
std::string state_change(sd_bus_message* m) {
    const char* iface = nullptr;
    if (sd_bus_message_read(m, "s", &iface) < 0 || std::string(iface) != kInstanceInterface) return "";
    std::string state;
    if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0) return "";
    while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
        const char* name = nullptr;
        sd_bus_message_read(m, "s", &name);
        if (std::string(name) == "State") {
            const char* value = nullptr;
            if (sd_bus_message_read(m, "v", "s", &value) >= 0) state = value;
        } else {
            sd_bus_message_skip(m, "v");
        }
        sd_bus_message_exit_container(m);
    }
    sd_bus_message_exit_container(m);
    if (state.empty()) {
        char** invalidated = nullptr;
        if (sd_bus_message_read_strv(m, &invalidated) >= 0 && invalidated) {
            for (char** i = invalidated; *i; ++i)
                if (std::string(*i) == "State") state = "<invalidated>";
            for (char** i = invalidated; *i; ++i) free(*i);
            free(invalidated);
        }
    }
    return state;
}

class AStoppedInstance : public DaemonTest {};

TEST_F(AStoppedInstance, EndsItsProcessAndReportsExitedSuccessToWaitSignalsAndLists) {
    SpawnReply keep = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(keep.ok()) << keep.describe();
    SpawnReply r = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(instance_count(bus()), 2u);
    EXPECT_EQ(list_instances(bus()).size(), 2u);

    const auto pid = static_cast<pid_t>(instance_main_pid(bus(), r.path));
    ASSERT_GT(pid, 0);
    int pidfd = open_pidfd(pid);
    ASSERT_GE(pidfd, 0) << "pidfd_open " << pid;
    EXPECT_EQ(instance_state(bus(), r.path), "running");

    // Subscribed before Stop, so nothing emitted on the way can be missed.
    std::vector<std::pair<std::string, int32_t>> exited;
    std::vector<std::string> states;
    bus().match_signal(kBusName, r.path.c_str(), kInstanceInterface, "Exited", [&](sd_bus_message* m) {
        const char* result = nullptr;
        int32_t code = -1;
        if (sd_bus_message_read(m, "si", &result, &code) >= 0) exited.emplace_back(result, code);
    });
    bus().match_signal(kBusName, r.path.c_str(), "org.freedesktop.DBus.Properties", "PropertiesChanged",
                       [&](sd_bus_message* m) {
                           if (auto s = state_change(m); !s.empty()) states.push_back(s);
                       });

    Reply stopped = stop_instance(bus(), r.path);
    ASSERT_TRUE(stopped.ok()) << stopped.describe();

    // Stop returns when the process is gone: its pidfd is readable at once.
    pollfd p{pidfd, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 0), 1) << "Stop returned but process " << pid << " is still running";
    ::close(pidfd);
    EXPECT_FALSE(read_status(pid).has_value()) << "process " << pid << " is not reaped";

    WaitResult w = wait_instance(bus(), r.path);
    ASSERT_EQ(w.error, "");
    EXPECT_EQ(w.result, "success");
    EXPECT_EQ(w.code, 0);

    EXPECT_TRUE(bus().process_until(
        [&] { return !exited.empty() && !states.empty() && states.back() != "running" &&
                     states.back() != "stopping"; },
        Deadline(5s)))
        << "signals seen: Exited×" << exited.size() << ", states " << ::testing::PrintToString(states);
    EXPECT_THAT(exited, ElementsAre(std::make_pair(std::string("success"), 0)));
    ASSERT_FALSE(states.empty());
    // running → (stopping →) exited; values may be sent or only invalidated.
    for (const auto& s : states)
        EXPECT_TRUE(s == "stopping" || s == "exited" || s == "<invalidated>") << s;
    EXPECT_EQ(instance_state(bus(), r.path), "exited");
    EXPECT_EQ(bus().get_string_property(kBusName, r.path.c_str(), kInstanceInterface, "Result"), "success");

    // The handle stays listed as exited until released; the other instance is untouched.
    bool listed_exited = false;
    for (const auto& i : list_instances(bus())) {
        if (i.path == r.path) listed_exited = i.state == "exited";
        if (i.path == keep.path) {
            EXPECT_EQ(i.state, "running");
        }
    }
    EXPECT_TRUE(listed_exited);
    EXPECT_EQ(instance_state(bus(), keep.path), "running");

    // Wait on a finished instance answers at once, with the same result.
    WaitResult again = wait_instance(bus(), r.path);
    EXPECT_EQ(again.result, "success");
    EXPECT_EQ(again.code, 0);

    // Once Wait has returned, offshootd has no zombie child.
    EXPECT_THAT(daemon().zombie_children(), ::testing::IsEmpty());
}

TEST_F(AStoppedInstance, DisappearsFromTheListsWhenReleased) {
    SpawnReply r = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    ASSERT_EQ(instance_count(bus()), 1u);
    const auto pid = static_cast<pid_t>(instance_main_pid(bus(), r.path));

    Reply released = bus().call(kBusName, r.path.c_str(), kInstanceInterface, "Release");
    ASSERT_TRUE(released.ok()) << released.describe();
    EXPECT_EQ(instance_count(bus()), 0u);
    EXPECT_THAT(list_instances(bus()), ::testing::IsEmpty());
    EXPECT_FALSE(read_status(pid).has_value()) << "Release left process " << pid << " running";
}

TEST_F(AStoppedInstance, CannotBeCalledAnyMoreOnItsPrivateAddress) {
    SpawnReply r = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    {
        BusClient before(r.address);
        EXPECT_TRUE(before.call(kObjectName, kObjectPath, kCounterInterface, "Get").ok());
    }
    ASSERT_TRUE(stop_instance(bus(), r.path).ok());
    EXPECT_THROW(BusClient after(r.address, std::chrono::seconds(2)), std::exception);
}

}  // namespace
}  // namespace offshoot::test

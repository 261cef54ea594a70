// lifecycle_monitoring_test.cpp — watching instances without polling: every lifecycle property
// change (State, Result, MainPID, ExitCode, ExitSignal) is announced with PropertiesChanged and
// Address is announced as invalidated only (its value is for the owner and root); the
// supervisor object is an ObjectManager announcing handles with InterfacesAdded/Removed.
#include "lifecycle_support.hpp"

namespace offshoot::test {
namespace {

using ::testing::Contains;
using ::testing::Not;

class AnInstanceHandle : public DaemonTest {
protected:
    // Records every PropertiesChanged of org.offshoot1.Instance at `path`.
    void watch(const std::string& path) {
        bus().match_signal(kBusName, path.c_str(), "org.freedesktop.DBus.Properties", "PropertiesChanged",
                           [this](sd_bus_message* m) {
                               auto pc = parse_properties_changed(m);
                               if (pc.interface == kInstanceInterface) changes_.push_back(std::move(pc));
                           });
        bus().match_signal(kBusName, path.c_str(), kInstanceInterface, "Exited",
                           [this](sd_bus_message*) { ++exits_; });
    }
    // The last value announced for `name` ("" if none).
    std::string last(const std::string& name) const {
        std::string v;
        for (const auto& c : changes_)
            if (auto it = c.changed.find(name); it != c.changed.end()) v = it->second;
        return v;
    }
    int invalidations(const std::string& name) const {
        int n = 0;
        for (const auto& c : changes_)
            for (const auto& i : c.invalidated) n += i == name;
        return n;
    }
    bool announced_value(const std::string& name) const {
        for (const auto& c : changes_)
            if (c.changed.count(name)) return true;
        return false;
    }
    bool wait_for_exits(int n) {
        return bus().process_until([&] { return exits_ >= n; }, Deadline(10s));
    }

    std::vector<PropertiesChanged> changes_;
    int exits_ = 0;
};

TEST_F(AnInstanceHandle, AnnouncesEveryLifecyclePropertyChange) {
    // Created without a process, so the watch is in place before anything happens.
    SpawnReply r = spawn_with_options(bus(), "Sleeper",
                                      {{"uid", kNobody}, {"start", false},
                                       {"arguments", std::vector<std::string>{"300", "3"}}});
    ASSERT_TRUE(r.ok()) << r.describe();
    watch(r.path);

    ASSERT_TRUE(start_instance(bus(), r.path).ok());
    const uint32_t pid = instance_main_pid(bus(), r.path);
    ASSERT_TRUE(bus().process_until([&] { return last("State") == "running"; }, Deadline(5s)));
    EXPECT_EQ(last("MainPID"), std::to_string(pid));
    EXPECT_GE(invalidations("Address"), 1) << "Address was not invalidated when the process started";

    // The run ends with exit code 3.
    ASSERT_TRUE(wait_for_exits(1));
    EXPECT_EQ(last("State"), "failed");
    EXPECT_EQ(last("Result"), "exit-code");
    EXPECT_EQ(last("ExitCode"), "3");
    EXPECT_EQ(last("ExitSignal"), "0");
    EXPECT_EQ(last("MainPID"), "0");
    EXPECT_GE(invalidations("Address"), 2) << "Address was not invalidated when the process ended";

    // A second run, killed long before its 300 ms are up: ExitSignal changes, and Result/ExitCode are announced again.
    ASSERT_TRUE(start_instance(bus(), r.path).ok());
    ASSERT_TRUE(kill_instance(bus(), r.path, SIGKILL).ok());
    ASSERT_TRUE(wait_for_exits(2));
    EXPECT_EQ(last("State"), "failed");
    EXPECT_EQ(last("Result"), "signal");
    EXPECT_EQ(last("ExitSignal"), std::to_string(SIGKILL));
    EXPECT_EQ(last("ExitCode"), "0");

    // Address's value never goes out to everyone listening.
    EXPECT_FALSE(announced_value("Address"));
}

TEST_F(AnInstanceHandle, AnnouncesStoppingOnTheWayToExited) {
    SpawnReply r = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    watch(r.path);
    ASSERT_TRUE(stop_instance(bus(), r.path).ok());
    ASSERT_TRUE(wait_for_exits(1));
    std::vector<std::string> states;
    for (const auto& c : changes_)
        if (auto it = c.changed.find("State"); it != c.changed.end()) states.push_back(it->second);
    EXPECT_EQ(states, (std::vector<std::string>{"stopping", "exited"}));
    EXPECT_EQ(last("Result"), "success");
}

class TheSupervisorObject : public DaemonTest {};

TEST_F(TheSupervisorObject, AnnouncesHandlesWithInterfacesAddedAndRemoved) {
    std::vector<std::string> added, removed;
    bus().match_signal(kBusName, kSupervisorPath, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
                       [&](sd_bus_message* m) {
                           const char* path = nullptr;
                           if (sd_bus_message_read(m, "o", &path) < 0) return;
                           // a{sa{sv}}: the handle's interfaces, org.offshoot1.Instance among them.
                           if (sd_bus_message_enter_container(m, 'a', "{sa{sv}}") < 0) return;
                           while (sd_bus_message_enter_container(m, 'e', "sa{sv}") > 0) {
                               const char* iface = nullptr;
                               sd_bus_message_read(m, "s", &iface);
                               if (std::string(iface) == kInstanceInterface) added.emplace_back(path);
                               sd_bus_message_skip(m, "a{sv}");
                               sd_bus_message_exit_container(m);
                           }
                       });
    bus().match_signal(kBusName, kSupervisorPath, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
                       [&](sd_bus_message* m) {
                           const char* path = nullptr;
                           if (sd_bus_message_read(m, "o", &path) >= 0) removed.emplace_back(path);
                       });

    SpawnReply a = spawn(bus(), "Counter", kNobody);
    SpawnReply b = spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"start", false}});
    ASSERT_TRUE(a.ok() && b.ok()) << a.describe() << b.describe();
    ASSERT_TRUE(bus().process_until([&] { return added.size() == 2; }, Deadline(5s)));
    EXPECT_EQ(added, (std::vector<std::string>{a.path, b.path}));
    EXPECT_TRUE(removed.empty());

    ASSERT_TRUE(release_instance(bus(), a.path).ok());
    ASSERT_TRUE(release_instance(bus(), b.path).ok());
    ASSERT_TRUE(bus().process_until([&] { return removed.size() == 2; }, Deadline(5s)));
    EXPECT_EQ(removed, (std::vector<std::string>{a.path, b.path}));
    EXPECT_THAT(list_instances(bus()), Not(Contains(::testing::_)));
}

}  // namespace
}  // namespace offshoot::test

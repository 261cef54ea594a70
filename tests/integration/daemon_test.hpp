// daemon_test.hpp — the fixture every integration test derives from: a private dbus-daemon and
// the build tree's offshootd on it, a raw sd-bus client on that bus, and a tear-down that
// stops every instance, waits for it and checks that offshootd left no zombie behind.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>

#include "offshoot/test/bus_client.hpp"
#include "offshoot/test/deadline.hpp"
#include "offshoot/test/proc.hpp"
#include "offshoot/test/subprocess.hpp"
#include "offshoot/test/supervisor.hpp"
#include "offshoot/test/temp_dir.hpp"
#include "offshoot/test/test_bus.hpp"
#include "offshoot/test/test_daemon.hpp"

namespace offshoot::test {

inline constexpr uint32_t kNobody = 65534;
inline constexpr const char* kCounterInterface = "org.offshoot1.example.Counter";
inline constexpr const char* kIdentityInterface = "org.offshoot1.example.Identity";
inline constexpr const char* kInvalidArgument = errors::invalid_argument;
inline constexpr const char* kSpawnFailed = errors::spawn_failed;
inline constexpr const char* kUnknownClass = errors::unknown_class;

class DaemonTest : public ::testing::Test {
protected:
    void SetUp() override {
        bus_.emplace();
        daemon_.emplace(*bus_, daemon_options());
        client_.emplace(daemon_->address());
    }

    void TearDown() override {
        if (daemon_ && client_) stop_everything_and_check_for_zombies();
        client_.reset();
        daemon_.reset();  // stops offshootd; reports a daemon that ignores SIGTERM
        bus_.reset();
    }

    virtual TestDaemonOptions daemon_options() { return {}; }

    TestDaemon& daemon() { return *daemon_; }
    BusClient& bus() { return *client_; }
    const std::string& bus_address() const { return bus_->address(); }

private:
    // Every instance still known is stopped and waited for; once Wait has returned, offshootd
    // must have reaped it. Children of failed spawns have no handle to wait on, so for the
    // rest the check is "no zombie within a short deadline" (no event exists for another
    // process's reaping).
    void stop_everything_and_check_for_zombies() {
        std::set<pid_t> waited;
        try {
            for (const auto& i : list_instances(bus())) {
                if (i.pid) waited.insert(static_cast<pid_t>(i.pid));
                if (i.state == "running" || i.state == "stopping" || i.state == "created") {
                    Reply stopped = stop_instance(bus(), i.path);
                    EXPECT_TRUE(stopped.ok()) << "Stop " << i.path << ": " << stopped.describe();
                }
                WaitResult w = wait_instance(bus(), i.path);
                EXPECT_EQ(w.error, "") << "Wait " << i.path;
            }
        } catch (const std::exception& e) {
            ADD_FAILURE() << "tear-down could not stop the instances: " << e.what();
        }
        for (pid_t z : daemon().zombie_children())
            EXPECT_EQ(waited.count(z), 0u) << "instance process " << z
                                           << " is a zombie after Wait returned";
        EXPECT_TRUE(wait_until([&] { return daemon().zombie_children().empty(); }, Deadline(5s)))
            << "offshootd leaves zombie children: " << ::testing::PrintToString(daemon().zombie_children());
    }

    std::optional<TestBus> bus_;
    std::optional<TestDaemon> daemon_;
    std::optional<BusClient> client_;
};

}  // namespace offshoot::test

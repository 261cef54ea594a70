// lifecycle_test.cpp — the lifecycle through liboffshoot-client: tasks' exit statuses from
// wait() and on_exit(), explicit start, start() again after an exit, stop modes, kill(), and a
// bridge to a loop whose object answers while it loops.
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <offshoot/client.hpp>

#include "offshoot/test/deadline.hpp"
#include "offshoot/test/temp_dir.hpp"
#include "offshoot/test/test_bus.hpp"
#include "offshoot/test/test_daemon.hpp"
#include "org.offshoot1.example.Sleeper_proxy.h"
#include "org.offshoot1.example.Ticker_proxy.h"

namespace offshoot::test {
namespace {

using ::testing::ElementsAre;

constexpr uint32_t kNobody = 65534;

class SleeperProxy final : public sdbus::ProxyInterfaces<org::offshoot1::example::Sleeper_proxy> {
public:
    SleeperProxy(sdbus::IConnection& c, std::string destination, std::string path)
        : ProxyInterfaces(c, std::move(destination), std::move(path)) {
        registerProxy();
    }
    ~SleeperProxy() { unregisterProxy(); }
};

class TickerProxy final : public sdbus::ProxyInterfaces<org::offshoot1::example::Ticker_proxy> {
public:
    TickerProxy(sdbus::IConnection& c, std::string destination, std::string path)
        : ProxyInterfaces(c, std::move(destination), std::move(path)) {
        registerProxy();
    }
    ~TickerProxy() { unregisterProxy(); }

    // Waits (on the connection's event-loop thread's signals) until Tick n has arrived.
    bool wait_for_tick(uint64_t n, const Deadline& deadline) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, deadline.remaining(), [&] { return last_ >= n; });
    }

private:
    void onTick(const uint64_t& n) override {
        {
            std::lock_guard lock(mutex_);
            last_ = n;
        }
        cv_.notify_all();
    }
    std::mutex mutex_;
    std::condition_variable cv_;
    uint64_t last_ = 0;
};

class TheClientLibraryLifecycle : public ::testing::Test {
protected:
    void SetUp() override {
        bus_.emplace();
        daemon_.emplace(*bus_);
    }
    void TearDown() override {
        daemon_.reset();
        bus_.reset();
    }
    Supervisor supervisor() { return Supervisor::at(bus_->address()); }

    std::optional<TestBus> bus_;
    std::optional<TestDaemon> daemon_;
};

TEST_F(TheClientLibraryLifecycle, ReturnsATasksExitStatusFromWaitAndOnExit) {
    auto sup = supervisor();
    Instance sleeper = sup.spawn("Sleeper", SpawnOptions{.uid = kNobody, .arguments = {{"100", "3"}}});
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<offshoot::ExitStatus> exits;
    sleeper.on_exit([&](const offshoot::ExitStatus& s) {
        std::lock_guard lock(mutex);
        exits.push_back(s);
        cv.notify_all();
    });
    EXPECT_EQ(sleeper.wait(), (offshoot::ExitStatus{"exit-code", 3}));
    EXPECT_EQ(sleeper.state(), "failed");
    EXPECT_EQ(sleeper.exit_code(), 3);
    std::unique_lock lock(mutex);
    EXPECT_TRUE(cv.wait_for(lock, 5s, [&] { return !exits.empty(); }));
    EXPECT_THAT(exits, ElementsAre(offshoot::ExitStatus{"exit-code", 3}));
}

TEST_F(TheClientLibraryLifecycle, StartsAnInstanceCreatedWithoutStartAndAgainAfterItEnded) {
    auto sup = supervisor();
    Instance sleeper = sup.spawn("Sleeper", SpawnOptions{.uid = kNobody, .arguments = {{"50"}}, .start = false});
    EXPECT_EQ(sleeper.state(), "created");
    EXPECT_EQ(sleeper.pid(), 0u);
    EXPECT_EQ(sleeper.address(), "");
    sleeper.start();
    const uint32_t first = sleeper.pid();
    EXPECT_NE(first, 0u);
    EXPECT_TRUE(sleeper.wait().success());
    sleeper.start();
    EXPECT_NE(sleeper.pid(), first);
    EXPECT_TRUE(sleeper.wait().success());
}

TEST_F(TheClientLibraryLifecycle, StopsATaskAtOnceInTerminateModeAndAfterItsWorkInWaitMode) {
    auto sup = supervisor();
    Instance cut = sup.spawn("Sleeper", SpawnOptions{.uid = kNobody, .arguments = {{"60000", "1"}}});
    auto t0 = std::chrono::steady_clock::now();
    cut.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
    EXPECT_EQ(cut.wait(), (offshoot::ExitStatus{"success", 0}));

    t0 = std::chrono::steady_clock::now();
    Instance patient = sup.spawn("Sleeper", SpawnOptions{.uid = kNobody, .arguments = {{"300", "2"}},
                                                         .stop_mode = StopMode::wait});
    patient.stop();
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
    EXPECT_EQ(patient.wait(), (offshoot::ExitStatus{"exit-code", 2}));
}

TEST_F(TheClientLibraryLifecycle, KillsAnInstanceWithTheSignalGiven) {
    auto sup = supervisor();
    Instance sleeper = sup.spawn("Sleeper", SpawnOptions{.uid = kNobody, .arguments = {{"60000"}}});
    sleeper.kill(SIGKILL);
    EXPECT_EQ(sleeper.wait(), (offshoot::ExitStatus{"signal", SIGKILL}));
    EXPECT_EQ(sleeper.exit_signal(), SIGKILL);
}

TEST_F(TheClientLibraryLifecycle, BridgesToATaskAndALoopThatAnswerWhileTheyWork) {
    auto sup = supervisor();
    auto sleeper = make_bridge<SleeperProxy>(sup, "Sleeper", SpawnOptions{.uid = kNobody, .arguments = {{"5000"}}});
    const uint64_t left = sleeper->Remaining();
    EXPECT_GT(left, 0u);
    EXPECT_LE(left, 5000u);

    TempDir cwd("offshoot-ticker", 0777);
    auto ticker = make_bridge<TickerProxy>(
        sup, "Ticker", SpawnOptions{.uid = kNobody, .cwd = cwd.str(), .arguments = {{"50", "50", "60000"}}});
    ASSERT_TRUE(ticker->wait_for_tick(3, Deadline(5s)));
    EXPECT_EQ(ticker->Count(), 3u);
    ticker.instance().stop();
    EXPECT_TRUE(ticker.instance().wait().success());
}

}  // namespace
}  // namespace offshoot::test

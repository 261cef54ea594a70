// supervisor_test.cpp — liboffshoot-client against the build tree's offshootd on a private
// dbus-daemon: the RAII handle (stop + release on destruction, release, detach/adopt),
// on_exit, make_bridge, options reaching the instance, and errors from the daemon and from the
// object surfacing as offshoot::Error with their D-Bus names.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <offshoot/client.hpp>

#include "offshoot/test/deadline.hpp"
#include "offshoot/test/proc.hpp"
#include "offshoot/test/temp_dir.hpp"
#include "offshoot/test/test_bus.hpp"
#include "offshoot/test/test_daemon.hpp"
#include "org.offshoot1.example.Counter_proxy.h"
#include "org.offshoot1.example.Echo_proxy.h"
#include "org.offshoot1.example.Faulty_proxy.h"
#include "org.offshoot1.example.Identity_proxy.h"

namespace offshoot::test {
namespace {

constexpr uint32_t kNobody = 65534;

class CounterProxy final : public sdbus::ProxyInterfaces<org::offshoot1::example::Counter_proxy> {
public:
    CounterProxy(sdbus::IConnection& c, std::string destination, std::string path)
        : ProxyInterfaces(c, std::move(destination), std::move(path)) {
        registerProxy();
    }
    ~CounterProxy() { unregisterProxy(); }

    std::vector<int64_t> changes(std::size_t n, const Deadline& deadline) {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, deadline.remaining(), [&] { return changes_.size() >= n; });
        return changes_;
    }

private:
    void onChanged(const int64_t& value) override {
        {
            std::lock_guard lock(mutex_);
            changes_.push_back(value);
        }
        cv_.notify_all();
    }
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<int64_t> changes_;
};

class IdentityProxy final : public sdbus::ProxyInterfaces<org::offshoot1::example::Identity_proxy> {
public:
    IdentityProxy(sdbus::IConnection& c, std::string destination, std::string path)
        : ProxyInterfaces(c, std::move(destination), std::move(path)) {
        registerProxy();
    }
    ~IdentityProxy() { unregisterProxy(); }
};

class EchoProxy final : public sdbus::ProxyInterfaces<org::offshoot1::example::Echo_proxy> {
public:
    EchoProxy(sdbus::IConnection& c, std::string destination, std::string path)
        : ProxyInterfaces(c, std::move(destination), std::move(path)) {
        registerProxy();
    }
    ~EchoProxy() { unregisterProxy(); }
};

class FaultyProxy final : public sdbus::ProxyInterfaces<org::offshoot1::example::Faulty_proxy> {
public:
    FaultyProxy(sdbus::IConnection& c, std::string destination, std::string path)
        : ProxyInterfaces(c, std::move(destination), std::move(path)) {
        registerProxy();
    }
    ~FaultyProxy() { unregisterProxy(); }
};

// Exit statuses reported through Instance::on_exit (on the supervisor's loop thread).
class ExitRecorder {
public:
    std::function<void(const offshoot::ExitStatus&)> callback() {
        return [this](const offshoot::ExitStatus& status) {
            {
                std::lock_guard lock(mutex_);
                statuses_.push_back(status);
            }
            cv_.notify_all();
        };
    }
    std::vector<offshoot::ExitStatus> wait_for(std::size_t n, const Deadline& deadline) {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, deadline.remaining(), [&] { return statuses_.size() >= n; });
        return statuses_;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<offshoot::ExitStatus> statuses_;
};

bool process_exists(uint32_t pid) { return read_status(static_cast<pid_t>(pid)).has_value(); }

bool has_handle(const Supervisor& sup, const std::string& path) {
    auto all = sup.instances();
    return std::any_of(all.begin(), all.end(), [&](const InstanceInfo& i) { return i.path == path; });
}

class TheClientLibrary : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0)
            GTEST_SKIP() << "needs root: instances run as uid " << kNobody;
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

TEST_F(TheClientLibrary, StopsAndReleasesAnInstanceWhenItsHandleGoesOutOfScope) {
    auto sup = supervisor();
    std::string path;
    uint32_t pid = 0;
    {
        Instance instance = sup.spawn("Counter", kNobody);
        path = instance.path();
        pid = instance.pid();
        ASSERT_NE(pid, 0u);
        EXPECT_NE(static_cast<pid_t>(pid), ::getpid());
        EXPECT_EQ(instance.uid(), kNobody);
        EXPECT_EQ(instance.state(), "running");
        EXPECT_TRUE(has_handle(sup, path));
    }
    // Stop returns when the process is gone, so there is nothing to wait for.
    EXPECT_FALSE(process_exists(pid)) << "the process outlived its handle";
    EXPECT_FALSE(has_handle(sup, path)) << "the handle was not released";
}

TEST_F(TheClientLibrary, GivesABridgeThatCallsAndReceivesSignalsAndStopsOnDestruction) {
    auto sup = supervisor();
    uint32_t pid = 0;
    {
        auto counter = make_bridge<CounterProxy>(sup, "Counter", kNobody);
        pid = counter.instance().pid();
        EXPECT_EQ(counter->Increment(5), 5);
        EXPECT_EQ(counter->Increment(2), 7);
        EXPECT_EQ(counter->Value(), 7);
        EXPECT_THAT(counter->changes(2, Deadline(5s)), ::testing::ElementsAre(5, 7));
    }
    EXPECT_FALSE(process_exists(pid));
}

TEST_F(TheClientLibrary, HandsTheOptionsToTheInstance) {
    TempDir base("offshoot-client-test", 0755);
    make_dir(base / "work", 0700, kNobody, kNobody);
    auto sup = supervisor();
    auto identity = make_bridge<IdentityProxy>(
        sup, "Identity", SpawnOptions{.uid = kNobody, .gid = kNobody, .cwd = (base / "work").string()});
    auto [uid, gid, groups, cwd, pid] = identity->Describe();
    EXPECT_EQ(uid, kNobody);
    EXPECT_EQ(gid, kNobody);
    EXPECT_EQ(cwd, (base / "work").string());
    EXPECT_EQ(pid, identity.instance().pid());
    EXPECT_EQ(identity.instance().cwd(), (base / "work").string());
    EXPECT_EQ(proc_cwd(static_cast<pid_t>(pid)), base / "work");
}

TEST_F(TheClientLibrary, ReportsAStoppedInstanceThroughOnExitAndWait) {
    auto sup = supervisor();
    ExitRecorder exits;
    Instance instance = sup.spawn("Counter", kNobody);
    instance.on_exit(exits.callback());
    instance.stop();
    EXPECT_THAT(exits.wait_for(1, Deadline(5s)), ::testing::ElementsAre(offshoot::ExitStatus{"success", 0}));
    EXPECT_EQ(instance.wait(), (offshoot::ExitStatus{"success", 0}));
    EXPECT_EQ(instance.state(), "exited");
}

TEST_F(TheClientLibrary, ReportsAnExitThatHappenedBeforeOnExitWasCalledExactlyOnce) {
    auto sup = supervisor();
    Instance instance = sup.spawn("Counter", kNobody);
    instance.stop();
    ExitRecorder exits;
    instance.on_exit(exits.callback());
    // Reported at once, on this thread: nothing to wait for.
    EXPECT_THAT(exits.wait_for(1, Deadline(0s)), ::testing::ElementsAre(offshoot::ExitStatus{"success", 0}));
    EXPECT_THAT(exits.wait_for(2, Deadline(200ms)), ::testing::SizeIs(1));
}

TEST_F(TheClientLibrary, ForgetsAReleasedInstance) {
    auto sup = supervisor();
    Instance instance = sup.spawn("Counter", kNobody);
    const std::string path = instance.path();
    const uint32_t pid = instance.pid();
    instance.release();
    EXPECT_FALSE(instance);
    EXPECT_FALSE(process_exists(pid));
    EXPECT_FALSE(has_handle(sup, path));
}

TEST_F(TheClientLibrary, LeavesADetachedInstanceRunningUntilItIsAdoptedAgain) {
    auto sup = supervisor();
    std::string path;
    uint32_t pid = 0;
    {
        Instance instance = sup.spawn("Counter", kNobody);
        pid = instance.pid();
        path = instance.detach();
        EXPECT_FALSE(instance);
    }
    EXPECT_TRUE(process_exists(pid)) << "a detached instance was stopped";
    {
        Instance again = sup.adopt(path);
        EXPECT_EQ(again.pid(), pid);
    }
    EXPECT_FALSE(process_exists(pid)) << "an adopted instance was not stopped";
}

TEST_F(TheClientLibrary, StopsTiedInstancesWhenTheSupervisorConnectionCloses) {
    uint32_t pid = 0;
    {
        auto sup = supervisor();
        Instance instance = sup.spawn("Counter", kNobody);  // tie-to-caller: the library default
        pid = instance.pid();
        (void)instance.detach();
    }
    EXPECT_TRUE(wait_until([&] { return !process_exists(pid); }, Deadline(1s)))
        << "instance " << pid << " outlived its owner's connection by more than 1 s";
}

TEST_F(TheClientLibrary, RaisesTheDaemonsErrorsWithTheirNames) {
    auto sup = supervisor();
    try {
        (void)sup.spawn("NoSuchClass", kNobody);
        FAIL() << "spawning an unknown class succeeded";
    } catch (const Error& e) {
        EXPECT_EQ(e.getName(), errors::unknown_class) << e.what();
    }
    try {
        (void)sup.spawn("Counter", SpawnOptions{.uid = kNobody, .cwd = "relative/path"});
        FAIL() << "a relative cwd was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.getName(), errors::invalid_argument) << e.what();
    }
}

TEST_F(TheClientLibrary, RaisesTheObjectsErrorsWithTheirNames) {
    auto sup = supervisor();
    auto faulty = make_bridge<FaultyProxy>(sup, "Faulty", kNobody);
    try {
        faulty->Throw("as asked");
        FAIL() << "Faulty.Throw returned";
    } catch (const Error& e) {
        EXPECT_EQ(e.getName(), "org.offshoot1.example.Faulty.Error");
        EXPECT_EQ(e.getMessage(), "as asked");
    }
}

TEST_F(TheClientLibrary, FailsTheCallInFlightAndReportsTheCrashWhenTheWorkerDies) {
    auto sup = supervisor();
    ExitRecorder exits;
    auto faulty = make_bridge<FaultyProxy>(sup, "Faulty", kNobody);
    faulty.instance().on_exit(exits.callback());
    const auto before = Clock::now();
    EXPECT_THROW(faulty->Crash("segv"), Error);
    EXPECT_LT(Clock::now() - before, 1s);
    auto status = faulty.instance().wait();
    EXPECT_THAT(status.result, ::testing::AnyOf("signal", "core-dump"));
    EXPECT_EQ(status.code, SIGSEGV);
    EXPECT_THAT(exits.wait_for(1, Deadline(5s)), ::testing::ElementsAre(status));
    EXPECT_TRUE(wait_until([&] { return faulty.connected().disconnected(); }, Deadline(5s)));
}

TEST_F(TheClientLibrary, CarriesLargeByteArraysThroughTheGeneratedProxyWithAndWithoutALoopThread) {
    auto sup = supervisor();
    std::vector<uint8_t> payload(1 << 20);
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 131 + 7);

    auto looped = make_bridge<EchoProxy>(sup, "Echo", kNobody);
    EXPECT_TRUE(looped.connected().has_event_loop());
    EXPECT_EQ(looped->Echo(payload), payload);
    EXPECT_EQ(looped->Echo({}), std::vector<uint8_t>{});

    auto direct = make_bridge<EchoProxy>(sup, "Echo", kNobody, calls_only);
    EXPECT_FALSE(direct.connected().has_event_loop());
    EXPECT_EQ(direct->Echo(payload), payload);
    EXPECT_EQ(direct->Ping(-42), -42);
    // A second calls-only proxy on the same instance, used from two threads at once.
    auto second = looped.instance().proxy<EchoProxy>(calls_only);
    auto other = std::async(std::launch::async, [&] {
        for (int64_t i = 0; i < 200; ++i)
            if (second->Ping(i) != i) return false;
        return true;
    });
    for (int64_t i = 0; i < 200; ++i) ASSERT_EQ(direct->Ping(i), i);
    EXPECT_TRUE(other.get());
}

TEST_F(TheClientLibrary, FailsCallsOnlyCallsOnceTheWorkerIsGone) {
    auto sup = supervisor();
    auto faulty = make_bridge<FaultyProxy>(sup, "Faulty", kNobody, calls_only);
    const auto before = Clock::now();
    EXPECT_THROW(faulty->Crash("abort"), Error);
    EXPECT_LT(Clock::now() - before, 1s);
    (void)faulty.instance().wait();
    EXPECT_THROW(faulty->Throw("after the crash"), Error);
    EXPECT_FALSE(faulty.connected().disconnected());  // nothing watches a calls-only connection
}

}  // namespace
}  // namespace offshoot::test

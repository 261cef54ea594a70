// supervisor_death_test.cpp — issue 8 item 5: offshootd SIGKILLed with 10 running workers
// takes them all with it within 1 s (their parent-death signal; the workers' pidfds, opened
// from MainPID before the kill, are the events waited on), and an offshootd restarted on the
// same runtime directory starts clean: no stale socket left in <runtime>/instances/, no handle
// listed, ids counted afresh, the old handles' paths unknown, spawning works.
//
// Not a DaemonTest: the fixture must outlive one offshootd and start another on its bus.
#include <signal.h>

#include "reliability_support.hpp"

namespace offshoot::test {
namespace {

using ::testing::IsEmpty;

constexpr int kWorkers = 10;

std::vector<std::filesystem::path> entries(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) out.push_back(e.path());
    return out;
}

class AKilledSupervisor : public ::testing::Test {
protected:
    TestBus bus_;
    TempDir runtime_{"offshoot-runtime", 0755};
    std::optional<TestDaemon> daemon_;

    TestDaemonOptions options() const {
        TestDaemonOptions o;
        o.runtime_dir = runtime_.path();
        return o;
    }
};

TEST_F(AKilledSupervisor, TakesAllItsWorkersWithItWithinOneSecondAndARestartStartsClean) {
    daemon_.emplace(bus_, options());
    std::vector<std::string> old_paths;
    std::vector<PidWatch> workers;
    {
        BusClient client(daemon_->address());
        static constexpr const char* kClasses[] = {"Counter", "Echo", "Sleeper", "Ticker", "Faulty"};
        for (int i = 0; i < kWorkers; ++i) {
            const char* cls = kClasses[i % 5];
            std::vector<std::string> args;
            if (std::string(cls) == "Sleeper" || std::string(cls) == "Ticker") args = {"600000"};
            SpawnReply r = spawn_with_options(client, cls, {{"uid", kNobody}, {"arguments", args}});
            ASSERT_TRUE(r.ok()) << cls << ": " << r.describe();
            old_paths.push_back(r.path);
            workers.emplace_back(static_cast<pid_t>(instance_main_pid(client, r.path)));
            ASSERT_TRUE(workers.back().valid()) << r.path;
        }
        for (const auto& w : workers) ASSERT_TRUE(w.alive());
    }
    const auto sockets = runtime_.path() / "instances";
    const std::size_t sockets_before = entries(sockets).size();
    EXPECT_EQ(sockets_before, static_cast<std::size_t>(kWorkers)) << "one socket per running instance";

    const auto killed_at = Clock::now();
    const ExitStatus status = daemon_->kill();
    EXPECT_EQ(status.signal, SIGKILL) << status.describe();
    const Deadline one_second(1s);
    int survivors = 0;
    for (const auto& w : workers)
        if (!w.gone(one_second)) {
            ++survivors;
            ADD_FAILURE() << "worker " << w.pid() << " is alive 1 s after offshootd's SIGKILL";
        }
    const double all_gone = ms_since(killed_at);
    report_figure("offshootd SIGKILL → its 10 workers gone", all_gone);
    EXPECT_EQ(survivors, 0);
    EXPECT_LT(all_gone, 1000.0);
    report_value("stale sockets left in <runtime>/instances/ by the killed offshootd",
                 static_cast<double>(entries(sockets).size()), "");
    daemon_.reset();

    // A new offshootd on the same bus and runtime directory.
    daemon_.emplace(bus_, options());
    BusClient client(daemon_->address());
    EXPECT_THAT(entries(sockets), IsEmpty()) << "stale sockets survive the restart";
    EXPECT_THAT(list_instances(client), IsEmpty());
    EXPECT_EQ(instance_count(client), 0u);
    for (const auto& path : old_paths) {
        Reply state = client.call(kBusName, path.c_str(), "org.freedesktop.DBus.Properties", "Get",
                                  [](sd_bus_message* m) { return sd_bus_message_append(m, "ss", kInstanceInterface, "State"); });
        EXPECT_FALSE(state.ok()) << "the restarted offshootd answers for the old handle " << path;
        Reply stopped = stop_instance(client, path);
        EXPECT_FALSE(stopped.ok()) << "the restarted offshootd accepts Stop on the old handle " << path;
    }

    // Ids start afresh: the first new handle has the first old one's path, and is a new instance.
    SpawnReply r = spawn(client, "Counter", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.path, old_paths.front());
    EXPECT_EQ(instance_state(client, r.path), "running");
    {
        BusClient peer(r.address);
        EXPECT_EQ(counter_increment(peer, 3), 3) << "a fresh Counter starts at 0";
    }
    EXPECT_EQ(list_instances(client).size(), 1u);
    EXPECT_EQ(entries(sockets).size(), 1u);
    EXPECT_TRUE(stop_instance(client, r.path).ok());
    EXPECT_EQ(wait_instance(client, r.path).result, "success");
    EXPECT_TRUE(wait_until([&] { return daemon_->zombie_children().empty(); }, Deadline(5s)));
}

}  // namespace
}  // namespace offshoot::test

// soak_test.cpp — issue 8 item 2: many spawn → call → stop → release cycles, and as many that
// end in a crash instead of a stop, leave offshootd as they found it: no zombie, no child, no
// handle, no socket, the same number of fds, and less than 1 MiB more resident memory (VmRSS,
// measured after a warm-up so that what is allocated once and kept is already counted).
//
// CI runs 200 cycles of each; scripts/soak.sh runs 10,000 (OFFSHOOT_SOAK_CYCLES).
#include "reliability_support.hpp"

namespace offshoot::test {
namespace {

using ::testing::IsEmpty;

constexpr int kWarmUpCycles = 20;
constexpr long kMaxRssGrowthKib = 1024;

class ASoak : public DaemonTest {
public:  // the cycles are passed to soak() by member pointer

    // One Counter: spawned, called (result checked), stopped, released.
    void stop_cycle(int i) {
        SpawnReply r = spawn(bus(), "Counter", kNobody);
        ASSERT_TRUE(r.ok()) << "cycle " << i << ": " << r.describe();
        {
            BusClient peer(r.address);
            ASSERT_EQ(counter_increment(peer, i + 1), i + 1) << "cycle " << i;
        }
        Reply stopped = stop_instance(bus(), r.path);
        ASSERT_TRUE(stopped.ok()) << "cycle " << i << ": " << stopped.describe();
        ASSERT_EQ(instance_state(bus(), r.path), "exited") << "cycle " << i;
        Reply released = release_instance(bus(), r.path);
        ASSERT_TRUE(released.ok()) << "cycle " << i << ": " << released.describe();
    }

    // One Faulty: spawned, crashed mid-call (segv, abort, exit in turn), waited for, released.
    void crash_cycle(int i) {
        static constexpr const char* kHow[] = {"segv", "abort", "exit"};
        const char* how = kHow[i % 3];
        SpawnReply r = spawn(bus(), "Faulty", kNobody);
        ASSERT_TRUE(r.ok()) << "cycle " << i << ": " << r.describe();
        {
            BusClient peer(r.address);
            Reply crashed = peer.call(kObjectName, kObjectPath, kFaultyInterface, "Crash",
                                      [how](sd_bus_message* m) { return sd_bus_message_append(m, "s", how); });
            ASSERT_FALSE(crashed.ok()) << "cycle " << i << ": Crash(" << how << ") answered";
        }
        WaitResult w = wait_instance(bus(), r.path);
        ASSERT_EQ(w.error, "") << "cycle " << i;
        ASSERT_NE(w.result, "success") << "cycle " << i << ": Crash(" << how << ")";
        ASSERT_EQ(instance_state(bus(), r.path), "failed") << "cycle " << i;
        Reply released = release_instance(bus(), r.path);
        ASSERT_TRUE(released.ok()) << "cycle " << i << ": " << released.describe();
    }

    void soak(const char* name, void (ASoak::*cycle)(int)) {
        const int cycles = count_from_env("OFFSHOOT_SOAK_CYCLES", 200);
        for (int i = 0; i < kWarmUpCycles; ++i) {
            (this->*cycle)(i);
            if (HasFatalFailure()) return;
        }
        const std::size_t fds_before = daemon().fd_count();
        const long rss_before = rss_kib(daemon().pid());
        ASSERT_GT(rss_before, 0);

        const auto t0 = Clock::now();
        for (int i = 0; i < cycles; ++i) {
            (this->*cycle)(i);
            if (HasFatalFailure()) return;
        }
        const double took = ms_since(t0);

        // (Settled first: sd_notify's STATUS= opens a socket for a moment, and a read of /proc
        // can catch it. A descriptor that leaked does not go away.)
        (void)wait_until([&] { return daemon().fd_count() == fds_before; }, Deadline(2s));
        const std::size_t fds_after = daemon().fd_count();
        const long rss_after = rss_kib(daemon().pid());
        const std::string what = std::string(name) + " × " + std::to_string(cycles);
        report_value(what + ": cycles per second", cycles / (took / 1000.0), "/s");
        report_value(what + ": offshootd fds before", static_cast<double>(fds_before), "");
        report_value(what + ": offshootd fds after", static_cast<double>(fds_after), "");
        report_value(what + ": offshootd VmRSS before", static_cast<double>(rss_before), "KiB");
        report_value(what + ": offshootd VmRSS growth", static_cast<double>(rss_after - rss_before), "KiB");

        EXPECT_EQ(fds_after, fds_before) << "offshootd's fd count changed";
        EXPECT_LT(rss_after - rss_before, rss_growth_bound_kib(kMaxRssGrowthKib))
            << "offshootd's VmRSS grew from " << rss_before << " KiB to " << rss_after << " KiB";
        EXPECT_THAT(daemon().zombie_children(), IsEmpty());
        EXPECT_THAT(children_of(daemon().pid()), IsEmpty());
        EXPECT_THAT(list_instances(bus()), IsEmpty());
        EXPECT_EQ(instance_count(bus()), 0u);
        const auto sockets = daemon().runtime_dir() / "instances";
        EXPECT_TRUE(!std::filesystem::exists(sockets) || std::filesystem::is_empty(sockets))
            << "sockets are left in " << sockets;
    }
};

TEST_F(ASoak, OfSpawnCallStopReleaseCyclesLeavesNoZombieFdHandleOrMemoryBehind) {
    soak("spawn → call → stop → release", &ASoak::stop_cycle);
}

TEST_F(ASoak, OfSpawnCallCrashReleaseCyclesLeavesNoZombieFdHandleOrMemoryBehind) {
    soak("spawn → Crash mid-call → wait → release", &ASoak::crash_cycle);
}

}  // namespace
}  // namespace offshoot::test

// lifecycle_loop_test.cpp — loops end to end, with the Ticker example: one iteration as soon as
// the instance is ready and one after each delay, at those delays (±20 ms), each emitting Tick;
// Count() answers between iterations; after the last one end() runs and the instance exits with
// success. Stop in terminate mode stops the loop between iterations (end() still runs, no Tick
// after it); in wait mode Stop lets the loop finish.
//
// Observing the first tick: READY goes out before the first iteration, but a client can only
// connect once Spawn has returned, so Tick 1 is usually emitted before anyone can subscribe.
// The tests therefore count with Count() and the file end() writes (ticker-end, the final
// count), and measure the spacing of the ticks they can see (2…4) from the signals' arrival.
#include "lifecycle_support.hpp"

namespace offshoot::test {
namespace {

using ::testing::Each;
using ::testing::Le;

constexpr double kTolerance = 20.0;  // ms, as the issue asks

struct Tick {
    uint64_t n;
    Clock::time_point at;
};

class ATicker : public DaemonTest {
protected:
    SpawnReply spawn_ticker(std::vector<std::string> delays, SpawnOptions more = {}) {
        SpawnOptions options = {{"uid", kNobody}, {"cwd", cwd_.str()}, {"arguments", std::move(delays)}};
        options.insert(options.end(), more.begin(), more.end());
        return spawn_with_options(bus(), "Ticker", options);
    }

    // Subscribes to Tick on the peer, recording each one's number and arrival time.
    void record_ticks(BusClient& peer) {
        peer.match_signal(kObjectName, kObjectPath, kTickerInterface, "Tick", [this](sd_bus_message* m) {
            uint64_t n = 0;
            if (sd_bus_message_read(m, "t", &n) >= 0) ticks_.push_back({n, Clock::now()});
        });
    }
    bool saw_tick(uint64_t n) const {
        for (const auto& t : ticks_)
            if (t.n == n) return true;
        return false;
    }
    Clock::time_point tick_time(uint64_t n) const {
        for (const auto& t : ticks_)
            if (t.n == n) return t.at;
        ADD_FAILURE() << "no Tick " << n << " was received";
        return {};
    }
    std::vector<uint64_t> tick_numbers() const {
        std::vector<uint64_t> v;
        for (const auto& t : ticks_) v.push_back(t.n);
        return v;
    }
    std::string end_file() const { return read_text_file(cwd_ / "ticker-end"); }

    TempDir cwd_{"offshoot-ticker", 0777};  // nobody writes ticker-end here
    std::vector<Tick> ticks_;
};

TEST_F(ATicker, TicksAtStartAndAfterEachDelayAtThoseSpacingsThenEndsWithSuccess) {
    SpawnReply r = spawn_ticker({"100", "200", "300"});
    ASSERT_TRUE(r.ok()) << r.describe();
    BusClient peer(r.address);
    record_ticks(peer);

    ASSERT_TRUE(process_peer_until(peer, [&] { return saw_tick(2); }, Deadline(5s)))
        << "ticks: " << ::testing::PrintToString(tick_numbers());
    // Between iterations the object answers, and has counted what it has done so far: 2, or 3
    // if this call was slower than the 200 ms to the next iteration (a loaded machine).
    EXPECT_THAT(call_t(peer, kTickerInterface, "Count"), ::testing::AllOf(::testing::Ge(2u), ::testing::Le(3u)));
    ASSERT_TRUE(process_peer_until(peer, [&] { return saw_tick(4); }, Deadline(5s)))
        << "ticks: " << ::testing::PrintToString(tick_numbers());

    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "success");
    EXPECT_EQ(w.code, 0);
    // Everything the worker sent has arrived once its end closed the connection.
    EXPECT_TRUE(process_until_closed(peer, Deadline(5s)));
    EXPECT_THAT(tick_numbers(), Each(Le(4u))) << "a Tick after the last iteration";
    EXPECT_EQ(end_file(), "4\n") << "end() did not run, or counted other than 4 iterations";

    const double d23 = ms_between(tick_time(2), tick_time(3));
    const double d34 = ms_between(tick_time(3), tick_time(4));
    report_figure("Ticker spacing 2→3 (200 ms asked)", d23);
    report_figure("Ticker spacing 3→4 (300 ms asked)", d34);
    EXPECT_NEAR(d23, 200.0, kTolerance);
    EXPECT_NEAR(d34, 300.0, kTolerance);
    if (saw_tick(1)) {
        EXPECT_NEAR(ms_between(tick_time(1), tick_time(2)), 100.0, kTolerance);
    }
}

TEST_F(ATicker, StoppedAfterAbout150MsHasEmittedOnlyTheTicksDueByThenAndRanEnd) {
    SpawnReply r = spawn_ticker({"100", "200", "300"});
    ASSERT_TRUE(r.ok()) << r.describe();
    BusClient peer(r.address);
    record_ticks(peer);
    std::vector<std::string> exited;
    bus().match_signal(kBusName, r.path.c_str(), kInstanceInterface, "Exited", [&](sd_bus_message* m) {
        const char* result = nullptr;
        int32_t code = -1;
        if (sd_bus_message_read(m, "si", &result, &code) >= 0) exited.emplace_back(result);
    });

    // Tick 2 comes at ~100 ms; Stop ~50 ms later, well before tick 3 (at ~300 ms).
    ASSERT_TRUE(process_peer_until(peer, [&] { return saw_tick(2); }, Deadline(5s)));
    const auto stop_at = tick_time(2) + 50ms;
    process_peer_until(peer, [] { return false; }, Deadline(stop_at - Clock::now()));
    EXPECT_EQ(call_t(peer, kTickerInterface, "Count"), 2u);

    Reply stopped = stop_instance(bus(), r.path);
    ASSERT_TRUE(stopped.ok()) << stopped.describe();
    EXPECT_TRUE(process_until_closed(peer, Deadline(5s)));
    EXPECT_THAT(tick_numbers(), Each(Le(2u))) << "a Tick after Stop";
    EXPECT_EQ(end_file(), "2\n") << "end() did not run after Stop";

    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "success");
    EXPECT_EQ(w.code, 0);
    EXPECT_TRUE(bus().process_until([&] { return !exited.empty(); }, Deadline(5s)));
    EXPECT_EQ(exited, std::vector<std::string>{"success"});
}

TEST_F(ATicker, InStopModeWaitFinishesItsLoopBeforeStopReturns) {
    const auto t0 = Clock::now();
    SpawnReply r = spawn_ticker({"100", "100"}, {{"stop-mode", std::string("wait")}});
    ASSERT_TRUE(r.ok()) << r.describe();
    Reply stopped = stop_instance(bus(), r.path);
    ASSERT_TRUE(stopped.ok()) << stopped.describe();
    EXPECT_GE(ms_since(t0), 200.0);
    EXPECT_EQ(end_file(), "3\n");
    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "success");
}

TEST_F(ATicker, RefusesADelayThatIsNotANumberWithSpawnFailed) {
    SpawnReply r = spawn_ticker({"100", "-5"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error_name, kSpawnFailed);
    EXPECT_THAT(r.error_message, ::testing::HasSubstr("not '-5'"));
}

}  // namespace
}  // namespace offshoot::test

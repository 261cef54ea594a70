// load_test.cpp — issue 8 item 6: many client processes at once, each spawning a Counter and
// an Echo and making calls whose results it checks (Counter's running total, Echo's values and
// bytes), then stopping and releasing both: no reply lost or mismatched, no instance left; all
// the while the test process itself asks offshootd for ListInstances and every answer comes in
// < 100 ms.
//
// CI: 20 clients × 200 calls; scripts/soak.sh: 50 × 1,000 (OFFSHOOT_LOAD_CLIENTS/_CALLS).
#include <fcntl.h>
#include <poll.h>

#include <algorithm>
#include <cstdlib>

#include "reliability_support.hpp"

namespace offshoot::test {
namespace {

using ::testing::IsEmpty;

constexpr double kMaxListInstancesMs = 100.0;

// What one client did, as the line it writes: "<calls> <mismatched> <failed> <first problem>".
struct ClientTally {
    long calls = 0, mismatched = 0, failed = 0;
    std::string problem;
};

// The client's work (runs in the forked child): every reply is checked against what was sent.
ClientTally run_client(const std::string& address, int client, int calls) {
    ClientTally t;
    auto note = [&](long& counter, const std::string& what) {
        ++counter;
        if (t.problem.empty()) t.problem = what;
    };
    BusClient c(address);
    SpawnReply counter = spawn_with_options(c, "Counter", {{"uid", kNobody}, {"tie-to-caller", true}});
    SpawnReply echo = spawn_with_options(c, "Echo", {{"uid", kNobody}, {"tie-to-caller", true}});
    if (!counter.ok() || !echo.ok()) {
        note(t.failed, "spawn: " + counter.describe() + " / " + echo.describe());
        return t;
    }
    {
        BusClient counter_peer(counter.address);
        BusClient echo_peer(echo.address);
        int64_t total = 0;
        std::string bytes;
        for (int i = 0; i < calls; ++i) {
            const int64_t v = static_cast<int64_t>(client) * 1'000'000'007LL + i;
            try {
                switch (i % 3) {
                case 0: {
                    total += i + 1;
                    const int64_t got = counter_increment(counter_peer, i + 1);
                    if (got != total) note(t.mismatched, "Increment → " + std::to_string(got) + ", expected " + std::to_string(total));
                    break;
                }
                case 1: {
                    const int64_t got = echo_ping(echo_peer, v);
                    if (got != v) note(t.mismatched, "Ping(" + std::to_string(v) + ") → " + std::to_string(got));
                    break;
                }
                default: {
                    bytes.assign(static_cast<std::size_t>(1 + i % 256), static_cast<char>(i));
                    bytes[0] = static_cast<char>(client);
                    if (echo_bytes(echo_peer, bytes) != bytes) note(t.mismatched, "Echo of " + std::to_string(bytes.size()) + " bytes");
                    break;
                }
                }
            } catch (const std::exception& e) {
                note(t.failed, std::string("call ") + std::to_string(i) + ": " + e.what());
            }
            ++t.calls;
        }
    }
    for (const auto* r : {&counter, &echo}) {
        Reply stopped = stop_instance(c, r->path);
        if (!stopped.ok()) note(t.failed, "Stop: " + stopped.describe());
        WaitResult w = wait_instance(c, r->path);
        if (w.result != "success") note(t.failed, "Wait after Stop: " + w.result + w.error);
        Reply released = release_instance(c, r->path);
        if (!released.ok()) note(t.failed, "Release: " + released.describe());
    }
    return t;
}

class ManyConcurrentClients : public DaemonTest {};

TEST_F(ManyConcurrentClients, GetEveryReplyRightAndLeaveNothingWhileListInstancesStaysUnder100Ms) {
    const int clients = count_from_env("OFFSHOOT_LOAD_CLIENTS", 20);
    const int calls = count_from_env("OFFSHOOT_LOAD_CALLS", 200);
    const std::string address = daemon().address();

    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    const int read_end = fds[0], write_end = fds[1];
    std::vector<Subprocess> children;
    const auto t0 = Clock::now();
    for (int n = 0; n < clients; ++n)
        children.push_back(Subprocess::fork([=]() -> int {
            ::close(read_end);
            ClientTally t;
            try {
                t = run_client(address, n, calls);
            } catch (const std::exception& e) {
                t.failed++;
                t.problem = e.what();
            }
            for (char& ch : t.problem)
                if (ch == '\n') ch = ' ';
            // One write of less than PIPE_BUF: the clients' lines do not interleave.
            std::string line = std::to_string(t.calls) + " " + std::to_string(t.mismatched) + " " +
                               std::to_string(t.failed) + " " + t.problem.substr(0, 300) + "\n";
            return ::write(write_end, line.data(), line.size()) == static_cast<ssize_t>(line.size()) ? 0 : 5;
        }));
    ::close(write_end);

    // While they run: ListInstances, timed, paced by the clients' own ends (their pidfds).
    std::vector<double> latencies;
    std::vector<std::pair<double, double>> samples;  // (ms since the clients started, latency)
    std::string output;
    const Deadline deadline(100s);
    auto running = [&] {
        return std::any_of(children.begin(), children.end(), [](Subprocess& s) { return !s.finished(); });
    };
    while (running() && !deadline.expired()) {
        const auto t = Clock::now();
        (void)list_instances(bus());
        latencies.push_back(ms_since(t));
        samples.emplace_back(ms_since(t0) - latencies.back(), latencies.back());
        std::vector<pollfd> p;
        for (auto& s : children)
            if (!s.status()) p.push_back({s.pidfd(), POLLIN, 0});
        p.push_back({read_end, POLLIN, 0});
        if (::poll(p.data(), p.size(), 20) > 0 && (p.back().revents & POLLIN)) {
            char buf[4096];
            ssize_t n = ::read(read_end, buf, sizeof buf);
            if (n > 0) output.append(buf, static_cast<std::size_t>(n));
        }
    }
    const double took = ms_since(t0);
    ASSERT_FALSE(running()) << "the clients did not finish within 100 s";
    for (;;) {  // the rest of the lines: every writer is gone, so read to end of file
        char buf[4096];
        ssize_t n = ::read(read_end, buf, sizeof buf);
        if (n <= 0) break;
        output.append(buf, static_cast<std::size_t>(n));
    }
    ::close(read_end);

    long total_calls = 0, mismatched = 0, failed = 0, lines = 0;
    std::istringstream in(output);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        ClientTally t;
        f >> t.calls >> t.mismatched >> t.failed;
        std::getline(f, t.problem);
        ++lines;
        total_calls += t.calls;
        mismatched += t.mismatched;
        failed += t.failed;
        EXPECT_EQ(t.mismatched + t.failed, 0) << "a client:" << t.problem;
    }
    for (auto& s : children) EXPECT_TRUE(s.status() && s.status()->success()) << "client " << s.pid();
    EXPECT_EQ(lines, clients) << "clients that reported";
    EXPECT_EQ(total_calls, static_cast<long>(clients) * calls) << "calls made";
    EXPECT_EQ(mismatched, 0);
    EXPECT_EQ(failed, 0);

    ASSERT_FALSE(latencies.empty());
    const double max_latency = *std::max_element(latencies.begin(), latencies.end());
    std::sort(latencies.begin(), latencies.end());
    const std::string what = std::to_string(clients) + " clients × " + std::to_string(calls) + " calls";
    report_value(what + ": checked calls per second", static_cast<double>(total_calls) / (took / 1000.0), "/s");
    report_value(what + ": ListInstances samples", static_cast<double>(latencies.size()), "");
    report_figure((what + ": ListInstances median").c_str(), latencies[latencies.size() / 2]);
    report_figure((what + ": ListInstances max").c_str(), max_latency);
    // When the slowest answers came: the phase (spawning, calling, stopping) says whose they are.
    std::sort(samples.begin(), samples.end(), [](auto& a, auto& b) { return a.second > b.second; });
    for (std::size_t i = 0; i < std::min<std::size_t>(samples.size(), 5); ++i)
        std::printf("[  SLOWEST ] %.1f ms, asked at %.0f ms of %.0f\n", samples[i].second, samples[i].first, took);
    // The responsiveness bound is a speed target: it is asserted by the full-count run
    // (scripts/soak.sh sets OFFSHOOT_LOAD_ASSERT_LATENCY=1), not in CI, where the machine's
    // other load decides it as much as offshootd does. Here it is a figure, and every reply
    // must still have come back.
    if (const char* strict = std::getenv("OFFSHOOT_LOAD_ASSERT_LATENCY"); strict && *strict == '1') {
        EXPECT_LT(max_latency, kMaxListInstancesMs);
    }

    EXPECT_THAT(list_instances(bus()), IsEmpty());
    EXPECT_TRUE(wait_until([&] { return children_of(daemon().pid()).empty(); }, Deadline(5s)))
        << "workers left behind";
}

}  // namespace
}  // namespace offshoot::test

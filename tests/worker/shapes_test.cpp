// shapes_test.cpp — the worker drives tasks and loops (offshoot/shapes.hpp) and stops them as
// the stop mode says: the example classes Sleeper (a task) and Ticker (a loop) run in the real
// offshoot-worker, launched as offshootd launches it, signalled directly and called with busctl.
#include "worker_launcher.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <sstream>

namespace offshoot::test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

constexpr const char* dest = "org.offshoot1.Object";
constexpr const char* path = "/org/offshoot1/object";

WorkerConfig sleeper(std::vector<std::string> arguments, std::string stop_mode = "") {
    return {.plugin = SLEEPER_PLUGIN_PATH, .class_name = "Sleeper", .stop_mode = std::move(stop_mode),
            .arguments = std::move(arguments)};
}

WorkerConfig ticker(std::vector<std::string> arguments, const std::string& cwd, std::string stop_mode = "") {
    return {.plugin = TICKER_PLUGIN_PATH, .class_name = "Ticker", .stop_mode = std::move(stop_mode),
            .arguments = std::move(arguments), .cwd = cwd};
}

CommandResult call(const Worker& w, const char* iface, const char* member) {
    return run({"busctl", "--address=" + w.address(), "call", dest, path, iface, member});
}

// "t 1234\n" → 1234; -1 when the reply is something else.
long long read_t(const CommandResult& r) {
    long long v = -1;
    if (r.succeeded() && r.out.rfind("t ", 0) == 0) v = std::stoll(r.out.substr(2));
    return v;
}

std::string read_file(const std::string& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

testing::AssertionResult exited_with(const std::optional<int>& status, int code) {
    if (!status) return testing::AssertionFailure() << "still running at the deadline";
    if (!WIFEXITED(*status)) return testing::AssertionFailure() << "ended by signal " << WTERMSIG(*status);
    if (WEXITSTATUS(*status) != code)
        return testing::AssertionFailure() << "exited with " << WEXITSTATUS(*status) << ", not " << code;
    return testing::AssertionSuccess();
}

long long ms_since(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// ---- tasks -------------------------------------------------------------------------------

TEST(ATaskWorker, ExitsWithTheCodeRunReturnsOnceRunReturns) {
    const auto t0 = Clock::now();
    Worker w(sleeper({"200", "7"}));
    ASSERT_TRUE(w.wait_ready());
    EXPECT_TRUE(exited_with(w.process().wait(10s), 7));
    EXPECT_GE(ms_since(t0), 200);
}

TEST(ATaskWorker, ExitsZeroForATaskThatSucceeds) {
    Worker w(sleeper({"0"}));
    ASSERT_TRUE(w.wait_ready());
    EXPECT_TRUE(exited_with(w.process().wait(10s), 0));
}

TEST(ATaskWorker, AnswersCallsWhileRunRuns) {
    Worker w(sleeper({"5000", "3"}));
    ASSERT_TRUE(w.wait_ready());
    const long long first = read_t(call(w, "org.offshoot1.example.Sleeper", "Remaining"));
    EXPECT_GT(first, 0);
    EXPECT_LE(first, 5000);
    const long long second = read_t(call(w, "org.offshoot1.example.Sleeper", "Remaining"));
    EXPECT_GE(second, 0);
    EXPECT_LE(second, first);
    EXPECT_FALSE(w.process().wait(0ms)) << "the task ended early";
}

TEST(ATaskWorker, CutsRunShortAndExitsZeroOnSigtermInTerminateMode) {
    Worker w(sleeper({"60000", "5"}, "terminate"));
    ASSERT_TRUE(w.wait_ready());
    const auto t0 = Clock::now();
    w.process().kill(SIGTERM);
    EXPECT_TRUE(exited_with(w.process().wait(5s), 0));
    EXPECT_LT(ms_since(t0), 1000);
}

TEST(ATaskWorker, LetsRunFinishOnSigtermInWaitMode) {
    Worker w(sleeper({"400", "4"}, "wait"));
    ASSERT_TRUE(w.wait_ready());
    const auto t0 = Clock::now();
    w.process().kill(SIGTERM);
    // Still serving after the SIGTERM: the task goes on.
    EXPECT_GT(read_t(call(w, "org.offshoot1.example.Sleeper", "Remaining")), 0);
    // Exit code 4 shows run() ran to its end (a cut-short Sleeper exits 0).
    EXPECT_TRUE(exited_with(w.process().wait(10s), 4));
    EXPECT_GE(ms_since(t0), 300);
}

TEST(ATaskWorker, StopsOnSigintEvenInWaitMode) {
    Worker w(sleeper({"60000", "5"}, "wait"));
    ASSERT_TRUE(w.wait_ready());
    w.process().kill(SIGTERM);
    w.process().kill(SIGINT);
    EXPECT_TRUE(exited_with(w.process().wait(5s), 0));
}

TEST(ATaskWorker, RefusesArgumentsItCannotUseAtStartUp) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {}, {"soon"}, {"100", "256"}, {"100", "-1"}, {"100", "1", "extra"}, {"99999999999"}}) {
        Worker w(sleeper(args));
        const std::string m = w.wait_message();
        EXPECT_THAT(m, StartsWith("ERROR=create-object\n")) << ::testing::PrintToString(args);
        EXPECT_THAT(m, HasSubstr("Sleeper takes arguments [milliseconds, exit-code]"));
        EXPECT_TRUE(exited_with(w.process().wait(10s), 1));
    }
}

// ---- loops -------------------------------------------------------------------------------

TEST(ALoopWorker, IteratesOnceAtStartAndOncePerDelayThenRunsEndAndExitsZero) {
    TempDir cwd;
    const auto t0 = Clock::now();
    Worker w(ticker({"50", "50", "50"}, cwd.path()));
    ASSERT_TRUE(w.wait_ready());
    EXPECT_TRUE(exited_with(w.process().wait(10s), 0));
    EXPECT_GE(ms_since(t0), 150);
    EXPECT_EQ(read_file(cwd.path() + "/ticker-end"), "4\n");
}

TEST(ALoopWorker, TicksOnceAndEndsWithoutDelays) {
    TempDir cwd;
    Worker w(ticker({}, cwd.path()));
    ASSERT_TRUE(w.wait_ready());
    EXPECT_TRUE(exited_with(w.process().wait(10s), 0));
    EXPECT_EQ(read_file(cwd.path() + "/ticker-end"), "1\n");
}

TEST(ALoopWorker, AnswersCallsBetweenIterations) {
    TempDir cwd;
    Worker w(ticker({"100", "60000"}, cwd.path()));
    ASSERT_TRUE(w.wait_ready());
    // The first iteration runs as soon as the worker is ready, so a call sees at least 1.
    EXPECT_GE(read_t(call(w, "org.offshoot1.example.Ticker", "Count")), 1);
    EXPECT_FALSE(w.process().wait(0ms));
}

TEST(ALoopWorker, StopsBetweenIterationsRunsEndAndExitsZeroOnSigterm) {
    TempDir cwd;
    Worker w(ticker({"60000"}, cwd.path(), "terminate"));
    ASSERT_TRUE(w.wait_ready());
    ASSERT_EQ(read_t(call(w, "org.offshoot1.example.Ticker", "Count")), 1);
    const auto t0 = Clock::now();
    w.process().kill(SIGTERM);
    EXPECT_TRUE(exited_with(w.process().wait(5s), 0));
    EXPECT_LT(ms_since(t0), 1000);
    EXPECT_EQ(read_file(cwd.path() + "/ticker-end"), "1\n");
}

TEST(ALoopWorker, LetsTheLoopFinishOnSigtermInWaitMode) {
    TempDir cwd;
    Worker w(ticker({"200", "200"}, cwd.path(), "wait"));
    ASSERT_TRUE(w.wait_ready());
    w.process().kill(SIGTERM);
    EXPECT_TRUE(exited_with(w.process().wait(10s), 0));
    EXPECT_EQ(read_file(cwd.path() + "/ticker-end"), "3\n");
}

TEST(ALoopWorker, LetsClientsConnectWhileItEmitsSignals) {
    // A Tick every millisecond: clients connect while signals go out. A bus client that gets
    // a signal before its Hello reply drops the connection, so the worker holds signals back
    // until a peer has sent its first message.
    TempDir cwd;
    Worker w(ticker(std::vector<std::string>(60000, "1"), cwd.path()));
    ASSERT_TRUE(w.wait_ready());
    for (int i = 0; i < 20; ++i) {
        CommandResult r = call(w, "org.offshoot1.example.Ticker", "Count");
        ASSERT_TRUE(r.succeeded()) << "client " << i << ": " << r.out;
    }
}

TEST(ALoopWorker, IteratesOnceEvenWhenStoppedAsSoonAsItIsReady) {
    TempDir cwd;
    Worker w(ticker({"60000"}, cwd.path()));
    ASSERT_TRUE(w.wait_ready());
    w.process().kill(SIGTERM);
    EXPECT_TRUE(exited_with(w.process().wait(5s), 0));
    EXPECT_EQ(read_file(cwd.path() + "/ticker-end"), "1\n");
}

TEST(ALoopWorker, ReportsAThrowingBeginAsBeginWithTheErrorsName) {
    Worker w({.plugin = LOOP_PROBE_PLUGIN_PATH, .class_name = "LoopProbe", .arguments = {"begin-throws=no input"}});
    EXPECT_EQ(w.wait_message(), "ERROR=begin\nERRNO=0\nMESSAGE=org.offshoot1.test.Error.Begin: no input");
    EXPECT_TRUE(exited_with(w.process().wait(10s), 1));
}

TEST(ALoopWorker, RefusesADelayThatIsNotANumberAtStartUp) {
    TempDir cwd;
    Worker w(ticker({"100", "later"}, cwd.path()));
    const std::string m = w.wait_message();
    EXPECT_THAT(m, StartsWith("ERROR=create-object\n"));
    EXPECT_THAT(m, HasSubstr("not 'later'"));
    EXPECT_TRUE(exited_with(w.process().wait(10s), 1));
}

}  // namespace
}  // namespace offshoot::test

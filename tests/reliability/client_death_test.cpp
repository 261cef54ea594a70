// client_death_test.cpp — issue 8 item 4: a client process owning 10 tied instances (and 3
// untied ones) is SIGKILLed: the 10 tied processes are gone and their handles removed within
// 1 s; the untied ones keep running and root can still manage them (Stop, Release of a running
// one, Kill + Wait + Release).
//
// lifecycle_owner_test.cpp covers 3 tied or 3 untied instances per client; this is the issue's
// count, with both kinds owned by the same connection.
#include <fcntl.h>
#include <signal.h>

#include <set>

#include "reliability_support.hpp"

namespace offshoot::test {
namespace {

using ::testing::IsEmpty;

constexpr int kTied = 10;

struct Owned {
    bool tied = false;
    std::string path;
    pid_t pid = 0;
};

// Lines "tied|untied <path> <pid>" up to "ready", or nullopt if the client died first.
std::optional<std::vector<Owned>> read_owned(int fd, const Deadline& deadline) {
    std::string text;
    while (text.find("ready\n") == std::string::npos) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, deadline.poll_timeout_ms()) <= 0) return std::nullopt;
        char buf[1024];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) return std::nullopt;
        text.append(buf, static_cast<size_t>(n));
    }
    std::vector<Owned> out;
    std::istringstream in(text);
    std::string word;
    while (in >> word && word != "ready") {
        Owned o;
        o.tied = word == "tied";
        in >> o.path >> o.pid;
        out.push_back(o);
    }
    return out;
}

class AClientOwningTenTiedInstances : public DaemonTest {};

TEST_F(AClientOwningTenTiedInstances, LeavesNoneBehindWithinOneSecondOfItsSigkillButItsUntiedOnesStayManageable) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    const int read_end = fds[0], write_end = fds[1];
    const std::string address = daemon().address();
    Subprocess client = Subprocess::fork([=]() -> int {
        ::close(read_end);
        BusClient c(address);
        std::string out;
        auto add = [&](const char* cls, bool tied, std::vector<std::string> args) {
            SpawnReply r = spawn_with_options(c, cls, {{"uid", kNobody}, {"arguments", std::move(args)}, {"tie-to-caller", tied}});
            if (!r.ok()) return false;
            out += std::string(tied ? "tied " : "untied ") + r.path + " " +
                   std::to_string(instance_main_pid(c, r.path)) + "\n";
            return true;
        };
        for (int i = 0; i < kTied; ++i)
            if (!add(i % 2 ? "Echo" : "Counter", true, {})) return 2;
        if (!add("Counter", false, {}) || !add("Echo", false, {}) || !add("Sleeper", false, {"600000"})) return 3;
        out += "ready\n";
        if (::write(write_end, out.data(), out.size()) != static_cast<ssize_t>(out.size())) return 4;
        for (;;) ::pause();
    });
    ::close(write_end);
    auto owned = read_owned(read_end, Deadline(30s));
    ::close(read_end);
    ASSERT_TRUE(owned) << "the client did not report its instances";
    ASSERT_EQ(owned->size(), static_cast<std::size_t>(kTied + 3));

    std::vector<PidWatch> tied;
    std::set<std::string> tied_paths, removed;
    std::vector<Owned> untied;
    for (const auto& o : *owned) {
        if (o.tied) {
            tied.emplace_back(o.pid);
            ASSERT_TRUE(tied.back().valid()) << o.path;
            tied_paths.insert(o.path);
        } else {
            untied.push_back(o);
        }
    }
    bus().match_signal(kBusName, kSupervisorPath, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
                       [&](sd_bus_message* m) {
                           const char* path = nullptr;
                           if (sd_bus_message_read(m, "o", &path) >= 0) removed.insert(path);
                       });

    const auto killed_at = Clock::now();
    client.kill(SIGKILL);
    const Deadline one_second(1s);
    for (const auto& p : tied)
        EXPECT_TRUE(p.gone(one_second)) << "tied instance process " << p.pid() << " outlived its owner by 1 s";
    const double processes_gone = ms_since(killed_at);
    EXPECT_TRUE(bus().process_until([&] { return removed == tied_paths; }, one_second))
        << removed.size() << " of " << kTied << " handles removed";
    const double handles_gone = ms_since(killed_at);
    report_figure("client SIGKILL → its 10 tied instances' processes gone", processes_gone);
    report_figure("client SIGKILL → their 10 handles removed", handles_gone);
    EXPECT_LT(processes_gone, 1000.0);
    EXPECT_LT(handles_gone, 1000.0);

    // The untied ones: running, listed, and root manages each in a different way.
    const auto left = list_instances(bus());
    ASSERT_EQ(left.size(), untied.size());
    for (const auto& o : untied) {
        EXPECT_TRUE(PidWatch(o.pid).alive()) << o.path << " was stopped with its untied owner";
        EXPECT_EQ(instance_state(bus(), o.path), "running") << o.path;
    }
    Reply stopped = stop_instance(bus(), untied[0].path);
    EXPECT_TRUE(stopped.ok()) << stopped.describe();
    EXPECT_EQ(wait_instance(bus(), untied[0].path).result, "success");
    EXPECT_TRUE(release_instance(bus(), untied[0].path).ok());

    PidWatch second(untied[1].pid);
    Reply released = release_instance(bus(), untied[1].path);
    EXPECT_TRUE(released.ok()) << "Release of a running instance: " << released.describe();
    EXPECT_TRUE(second.gone(Deadline(0ms))) << "Release returned before the process was gone";

    EXPECT_TRUE(kill_instance(bus(), untied[2].path, SIGKILL).ok());
    WaitResult w = wait_instance(bus(), untied[2].path);
    EXPECT_EQ(w.result, "signal");
    EXPECT_EQ(w.code, SIGKILL);
    EXPECT_TRUE(release_instance(bus(), untied[2].path).ok());

    EXPECT_THAT(list_instances(bus()), IsEmpty());
}

}  // namespace
}  // namespace offshoot::test

// lifecycle_owner_test.cpp — owner-bound lifetime: a client process that spawned instances with
// tie-to-caller true and is then SIGKILLed leaves none of them behind within 1 s; with
// tie-to-caller false they stay running and root can stop them, while the owner's finished
// handles are forgotten with it.
//
// The client is a real process of its own (forked), with its own bus connection; it reports
// its unique name and its instances' paths and pids through a pipe, then waits to be killed.
#include "lifecycle_support.hpp"

#include <fcntl.h>
#include <signal.h>

#include <set>

namespace offshoot::test {
namespace {

// A pipe whose ends close themselves.
struct Pipe {
    int read_end = -1, write_end = -1;
    Pipe() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) < 0) throw std::system_error(errno, std::generic_category(), "pipe2");
        read_end = fds[0];
        write_end = fds[1];
    }
    ~Pipe() {
        close_write_end();
        if (read_end >= 0) ::close(read_end);
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    void close_write_end() {
        if (write_end >= 0) ::close(std::exchange(write_end, -1));
    }
};

struct ClientInstance {
    std::string path;
    pid_t pid = 0;
};

struct ClientReport {
    std::string unique_name;
    std::vector<ClientInstance> instances;
};

// Reads lines "name <unique>", "instance <path> <pid>", … up to "ready" from `fd`.
std::optional<ClientReport> read_report(int fd, const Deadline& deadline) {
    std::string text;
    while (text.find("ready\n") == std::string::npos) {
        pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, deadline.poll_timeout_ms());
        if (r <= 0) return std::nullopt;
        char buf[512];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) return std::nullopt;  // the client died before it was ready
        text.append(buf, static_cast<size_t>(n));
    }
    ClientReport report;
    std::istringstream in(text);
    std::string word;
    while (in >> word) {
        if (word == "name") {
            in >> report.unique_name;
        } else if (word == "instance") {
            ClientInstance i;
            in >> i.path >> i.pid;
            report.instances.push_back(i);
        }
    }
    return report;
}

class AClientProcess : public DaemonTest {
protected:
    // Forks the client: it spawns one Counter, one running Sleeper and one Ticker with the
    // given tie-to-caller, plus (when asked) one Sleeper that has already finished, reports
    // them, then sleeps until killed.
    Subprocess start_client(bool tie_to_caller, bool with_finished_handle, int report_fd, int write_end) {
        const std::string address = daemon().address();
        const std::string cwd = ticker_dir_.str();
        return Subprocess::fork([=]() -> int {
            ::close(report_fd);
            BusClient client(address);
            std::string out = "name ";
            const char* unique = nullptr;
            sd_bus_get_unique_name(client.get(), &unique);
            out += unique ? unique : "?";
            out += "\n";
            auto add = [&](const std::string& cls, std::vector<std::string> args) -> std::string {
                SpawnReply r = spawn_with_options(client, cls,
                                                  {{"uid", kNobody}, {"cwd", cwd},
                                                   {"arguments", std::move(args)},
                                                   {"tie-to-caller", tie_to_caller}});
                if (!r.ok()) return "";
                out += "instance " + r.path + " " +
                       std::to_string(instance_main_pid(client, r.path)) + "\n";
                return r.path;
            };
            if (add("Counter", {}).empty() || add("Sleeper", {"60000"}).empty() ||
                add("Ticker", {"60000"}).empty())
                return 2;
            if (with_finished_handle) {
                SpawnReply done = spawn_with_options(client, "Sleeper",
                                                     {{"uid", kNobody},
                                                      {"arguments", std::vector<std::string>{"0"}},
                                                      {"tie-to-caller", tie_to_caller}});
                if (!done.ok() || wait_instance(client, done.path).result != "success") return 3;
                out += "finished " + done.path + "\n";
            }
            out += "ready\n";
            if (::write(write_end, out.data(), out.size()) != static_cast<ssize_t>(out.size())) return 4;
            for (;;) ::pause();
        });
    }

    TempDir ticker_dir_{"offshoot-ticker", 0777};
};

TEST_F(AClientProcess, ThatIsKilledLeavesNoneOfItsTiedInstancesBehindWithinOneSecond) {
    Pipe pipe;
    Subprocess client = start_client(/* tie_to_caller= */ true, /* with_finished_handle= */ false,
                                     pipe.read_end, pipe.write_end);
    pipe.close_write_end();  // end of file once the client is gone
    auto report = read_report(pipe.read_end, Deadline(20s));
    ASSERT_TRUE(report) << "the client did not report its instances";
    ASSERT_EQ(report->instances.size(), 3u);

    std::vector<PidWatch> processes;
    std::set<std::string> removed;
    for (const auto& i : report->instances) {
        processes.emplace_back(i.pid);
        ASSERT_TRUE(processes.back().valid()) << "instance pid " << i.pid;
    }
    bus().match_signal(kBusName, kSupervisorPath, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
                       [&](sd_bus_message* m) {
                           const char* path = nullptr;
                           if (sd_bus_message_read(m, "o", &path) >= 0) removed.insert(path);
                       });

    const auto killed_at = Clock::now();
    client.kill(SIGKILL);
    const Deadline one_second(1s);
    for (const auto& p : processes)
        EXPECT_TRUE(p.gone(one_second)) << "instance process " << p.pid() << " outlived its owner by 1 s";
    const double processes_gone = ms_since(killed_at);
    EXPECT_TRUE(bus().process_until([&] { return removed.size() == report->instances.size(); }, one_second))
        << "handles removed: " << removed.size();
    const double handles_gone = ms_since(killed_at);
    report_figure("client SIGKILL → its 3 tied instances' processes gone", processes_gone);
    report_figure("client SIGKILL → their handles removed (InterfacesRemoved)", handles_gone);
    EXPECT_LT(handles_gone, 1000.0);
    EXPECT_THAT(list_instances(bus()), ::testing::IsEmpty());
}

TEST_F(AClientProcess, ThatIsKilledLeavesItsUntiedInstancesRunningForRootToStop) {
    Pipe pipe;
    Subprocess client = start_client(/* tie_to_caller= */ false, /* with_finished_handle= */ true,
                                     pipe.read_end, pipe.write_end);
    pipe.close_write_end();  // end of file once the client is gone
    auto report = read_report(pipe.read_end, Deadline(20s));
    ASSERT_TRUE(report) << "the client did not report its instances";
    ASSERT_EQ(report->instances.size(), 3u);
    ASSERT_EQ(list_instances(bus()).size(), 4u);

    // offshootd learns of the disconnection from the same NameOwnerChanged we wait for, and
    // handles its messages in order: once it has answered a call sent after that signal, it
    // has acted on the disconnection.
    bool owner_gone = false;
    bus().match_signal("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                       "NameOwnerChanged", [&](sd_bus_message* m) {
                           const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
                           if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) >= 0 &&
                               report->unique_name == name && std::string(new_owner).empty())
                               owner_gone = true;
                       });
    client.kill(SIGKILL);
    ASSERT_TRUE(bus().process_until([&] { return owner_gone; }, Deadline(5s)));

    const auto left = list_instances(bus());
    // The finished handle went with its owner; the running instances stay.
    ASSERT_EQ(left.size(), 3u);
    for (const auto& i : report->instances) {
        PidWatch p(i.pid);
        EXPECT_TRUE(p.valid() && p.alive()) << i.path << " was stopped with its untied owner";
        EXPECT_EQ(instance_state(bus(), i.path), "running");
        Reply stopped = stop_instance(bus(), i.path);
        EXPECT_TRUE(stopped.ok()) << "root cannot stop " << i.path << ": " << stopped.describe();
        EXPECT_EQ(wait_instance(bus(), i.path).result, "success");
    }
}

}  // namespace
}  // namespace offshoot::test

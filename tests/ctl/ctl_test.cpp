// ctl_test.cpp — offshootctl against a live offshootd on a private bus: every verb, its --json
// output parsed back, exit codes 1 (D-Bus errors, with their names) and 2 (usage), and the
// lifetime rule: a plain `spawn` outlives the command, `spawn --wait` does not.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "daemon_test.hpp"
#include "offshoot/test/pidfd.hpp"

namespace offshoot::test {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class Offshootctl : public DaemonTest {
protected:
    // offshootctl --address=<the test bus> ARGS…, run to completion.
    RunResult ctl(std::vector<std::string> args, Clock::duration timeout = 30s) {
        args.insert(args.begin(), {OFFSHOOT_TEST_OFFSHOOTCTL, "--address=" + bus_address()});
        return run(args, timeout);
    }

    // The same with --json, its stdout parsed (the test fails on a bad exit or bad JSON).
    json ctl_json(std::vector<std::string> args) {
        args.insert(args.begin(), "--json");
        RunResult r = ctl(args);
        EXPECT_TRUE(r.ok()) << r.describe();
        try {
            return json::parse(r.out);
        } catch (const std::exception& e) {
            ADD_FAILURE() << "not JSON: " << e.what() << "\n" << r.describe();
            return json();
        }
    }

    // Spawns CLASS as nobody through offshootctl; returns its id.
    std::string spawn_as_nobody(const std::string& class_name, std::vector<std::string> extra = {}) {
        std::vector<std::string> args = {"spawn", class_name, "--uid", "65534"};
        args.insert(args.end(), extra.begin(), extra.end());
        json j = ctl_json(args);
        EXPECT_TRUE(j.contains("id")) << j.dump();
        return j.contains("id") ? std::to_string(j["id"].get<uint64_t>()) : "0";
    }

    static std::string path_of(const std::string& id) { return "/org/offshoot1/instance/" + id; }
};

TEST_F(Offshootctl, ClassesShowsEveryClassWithItsInterfaceAndWhoMaySpawnItAsWhom) {
    json classes = ctl_json({"classes"});
    ASSERT_TRUE(classes.is_array());
    bool counter = false;
    for (auto& c : classes) {
        if (c["name"] != "Counter") continue;
        counter = true;
        EXPECT_EQ(c["interface"], "org.offshoot1.example.Counter");
        EXPECT_EQ(c["allowed_users"], json::array({"nobody", "1000-60000"}));
        EXPECT_EQ(c["allowed_callers"], json::array({"root"}));
        EXPECT_EQ(c["allow_any_group"], false);
        EXPECT_EQ(c["working_directory"], "/");
        EXPECT_THAT(c["source"].get<std::string>(), HasSubstr("counter.conf"));
    }
    EXPECT_TRUE(counter) << classes.dump(2);

    RunResult text = ctl({"classes"});
    ASSERT_TRUE(text.ok()) << text.describe();
    EXPECT_THAT(text.out, StartsWith("CLASS"));
    EXPECT_THAT(text.out, ::testing::ContainsRegex("Counter +org\\.offshoot1\\.example\\.Counter +nobody 1000-60000 +root"));
    EXPECT_THAT(text.out, ::testing::Not(HasSubstr("\033"))) << "colour on a pipe";
}

TEST_F(Offshootctl, PlainSpawnPrintsPathAndAddressAndTheInstanceOutlivesTheCommand) {
    json j = ctl_json({"spawn", "Counter", "--uid", "65534"});
    const std::string path = j["path"];
    const std::string address = j["address"];
    EXPECT_EQ(path, path_of(std::to_string(j["id"].get<uint64_t>())));
    // offshootctl has exited; the instance is still there and callable.
    EXPECT_EQ(instance_state(bus(), path), "running");
    BusClient instance(address);
    Reply reply = instance.call(kObjectName, kObjectPath, kCounterInterface, "Increment",
                                [](sd_bus_message* m) { return sd_bus_message_append(m, "x", int64_t{2}); });
    EXPECT_TRUE(reply.ok()) << reply.describe();

    RunResult text = ctl({"spawn", "Counter", "--uid", "nobody"});
    ASSERT_TRUE(text.ok()) << text.describe();
    EXPECT_THAT(text.out, ::testing::ContainsRegex("Instance: /org/offshoot1/instance/[0-9]+\nAddress: unix:"));
}

TEST_F(Offshootctl, SpawnHandsOverCwdEnvironmentArgumentsAndNoStart) {
    json j = ctl_json({"spawn", "Identity", "--uid", "65534", "--cwd", "/tmp", "--env", "GREETING=hi"});
    EXPECT_EQ(bus().get_string_property(kBusName, j["path"].get<std::string>().c_str(), kInstanceInterface,
                                        "WorkingDirectory"),
              "/tmp");

    // --no-start: a handle without a process, hence without an address. (offshootd forgets a
    // handle without a process when its owner disconnects, even with tie-to-caller false, so
    // the handle cannot be checked once offshootctl has exited.)
    json created = ctl_json({"spawn", "Counter", "--uid", "65534", "--no-start"});
    EXPECT_THAT(created["path"].get<std::string>(), StartsWith("/org/offshoot1/instance/"));
    EXPECT_EQ(created["address"], "");

    // Arguments reach the class's constructor: Sleeper refuses a non-number.
    RunResult bad = ctl({"spawn", "Sleeper", "--uid", "65534", "--arg", "soon"});
    EXPECT_EQ(bad.status.code, 1) << bad.describe();
    EXPECT_THAT(bad.err, HasSubstr("Error org.offshoot1.Error.SpawnFailed: "));
}

TEST_F(Offshootctl, ListShowsIdClassStateUidPidOwnerAndAge) {
    const std::string id = spawn_as_nobody("Counter");
    json list = ctl_json({"list"});
    ASSERT_TRUE(list.is_array());
    ASSERT_EQ(list.size(), 1u) << list.dump(2);
    const json& i = list[0];
    EXPECT_EQ(std::to_string(i["id"].get<uint64_t>()), id);
    EXPECT_EQ(i["path"], path_of(id));
    EXPECT_EQ(i["class"], "Counter");
    EXPECT_EQ(i["state"], "running");
    EXPECT_EQ(i["uid"], 65534);
    EXPECT_EQ(i["pid"], instance_main_pid(bus(), path_of(id)));
    EXPECT_THAT(i["owner"].get<std::string>(), StartsWith(":"));
    ASSERT_TRUE(i["age_usec"].is_number()) << i.dump();
    EXPECT_LT(i["age_usec"].get<uint64_t>(), 60'000'000u);

    RunResult text = ctl({"list"});
    ASSERT_TRUE(text.ok()) << text.describe();
    EXPECT_THAT(text.out, StartsWith("ID  CLASS    STATE    UID     PID"));
    EXPECT_THAT(text.out, ::testing::ContainsRegex("\n" + id + " +Counter +running +nobody +[0-9]+ +:[0-9.]+ +[0-9]+(ms|s|min|h|d)"));
}

TEST_F(Offshootctl, StatusShowsEveryInstanceProperty) {
    const std::string id = spawn_as_nobody("Counter");
    json s = ctl_json({"status", id});
    EXPECT_EQ(s["path"], path_of(id));
    EXPECT_EQ(s["interface"], "org.offshoot1.example.Counter");
    const json& p = s["properties"];
    for (const char* name : {"Id", "Class", "Owner", "OwnerUid", "Uid", "Gid", "Groups", "WorkingDirectory",
                             "MainPID", "State", "Result", "ExitCode", "ExitSignal", "Address"})
        EXPECT_TRUE(p.contains(name)) << "no " << name << " in " << p.dump(2);
    EXPECT_EQ(std::to_string(p["Id"].get<uint64_t>()), id);
    EXPECT_EQ(p["Uid"], 65534);
    EXPECT_EQ(p["State"], "running");
    EXPECT_EQ(p["Address"], bus().get_string_property(kBusName, path_of(id).c_str(), kInstanceInterface, "Address"));

    RunResult text = ctl({"status", path_of(id)});  // the full path works as well as the id
    ASSERT_TRUE(text.ok()) << text.describe();
    EXPECT_THAT(text.out, StartsWith("Instance " + id + " — Counter\n"));
    EXPECT_THAT(text.out, HasSubstr("     State: running for "));
    EXPECT_THAT(text.out, HasSubstr("      User: nobody (65534)\n"));
    EXPECT_THAT(text.out, HasSubstr("   Address: unix:path="));
}

TEST_F(Offshootctl, StopStartKillWaitAndReleaseDriveTheLifecycle) {
    const std::string id = spawn_as_nobody("Counter");
    const uint32_t first_pid = instance_main_pid(bus(), path_of(id));

    ASSERT_TRUE(ctl({"stop", id}).ok());
    EXPECT_EQ(instance_state(bus(), path_of(id)), "exited");

    RunResult started = ctl({"start", id});
    ASSERT_TRUE(started.ok()) << started.describe();
    EXPECT_THAT(started.out, StartsWith("Address: unix:"));
    EXPECT_EQ(instance_state(bus(), path_of(id)), "running");
    EXPECT_NE(instance_main_pid(bus(), path_of(id)), first_pid);

    ASSERT_TRUE(ctl({"kill", "--signal", "SIGKILL", id}).ok());
    RunResult waited = ctl({"wait", id});
    EXPECT_EQ(waited.status.code, 128 + SIGKILL) << waited.describe();
    EXPECT_EQ(waited.out, "signal 9 (SIGKILL)\n");
    json w = json::parse(ctl({"--json", "wait", id}).out);
    EXPECT_EQ(w, (json{{"result", "signal"}, {"code", 9}}));

    ASSERT_TRUE(ctl({"release", id}).ok());
    EXPECT_TRUE(ctl_json({"list"}).empty());
}

TEST_F(Offshootctl, CallTakesAndPrintsBusctlNotationOverThePrivateConnection) {
    const std::string counter = spawn_as_nobody("Counter");
    RunResult r = ctl({"call", counter, "Increment", "x", "5"});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.out, "x 5\n");
    r = ctl({"call", counter, "Increment", "x", "-7"});  // negative numbers are values, not options
    EXPECT_EQ(r.out, "x -2\n") << r.describe();
    json j = ctl_json({"call", counter, "org.offshoot1.example.Counter.Get"});
    EXPECT_EQ(j, (json{{"type", "x"}, {"data", {-2}}}));

    const std::string echo = spawn_as_nobody("Echo");
    r = ctl({"call", echo, "Echo", "ay", "3", "1", "2", "255"});
    EXPECT_EQ(r.out, "ay 3 1 2 255\n") << r.describe();

    // Methods without a reply print nothing.
    const std::string identity = spawn_as_nobody("Identity", {"--cwd", "/tmp"});
    r = ctl({"call", identity, "ChangeDirectory", "s", "/"});
    EXPECT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.out, "");
}

TEST_F(Offshootctl, IntrospectPrintsTheObjectsInterface) {
    const std::string id = spawn_as_nobody("Counter");
    RunResult r = ctl({"introspect", id});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_THAT(r.out, HasSubstr("<interface name=\"org.offshoot1.example.Counter\">"));
    EXPECT_THAT(r.out, HasSubstr("<method name=\"Increment\">"));
    json j = ctl_json({"introspect", id});
    EXPECT_EQ(j["interface"], "org.offshoot1.example.Counter");
    EXPECT_THAT(j["xml"].get<std::string>(), HasSubstr("<signal name=\"Changed\">"));
}

TEST_F(Offshootctl, DBusErrorsExitWith1AndPrintTheErrorName) {
    RunResult r = ctl({"spawn", "NoSuchClass"});
    EXPECT_EQ(r.status.code, 1) << r.describe();
    EXPECT_THAT(r.err, StartsWith("Error org.offshoot1.Error.UnknownClass: "));

    r = ctl({"status", "4242"});
    EXPECT_EQ(r.status.code, 1) << r.describe();
    EXPECT_THAT(r.err, StartsWith("Error org.freedesktop.DBus.Error.UnknownObject: "));

    const std::string faulty = spawn_as_nobody("Faulty");
    r = ctl({"call", faulty, "Throw", "s", "boom"});
    EXPECT_EQ(r.status.code, 1) << r.describe();
    EXPECT_EQ(r.err, "Error org.offshoot1.example.Faulty.Error: boom\n");

    r = ctl({"call", faulty, "NoSuchMethod"});
    EXPECT_EQ(r.status.code, 1) << r.describe();
    EXPECT_THAT(r.err, StartsWith("Error org.freedesktop.DBus.Error.UnknownMethod: "));

    ASSERT_TRUE(ctl({"stop", faulty}).ok());
    r = ctl({"call", faulty, "Throw", "s", "boom"});
    EXPECT_EQ(r.status.code, 1) << r.describe();
    EXPECT_THAT(r.err, StartsWith("Error org.offshoot1.Error.NotRunning: "));

    r = run({OFFSHOOT_TEST_OFFSHOOTCTL, "--address=unix:path=/nonexistent/bus", "list"});
    EXPECT_EQ(r.status.code, 1) << r.describe();
    EXPECT_THAT(r.err, StartsWith("Error "));
}

TEST_F(Offshootctl, UsageErrorsExitWith2) {
    const std::string id = spawn_as_nobody("Counter");
    const std::vector<std::vector<std::string>> mistakes = {
        {},                                           // no verb
        {"frobnicate"},                               // unknown verb
        {"list", "--bogus"},                          // unknown option
        {"status"},                                   // missing ID
        {"status", "abc"},                            // not an id
        {"status", "/org/offshoot1/elsewhere/3"},     // not a handle path
        {"kill", "--signal", "NOPE", id},             // not a signal
        {"spawn", "Counter", "--uid", "no-such-user-here"},
        {"spawn", "Counter", "--wait", "--no-start"},
        {"call", id, "Increment", "x", "five"},       // not an int64
        {"call", id, "Increment", "x"},               // value missing
        {"call", id, "Increment", "x", "1", "2"},     // one value too many
        {"call", id, "Increment", "a(x", "1"},        // bad signature
        {"--session", "--system", "list"},            // two buses
    };
    for (const auto& args : mistakes) {
        RunResult r = ctl(args);
        EXPECT_EQ(r.status.code, 2) << ::testing::PrintToString(args) << "\n" << r.describe();
        EXPECT_FALSE(r.err.empty()) << ::testing::PrintToString(args);
    }
}

TEST_F(Offshootctl, EveryVerbHasHelp) {
    for (const char* verb : {"classes", "list", "status", "spawn", "start", "stop", "kill", "wait", "release",
                             "call", "introspect"}) {
        RunResult r = ctl({verb, "--help"});
        EXPECT_TRUE(r.ok()) << verb << "\n" << r.describe();
        EXPECT_THAT(r.out, HasSubstr(verb)) << verb;
    }
    RunResult r = ctl({"--help"});
    EXPECT_TRUE(r.ok()) << r.describe();
    EXPECT_THAT(r.out, HasSubstr("introspect"));
}

TEST_F(Offshootctl, SpawnWaitReturnsTheTasksExitCodeAndLeavesNothingBehind) {
    RunResult r = ctl({"spawn", "Sleeper", "--uid", "65534", "--arg", "100", "--arg", "7", "--wait"});
    EXPECT_EQ(r.status.code, 7) << r.describe();
    EXPECT_THAT(r.out, HasSubstr("Finished: exit-code 7\n"));

    RunResult j = ctl({"--json", "spawn", "Sleeper", "--uid", "65534", "--arg", "50", "--arg", "0", "--wait"});
    EXPECT_EQ(j.status.code, 0) << j.describe();
    json status = json::parse(j.out);
    EXPECT_EQ(status["result"], "success");
    EXPECT_EQ(status["code"], 0);
    EXPECT_TRUE(ctl_json({"list"}).empty()) << "spawn --wait leaves its handle behind";
}

// Reads the child's stdout until `text` has appeared, or the deadline passes.
std::string read_until(int fd, const std::string& text, const Deadline& deadline) {
    std::string out;
    while (out.find(text) == std::string::npos && !deadline.expired()) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, deadline.poll_timeout_ms()) <= 0) continue;
        char buf[512];
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

TEST_F(Offshootctl, SpawnWaitTiesTheInstanceToTheCommand) {
    Subprocess ctl_process({.argv = {OFFSHOOT_TEST_OFFSHOOTCTL, "--address=" + bus_address(), "spawn", "Counter",
                                     "--uid", "65534", "--wait"}});
    const std::string out = read_until(ctl_process.stdout_fd(), "Address: ", Deadline(20s));
    ASSERT_THAT(out, HasSubstr("Instance: /org/offshoot1/instance/")) << out;
    const std::string path = out.substr(out.find("/org/"), out.find('\n') - out.find("/org/"));
    ASSERT_EQ(instance_state(bus(), path), "running");
    const int pidfd = open_pidfd(static_cast<pid_t>(instance_main_pid(bus(), path)));
    ASSERT_GE(pidfd, 0);

    // The command dies without a chance to clean up: offshootd stops the instance itself (and
    // forgets its handle).
    ctl_process.kill(SIGKILL);
    ASSERT_TRUE(ctl_process.wait(Deadline(10s)));
    pollfd p{pidfd, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, Deadline(10s).poll_timeout_ms()), 1) << "the instance outlived offshootctl";
    ::close(pidfd);
    EXPECT_TRUE(ctl_json({"list"}).empty());
}

TEST_F(Offshootctl, CtrlCDuringSpawnWaitStopsTheInstanceAndReportsHowItEnded) {
    Subprocess ctl_process({.argv = {OFFSHOOT_TEST_OFFSHOOTCTL, "--address=" + bus_address(), "spawn", "Sleeper",
                                     "--uid", "65534", "--arg", "60000", "--wait"}});
    std::string out = read_until(ctl_process.stdout_fd(), "Address: ", Deadline(20s));
    ASSERT_THAT(out, HasSubstr("Instance: ")) << out;

    ctl_process.kill(SIGINT);
    auto status = ctl_process.wait(Deadline(20s));
    ASSERT_TRUE(status) << "offshootctl did not end after Ctrl-C";
    out += read_until(ctl_process.stdout_fd(), "\nFinished: ", Deadline(1s));
    EXPECT_THAT(out, HasSubstr("Finished: "));
    EXPECT_TRUE(status->exited()) << status->describe();
    EXPECT_TRUE(ctl_json({"list"}).empty());
}

}  // namespace
}  // namespace offshoot::test

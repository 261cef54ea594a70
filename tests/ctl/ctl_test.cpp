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

TEST_F(Offshootctl, ClassesShowsWhatContainsEachClassesInstancesInSystemdsSpelling) {
    json classes = ctl_json({"classes"});
    bool contained = false;
    for (auto& c : classes) {
        if (c["name"] == "Counter") {
            EXPECT_EQ(c["containment"], json::object()) << "Counter sets none";
        }
        if (c["name"] != "Contained") continue;
        contained = true;
        EXPECT_EQ(c["containment"], json({{"memory-max", "64M"},
                                          {"tasks-max", "16"},
                                          {"cpu-quota-per-sec-usec", "20%"},
                                          {"private-tmp", "yes"},
                                          {"private-network", "yes"},
                                          {"protect-system", "strict"},
                                          {"protect-home", "yes"}}))
            << c.dump(2);
    }
    EXPECT_TRUE(contained) << classes.dump(2);
    RunResult text = ctl({"classes"});
    ASSERT_TRUE(text.ok()) << text.describe();
    EXPECT_THAT(text.out, HasSubstr("CONTAINED BY"));
    EXPECT_THAT(text.out, ::testing::ContainsRegex("Contained .*cpu-quota-per-sec-usec=20% memory-max=64M"));
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

// Issue 16: status sums up what contains the instance — read from the worker's /proc entry
// (what the kernel enforces now), next to offshootd's cgroup limits and private view.
TEST_F(Offshootctl, StatusSumsUpWhatContainsTheInstanceAsTheKernelSeesIt) {
    const std::string id = spawn_as_nobody("Contained");
    RunResult text = ctl({"status", id});
    ASSERT_TRUE(text.ok()) << text.describe();
    EXPECT_THAT(text.out, HasSubstr("Containment: what the kernel enforces on pid "));
    EXPECT_THAT(text.out, HasSubstr("Identity: uid 65534, gid 65534, groups 65534\n"));
    EXPECT_THAT(text.out, HasSubstr("Capabilities: none (effective, permitted, ambient); bounding set empty\n"));
    EXPECT_THAT(text.out, HasSubstr("NoNewPrivs: yes\n"));
    EXPECT_THAT(text.out, HasSubstr("Namespaces: own mnt net; shared pid ipc uts user cgroup\n"));
    EXPECT_THAT(text.out, HasSubstr("Limits: MemoryMax=64M TasksMax=16 CPUQuota=20%\n"));
    EXPECT_THAT(text.out, HasSubstr("View: PrivateTmp=yes PrivateNetwork=yes ProtectSystem=strict ProtectHome=yes\n"));
    EXPECT_THAT(text.out, ::testing::ContainsRegex("Memory: [0-9.]+[BKM] \\(peak [0-9.]+[BKM]\\)\n"));
    EXPECT_THAT(text.out, HasSubstr("Tasks: 1\n"));
    EXPECT_THAT(text.out, ::testing::Not(HasSubstr("MemoryMax: 67108864")));  // summed up, not dumped

    json s = ctl_json({"status", id});
    const json& c = s["containment"];
    EXPECT_EQ(c["no_new_privs"], true) << c.dump(2);
    EXPECT_EQ(c["namespaces"]["net"], "own");
    EXPECT_EQ(c["namespaces"]["user"], "shared");
    EXPECT_TRUE(c["capabilities"]["effective"].empty());
    EXPECT_EQ(c["rlimits"]["CORE"]["soft"], "0");
    EXPECT_EQ(s["properties"]["MemoryMax"], 64u << 20);  // every property is still in --json

    // Without a process there is nothing of the kernel's to show, and status says so.
    ASSERT_TRUE(ctl({"stop", id}).ok());
    RunResult stopped = ctl({"status", id});
    EXPECT_THAT(stopped.out, HasSubstr("Containment: of the process: no process\n"));
    EXPECT_THAT(stopped.out, HasSubstr("Limits: MemoryMax=64M TasksMax=16 CPUQuota=20%\n"));
}

TEST_F(Offshootctl, SpawnTakesARestartPolicyAndStatusShowsItWithTheRestartsSoFar) {
    const std::string id = spawn_as_nobody("Resilient", {"--restart", "on-abort"});
    RunResult text = ctl({"status", id});
    ASSERT_TRUE(text.ok()) << text.describe();
    EXPECT_THAT(text.out, HasSubstr("   Restart: on-abort (0 restarts)\n"));
    json s = ctl_json({"status", id});
    EXPECT_EQ(s["properties"]["NRestarts"], 0);
    RunResult wider = ctl({"spawn", "Resilient", "--uid", "65534", "--restart", "always"});
    EXPECT_FALSE(wider.ok());
    EXPECT_THAT(wider.err, HasSubstr("Restart=on-failure"));
    RunResult plain = ctl({"status", spawn_as_nobody("Counter")});
    EXPECT_THAT(plain.out, HasSubstr("   Restart: no\n"));
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
    EXPECT_EQ(w, (json{{"result", "signal"}, {"code", 9}, {"return_value", nullptr}}));

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
                             "call", "introspect", "get-property", "set-property", "monitor"}) {
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
    // It says that the handle is gone, and what the task handed back.
    EXPECT_THAT(r.out, ::testing::ContainsRegex("\nFinished: exit-code 7 \\(handle /org/offshoot1/instance/[0-9]+ released\\)\n"));
    EXPECT_THAT(r.out, ::testing::ContainsRegex("\nValue: a\\{sv\\} 2 \"slept-ms\" t [0-9]+ \"stopped\" b false\n"));
    const std::string path = r.out.substr(r.out.find("/org/"), r.out.find('\n') - r.out.find("/org/"));
    RunResult after = ctl({"status", path});
    EXPECT_EQ(after.status.code, 1) << after.describe();
    EXPECT_THAT(after.err, StartsWith("Error org.freedesktop.DBus.Error.UnknownObject: "));

    RunResult j = ctl({"--json", "spawn", "Sleeper", "--uid", "65534", "--arg", "50", "--arg", "0", "--wait"});
    EXPECT_EQ(j.status.code, 0) << j.describe();
    json status = json::parse(j.out);
    EXPECT_EQ(status["result"], "success");
    EXPECT_EQ(status["code"], 0);
    EXPECT_EQ(status["return_value"]["type"], "a{sv}");
    EXPECT_EQ(status["return_value"]["data"]["stopped"]["data"], false);
    EXPECT_TRUE(ctl_json({"list"}).empty()) << "spawn --wait leaves its handle behind";
}

TEST_F(Offshootctl, WaitPrintsWhatTheTaskHandedBack) {
    // Made without starting and started by another command: a task that finished while its
    // spawning offshootctl was still going away would be released with it (a finished handle
    // is kept for its owner only while the owner is there).
    const std::string id = spawn_as_nobody("Sleeper", {"--arg", "0", "--no-start"});
    ASSERT_TRUE(ctl({"start", id}).ok());
    RunResult r = ctl({"wait", id});
    EXPECT_EQ(r.status.code, 0) << r.describe();
    EXPECT_THAT(r.out, ::testing::MatchesRegex("success\nValue: a\\{sv\\} 2 \"slept-ms\" t [0-9]+ \"stopped\" b false\n"));
    json j = ctl_json({"wait", id});
    EXPECT_EQ(j["return_value"]["type"], "a{sv}");
    // A plain object hands back nothing.
    const std::string counter = spawn_as_nobody("Counter");
    ASSERT_TRUE(ctl({"stop", counter}).ok());
    RunResult plain = ctl({"wait", counter});
    EXPECT_EQ(plain.out, "success\n");
    EXPECT_TRUE(ctl_json({"wait", counter})["return_value"].is_null());
}

TEST_F(Offshootctl, GetPropertyAndSetPropertyReadAndWriteTheObjectsProperties) {
    const std::string id = spawn_as_nobody("Counter");
    ASSERT_TRUE(ctl({"call", id, "Increment", "x", "4"}).ok());
    RunResult get = ctl({"get-property", id, "Value"});
    ASSERT_TRUE(get.ok()) << get.describe();
    EXPECT_EQ(get.out, "x 4\n");
    RunResult both = ctl({"get-property", id, "Value", "org.offshoot1.example.Counter.Value"});
    EXPECT_EQ(both.out, "x 4\nx 4\n") << both.describe();
    EXPECT_EQ(ctl_json({"get-property", id, "Value"}), json({{"type", "x"}, {"data", 4}}));

    RunResult unknown = ctl({"get-property", id, "Colour"});
    EXPECT_EQ(unknown.status.code, 1) << unknown.describe();
    EXPECT_THAT(unknown.err, StartsWith("Error org.freedesktop.DBus.Error.UnknownProperty: "));
    // Value is read-only: sd-bus says so with its own error.
    RunResult set = ctl({"set-property", id, "Value", "x", "9"});
    EXPECT_EQ(set.status.code, 1) << set.describe();
    EXPECT_THAT(set.err, StartsWith("Error org.freedesktop.DBus.Error.PropertyReadOnly: "));
    RunResult bad = ctl({"set-property", id, "Value", "x", "nine"});
    EXPECT_EQ(bad.status.code, 2) << bad.describe();
}

TEST_F(Offshootctl, ReleaseFinishedForgetsEveryFinishedHandleAndNoRunningOne) {
    const std::string done1 = spawn_as_nobody("Counter"), done2 = spawn_as_nobody("Counter");
    const std::string running = spawn_as_nobody("Counter");
    ASSERT_TRUE(ctl({"stop", done1}).ok());
    ASSERT_TRUE(ctl({"kill", "--signal", "KILL", done2}).ok());
    ASSERT_TRUE(ctl({"wait", done2}).status.code == 128 + SIGKILL);
    json released = ctl_json({"release", "--finished"});
    EXPECT_EQ(released["released"], json::array({path_of(done1), path_of(done2)})) << released.dump();
    json left = ctl_json({"list"});
    ASSERT_EQ(left.size(), 1u) << left.dump();
    EXPECT_EQ(left[0]["path"], path_of(running));
    RunResult again = ctl({"release", "--finished"});
    EXPECT_TRUE(again.ok()) << again.describe();
    EXPECT_EQ(again.out, "");
    EXPECT_EQ(ctl({"release", "--finished", running}).status.code, 2);
    EXPECT_EQ(ctl({"release"}).status.code, 2);
}

TEST_F(Offshootctl, MonitorPrintsTheInstancesTrafficUntilItsProcessEnds) {
    const std::string id = spawn_as_nobody("Counter");
    Subprocess monitor({.argv = {OFFSHOOT_TEST_OFFSHOOTCTL, "--address=" + bus_address(), "--json", "monitor", id}});
    const std::string started = read_until(monitor.stderr_fd(), "Ctrl-C stops.", Deadline(20s));
    ASSERT_THAT(started, HasSubstr("Monitoring instance " + id)) << started;
    ASSERT_TRUE(ctl({"call", id, "Increment", "x", "3"}).ok());
    // Changed is emitted while Increment runs, so its reply comes after it.
    const std::string out = read_until_all(monitor.stdout_fd(), {"\"member\":\"Changed\"", "\"type\":\"method_return\""},
                                       Deadline(20s));
    EXPECT_THAT(out, HasSubstr("\"type\":\"method_call\""));
    EXPECT_THAT(out, HasSubstr("\"member\":\"Increment\""));
    EXPECT_THAT(out, HasSubstr("\"type\":\"method_return\""));
    EXPECT_THAT(out, HasSubstr("{\"type\":\"x\",\"data\":[3]}"));
    // The instance's end ends the monitor (its connection closes), with exit code 0.
    ASSERT_TRUE(ctl({"stop", id}).ok());
    auto status = monitor.wait(Deadline(20s));
    ASSERT_TRUE(status) << "offshootctl monitor outlived the instance";
    EXPECT_TRUE(status->success()) << status->describe();

    const std::string text_id = spawn_as_nobody("Counter");
    Subprocess text({.argv = {OFFSHOOT_TEST_OFFSHOOTCTL, "--address=" + bus_address(), "monitor", text_id,
                              "--match", "type='method_call'"}});
    ASSERT_THAT(read_until(text.stderr_fd(), "Ctrl-C stops.", Deadline(20s)), HasSubstr("Monitoring"));
    ASSERT_TRUE(ctl({"call", text_id, "Get"}).ok());
    const std::string dump = read_until(text.stdout_fd(), "Member=Get", Deadline(20s));
    EXPECT_THAT(dump, HasSubstr("Type=method_call"));
    EXPECT_THAT(dump, HasSubstr("Member=Get"));
    text.kill(SIGINT);
    auto ended = text.wait(Deadline(20s));
    ASSERT_TRUE(ended);
    EXPECT_TRUE(ended->success()) << ended->describe();
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
    // The process is gone before offshootd has reaped it and forgotten the handle: wait for that.
    EXPECT_TRUE(wait_until([&] { return ctl_json({"list"}).empty(); }, Deadline(10s)));
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

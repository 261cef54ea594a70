// standard_tools_test.cpp — busctl (systemd), gdbus (GLib) and dbus-send (dbus) introspect and
// call an instance through its private address, and busctl and dbus-send spawn one on the
// daemon's bus: the commands of issue 2 and the README's, run for real.
#include <regex>

#include "daemon_test.hpp"

namespace offshoot::test {
namespace {

using ::testing::HasSubstr;

class StandardTools : public DaemonTest {
protected:
    void SetUp() override {
        DaemonTest::SetUp();
        SpawnReply r = spawn(bus(), "Counter", kNobody);
        ASSERT_TRUE(r.ok()) << r.describe();
        address_ = r.address;
    }
    std::string address_;
};

TEST_F(StandardTools, BusctlIntrospectsAndCallsAnInstance) {
    RunResult intro = run({"busctl", "--address=" + address_, "introspect", kObjectName, kObjectPath});
    ASSERT_TRUE(intro.ok()) << intro.describe();
    EXPECT_THAT(intro.out, HasSubstr("org.offshoot1.example.Counter"));
    EXPECT_THAT(intro.out, HasSubstr(".Increment"));
    EXPECT_THAT(intro.out, HasSubstr(".Changed"));
    EXPECT_THAT(intro.out, HasSubstr(".Value"));

    RunResult call = run({"busctl", "--address=" + address_, "call", kObjectName, kObjectPath,
                          kCounterInterface, "Increment", "x", "5"});
    ASSERT_TRUE(call.ok()) << call.describe();
    EXPECT_EQ(call.out, "x 5\n");

    RunResult get = run({"busctl", "--address=" + address_, "get-property", kObjectName, kObjectPath,
                         kCounterInterface, "Value"});
    ASSERT_TRUE(get.ok()) << get.describe();
    EXPECT_EQ(get.out, "x 5\n");
}

TEST_F(StandardTools, GdbusIntrospectsAndCallsAnInstance) {
    RunResult intro = run({"gdbus", "introspect", "--address", address_, "--dest", kObjectName,
                           "--object-path", kObjectPath});
    ASSERT_TRUE(intro.ok()) << intro.describe();
    EXPECT_THAT(intro.out, HasSubstr("interface org.offshoot1.example.Counter"));
    EXPECT_THAT(intro.out, HasSubstr("Increment("));

    RunResult call = run({"gdbus", "call", "--address", address_, "--dest", kObjectName,
                          "--object-path", kObjectPath, "--method",
                          "org.offshoot1.example.Counter.Increment", "5"});
    ASSERT_TRUE(call.ok()) << call.describe();
    EXPECT_EQ(call.out, "(int64 5,)\n");
}

TEST_F(StandardTools, DbusSendIntrospectsAndCallsAnInstance) {
    RunResult intro = run({"dbus-send", "--address=" + address_, "--print-reply",
                           "--dest=" + std::string(kObjectName), kObjectPath,
                           "org.freedesktop.DBus.Introspectable.Introspect"});
    ASSERT_TRUE(intro.ok()) << intro.describe();
    EXPECT_THAT(intro.out, HasSubstr("<interface name=\"org.offshoot1.example.Counter\">"));

    RunResult call = run({"dbus-send", "--address=" + address_, "--print-reply",
                          "--dest=" + std::string(kObjectName), kObjectPath,
                          "org.offshoot1.example.Counter.Increment", "int64:5"});
    ASSERT_TRUE(call.ok()) << call.describe();
    EXPECT_THAT(call.out, HasSubstr("method return"));
    EXPECT_THAT(call.out, HasSubstr("int64 5\n"));
}

TEST_F(StandardTools, SeeOneCounterStateAcrossTools) {
    for (const auto& argv : std::vector<std::vector<std::string>>{
             {"busctl", "--address=" + address_, "call", kObjectName, kObjectPath, kCounterInterface,
              "Increment", "x", "1"},
             {"gdbus", "call", "--address", address_, "--dest", kObjectName, "--object-path",
              kObjectPath, "--method", "org.offshoot1.example.Counter.Increment", "10"},
             {"dbus-send", "--address=" + address_, "--print-reply",
              "--dest=" + std::string(kObjectName), kObjectPath,
              "org.offshoot1.example.Counter.Increment", "int64:100"}}) {
        RunResult r = run(argv);
        ASSERT_TRUE(r.ok()) << argv[0] << ": " << r.describe();
    }
    RunResult get = run({"busctl", "--address=" + address_, "call", kObjectName, kObjectPath,
                         kCounterInterface, "Get"});
    ASSERT_TRUE(get.ok()) << get.describe();
    EXPECT_EQ(get.out, "x 111\n");
}

TEST_F(StandardTools, BusctlSpawnsACounterOnTheDaemonsBusAndCallsIt) {
    RunResult spawned = run({"busctl", "--address=" + bus_address(), "call", kBusName, kSupervisorPath,
                             kSupervisorInterface, "Spawn", "su", "Counter", "65534"});
    ASSERT_TRUE(spawned.ok()) << spawned.describe();
    // os "/org/offshoot1/instance/<id>" "unix:path=…"
    std::smatch m;
    const std::regex reply(R"re(^os "(/org/offshoot1/instance/[0-9]+)" "(unix:path=[^"]+)"\n$)re");
    ASSERT_TRUE(std::regex_match(spawned.out, m, reply)) << spawned.out;
    const std::string address = m[2];
    EXPECT_NE(address, address_);

    RunResult call = run({"busctl", "--address=" + address, "call", kObjectName, kObjectPath,
                          kCounterInterface, "Increment", "x", "5"});
    ASSERT_TRUE(call.ok()) << call.describe();
    EXPECT_EQ(call.out, "x 5\n");

    // The instance outlives the busctl that spawned it (tie-to-caller defaults to false on the
    // bus), and the daemon lists it.
    bool listed = false;
    for (const auto& i : list_instances(bus())) listed = listed || i.path == std::string(m[1]);
    EXPECT_TRUE(listed);
    EXPECT_EQ(instance_state(bus(), m[1]), "running");
}

// The README's invocations: --bus= to offshootd's bus (dbus-send registers with Hello first),
// --peer= to an instance's socket. --address= to a bus is refused by dbus-daemon, as the README
// says: dbus-send sends no Hello there.
TEST_F(StandardTools, DbusSendSpawnsOnTheDaemonsBusWithBusAndCallsTheInstanceWithPeer) {
    RunResult spawned = run({"dbus-send", "--bus=" + bus_address(), "--print-reply", "--dest=" + std::string(kBusName),
                             kSupervisorPath, std::string(kSupervisorInterface) + ".Spawn", "string:Counter",
                             "uint32:65534"});
    ASSERT_TRUE(spawned.ok()) << spawned.describe();
    std::smatch m;
    const std::regex reply(R"re(object path "(/org/offshoot1/instance/[0-9]+)"\n\s*string "(unix:path=[^"]+)")re");
    ASSERT_TRUE(std::regex_search(spawned.out, m, reply)) << spawned.out;
    EXPECT_EQ(instance_state(bus(), m[1]), "running");

    RunResult call = run({"dbus-send", "--peer=" + std::string(m[2]), "--print-reply",
                          "--dest=" + std::string(kObjectName), kObjectPath,
                          std::string(kCounterInterface) + ".Increment", "int64:5"});
    ASSERT_TRUE(call.ok()) << call.describe();
    EXPECT_THAT(call.out, HasSubstr("int64 5\n"));

    RunResult no_hello = run({"dbus-send", "--address=" + bus_address(), "--print-reply", "--reply-timeout=10000",
                              "--dest=" + std::string(kBusName), kSupervisorPath,
                              std::string(kSupervisorInterface) + ".Spawn", "string:Counter", "uint32:65534"});
    EXPECT_FALSE(no_hello.ok()) << no_hello.describe();
    EXPECT_THAT(no_hello.err, HasSubstr("org.freedesktop.DBus.Error.NoReply")) << no_hello.describe();
}

}  // namespace
}  // namespace offshoot::test

// security_policy_test.cpp — who may spawn what, and who may act on a handle. The unprivileged
// caller is a child of the test that drops to a system account (uid 1, "daemon", or uid 2,
// "bin") and talks to the test bus; its identity reaches offshootd only through the bus.
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>

#include "daemon_test.hpp"
#include "offshoot/test/as_user.hpp"
#include "offshoot/test/outcomes.hpp"

namespace offshoot::test {
namespace {

using ::testing::Each;
using ::testing::HasSubstr;

constexpr uint32_t kDaemonUser = 1;  // "daemon", primary group 1
constexpr uint32_t kBinUser = 2;     // "bin", primary group 2
constexpr const char* kAccessDenied = "org.offshoot1.Error.AccessDenied";

std::vector<uint32_t> sorted_groups_of(uint32_t uid) {
    const passwd* pw = ::getpwuid(uid);
    if (!pw) return {};
    int n = 64;
    std::vector<gid_t> g(static_cast<std::size_t>(n));
    if (::getgrouplist(pw->pw_name, pw->pw_gid, g.data(), &n) < 0) {
        g.resize(static_cast<std::size_t>(n));
        ::getgrouplist(pw->pw_name, pw->pw_gid, g.data(), &n);
    }
    g.resize(static_cast<std::size_t>(n));
    std::vector<uint32_t> out(g.begin(), g.end());
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

// The string properties of a GetAll reply (others skipped).
std::map<std::string, std::string> string_properties(const Reply& r) {
    std::map<std::string, std::string> out;
    sd_bus_message* m = r.get();
    if (!m || sd_bus_message_enter_container(m, 'a', "{sv}") < 0) return out;
    while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
        const char* name = nullptr;
        const char* contents = nullptr;
        sd_bus_message_read(m, "s", &name);
        sd_bus_message_peek_type(m, nullptr, &contents);
        if (contents && std::string(contents) == "s") {
            const char* v = nullptr;
            sd_bus_message_read(m, "v", "s", &v);
            out[name] = v ? v : "";
        } else {
            sd_bus_message_skip(m, "v");
        }
        sd_bus_message_exit_container(m);
    }
    return out;
}

class AnUnprivilegedCaller : public DaemonTest {
protected:
    // The spawn-rate limit (security_quota_test.cpp) is opened wide so that what these tests see
    // is the policy alone, however many requests they make.
    TestDaemonOptions daemon_options() override {
        conf_dir_.emplace("offshoot-daemon-conf", 0755);
        const auto file = *conf_dir_ / "offshootd.conf";
        std::ofstream(file) << "[Daemon]\nSpawnRateBurst=100000\nSpawnRatePerSecond=100000\n";
        TestDaemonOptions o;
        o.extra_args = {"--daemon-config=" + file.string()};
        return o;
    }
    std::optional<TempDir> conf_dir_;

    void SetUp() override {
        DaemonTest::SetUp();
        ASSERT_NE(::getpwuid(kDaemonUser), nullptr) << "no passwd entry for uid 1";
        ASSERT_NE(::getpwuid(kBinUser), nullptr) << "no passwd entry for uid 2";
    }

    // Runs `calls` as uid (gid = uid) with its own connection to the test bus.
    std::vector<Outcome> as_user(uint32_t uid, const std::function<std::vector<Outcome>(BusClient&)>& calls) {
        const std::string address = bus_address();
        return decode_outcomes(run_as(uid, uid, [&] {
            BusClient caller(address, std::chrono::seconds(20));
            return encode_outcomes(calls(caller));
        }));
    }
};

TEST_F(AnUnprivilegedCaller, IsDeniedRootAnotherUsersUidAndForeignGroupsEveryTime) {
    const auto outcomes = as_user(kDaemonUser, [](BusClient& bus) {
        std::vector<Outcome> out;
        for (int round = 0; round < 2; ++round) {
            for (const char* cls : {"Counter", "Identity"}) {
                const std::string c = cls;
                out.push_back(outcome(c + " Spawn uid 0", spawn(bus, c, 0)));
                out.push_back(outcome(c + " options uid 0", spawn_with_options(bus, c, {{"uid", 0u}})));
                out.push_back(outcome(c + " options uid 0 gid 0",
                                      spawn_with_options(bus, c, {{"uid", 0u}, {"gid", 0u}})));
                out.push_back(outcome(c + " Spawn uid 65534", spawn(bus, c, kNobody)));
                out.push_back(outcome(c + " Spawn uid 2", spawn(bus, c, kBinUser)));
                out.push_back(outcome(c + " own uid, gid 0",
                                      spawn_with_options(bus, c, {{"uid", kDaemonUser}, {"gid", 0u}})));
                out.push_back(outcome(c + " own uid, gid 65534",
                                      spawn_with_options(bus, c, {{"uid", kDaemonUser}, {"gid", kNobody}})));
                out.push_back(outcome(c + " no uid, gid 0", spawn_with_options(bus, c, {{"gid", 0u}})));
                out.push_back(outcome(c + " own uid, groups [0]",
                                      spawn_with_options(bus, c, {{"uid", kDaemonUser},
                                                                  {"groups", std::vector<uint32_t>{0}}})));
                out.push_back(outcome(c + " own uid, groups [1, 65534]",
                                      spawn_with_options(bus, c, {{"uid", kDaemonUser},
                                                                  {"groups", std::vector<uint32_t>{1, kNobody}}})));
            }
        }
        return out;
    });
    ASSERT_EQ(outcomes.size(), 40u);
    for (const auto& o : outcomes) {
        EXPECT_EQ(o.error_name, kAccessDenied) << o.describe();
        EXPECT_FALSE(o.error_message.empty()) << o.describe();
    }
    // Nothing was created on the way.
    EXPECT_EQ(instance_count(bus()), 0u);
    EXPECT_TRUE(children_of(daemon().pid()).empty());
}

TEST_F(AnUnprivilegedCaller, MaySpawnAsItselfAndItsOwnGroupAndIsServedByTheInstance) {
    const auto outcomes = as_user(kDaemonUser, [](BusClient& bus) {
        std::vector<Outcome> out;
        out.push_back(outcome("Spawn own uid", spawn(bus, "Counter", kDaemonUser)));
        out.push_back(outcome("options own uid and gid",
                              spawn_with_options(bus, "Counter", {{"uid", kDaemonUser}, {"gid", kDaemonUser}})));
        out.push_back(outcome("options own groups",
                              spawn_with_options(bus, "Counter", {{"uid", kDaemonUser},
                                                                  {"groups", std::vector<uint32_t>{kDaemonUser}}})));
        out.push_back(outcome("options without uid", spawn_with_options(bus, "Counter", {})));
        // The owner is served by its instance over the private socket.
        if (out[0].ok()) {
            BusClient instance(out[0].address, std::chrono::seconds(10));
            Reply r = instance.call(kObjectName, kObjectPath, kCounterInterface, "Increment",
                                    [](sd_bus_message* m) { return sd_bus_message_append(m, "x", int64_t{7}); });
            int64_t v = -1;
            if (r.ok()) sd_bus_message_read(r.get(), "x", &v);
            out.push_back(outcome("Increment", r, std::to_string(v)));
        }
        return out;
    });
    ASSERT_EQ(outcomes.size(), 5u);
    for (const auto& o : outcomes) ASSERT_TRUE(o.ok()) << o.describe();
    EXPECT_EQ(outcomes[4].value, "7");

    for (std::size_t i = 0; i < 4; ++i) {
        SCOPED_TRACE(outcomes[i].label);
        const auto path = outcomes[i].path.c_str();
        EXPECT_EQ(bus().get_u32_property(kBusName, path, kInstanceInterface, "OwnerUid"), kDaemonUser);
        EXPECT_EQ(bus().get_u32_property(kBusName, path, kInstanceInterface, "Uid"), kDaemonUser);
        const auto pid = static_cast<pid_t>(instance_main_pid(bus(), outcomes[i].path));
        auto status = read_status(pid);
        ASSERT_TRUE(status) << "no /proc/" << pid << "/status";
        EXPECT_THAT(status->uid, Each(kDaemonUser));
        EXPECT_THAT(status->gid, Each(kDaemonUser));
        EXPECT_EQ(status->groups, sorted_groups_of(kDaemonUser));
    }
}

TEST_F(AnUnprivilegedCaller, CannotForgeItsIdentityThroughArgumentsOrEnvironment) {
    const std::vector<std::string> forged_env = {"USER=root", "LOGNAME=root", "HOME=/root", "UID=0",
                                                 "EUID=0", "SUDO_UID=0", "PKEXEC_UID=0"};
    const auto outcomes = as_user(kDaemonUser, [&](BusClient& bus) {
        std::vector<Outcome> out;
        out.push_back(outcome("uid 0 with root's environment",
                              spawn_with_options(bus, "Counter", {{"uid", 0u}, {"environment", forged_env}})));
        out.push_back(outcome("uid 65534 with root's environment and arguments",
                              spawn_with_options(bus, "Counter",
                                                 {{"uid", kNobody},
                                                  {"environment", forged_env},
                                                  {"arguments", std::vector<std::string>{"uid=0", "--uid=0"}}})));
        // Claiming root's environment for itself changes nothing about who it is.
        out.push_back(outcome("own uid with root's environment",
                              spawn_with_options(bus, "Counter", {{"uid", kDaemonUser}, {"environment", forged_env}})));
        out.push_back(outcome("no uid with root's environment",
                              spawn_with_options(bus, "Counter", {{"environment", forged_env}})));
        return out;
    });
    ASSERT_EQ(outcomes.size(), 4u);
    EXPECT_EQ(outcomes[0].error_name, kAccessDenied) << outcomes[0].describe();
    EXPECT_EQ(outcomes[1].error_name, kAccessDenied) << outcomes[1].describe();
    for (std::size_t i : {2u, 3u}) {
        SCOPED_TRACE(outcomes[i].label);
        ASSERT_TRUE(outcomes[i].ok()) << outcomes[i].describe();
        const auto path = outcomes[i].path.c_str();
        EXPECT_EQ(bus().get_u32_property(kBusName, path, kInstanceInterface, "OwnerUid"), kDaemonUser);
        EXPECT_EQ(bus().get_u32_property(kBusName, path, kInstanceInterface, "Uid"), kDaemonUser);
        auto status = read_status(static_cast<pid_t>(instance_main_pid(bus(), outcomes[i].path)));
        ASSERT_TRUE(status);
        EXPECT_THAT(status->uid, Each(kDaemonUser));
        EXPECT_THAT(status->gid, Each(kDaemonUser));
    }
}

TEST_F(AnUnprivilegedCaller, IsRefusedEveryOutOfRangeIdInEveryField) {
    // -1, -2, INT_MAX + 1 and beyond: never accounts, whoever asks.
    const std::vector<uint32_t> bad = {4294967295u, 4294967294u, 2147483648u, 3000000000u};
    auto attempts = [&](BusClient& bus) {
        std::vector<Outcome> out;
        for (uint32_t id : bad) {
            const std::string n = std::to_string(id);
            out.push_back(outcome("Spawn uid " + n, spawn(bus, "Counter", id)));
            out.push_back(outcome("uid " + n, spawn_with_options(bus, "Counter", {{"uid", id}, {"gid", kNobody}})));
            out.push_back(outcome("gid " + n, spawn_with_options(bus, "Counter", {{"uid", kNobody}, {"gid", id}})));
            out.push_back(outcome("groups [" + n + "]",
                                  spawn_with_options(bus, "Counter", {{"uid", kNobody}, {"groups", std::vector<uint32_t>{id}}})));
            out.push_back(outcome("groups [65534, " + n + "]",
                                  spawn_with_options(bus, "Counter",
                                                     {{"uid", kNobody}, {"groups", std::vector<uint32_t>{kNobody, id}}})));
        }
        return out;
    };
    for (const auto& o : as_user(kDaemonUser, attempts)) EXPECT_EQ(o.error_name, kInvalidArgument) << "uid 1, " << o.describe();
    for (const auto& o : attempts(bus())) EXPECT_EQ(o.error_name, kInvalidArgument) << "root, " << o.describe();
    EXPECT_EQ(instance_count(bus()), 0u);
}

TEST_F(AnUnprivilegedCaller, MayNotStopKillStartReleaseOrLocateSomeoneElsesInstanceButMayReadIt) {
    SpawnReply running = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(running.ok()) << running.describe();
    SpawnReply created = spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"start", false}});
    ASSERT_TRUE(created.ok()) << created.describe();
    const auto pid = instance_main_pid(bus(), running.path);

    const auto outcomes = as_user(kDaemonUser, [&](BusClient& bus) {
        std::vector<Outcome> out;
        const char* p = running.path.c_str();
        out.push_back(outcome("Stop", bus.call(kBusName, p, kInstanceInterface, "Stop")));
        out.push_back(outcome("Kill", bus.call(kBusName, p, kInstanceInterface, "Kill",
                                               [](sd_bus_message* m) { return sd_bus_message_append(m, "i", 9); })));
        out.push_back(outcome("Release", bus.call(kBusName, p, kInstanceInterface, "Release")));
        out.push_back(outcome("Start", bus.call(kBusName, created.path.c_str(), kInstanceInterface, "Start")));
        out.push_back(outcome("Release created", bus.call(kBusName, created.path.c_str(), kInstanceInterface, "Release")));
        Reply address = bus.call(kBusName, p, "org.freedesktop.DBus.Properties", "Get", [](sd_bus_message* m) {
            return sd_bus_message_append(m, "ss", kInstanceInterface, "Address");
        });
        out.push_back(outcome("Get Address", address));
        // Reading everything else is allowed.
        Reply state = bus.call(kBusName, p, "org.freedesktop.DBus.Properties", "Get", [](sd_bus_message* m) {
            return sd_bus_message_append(m, "ss", kInstanceInterface, "State");
        });
        const char* s = nullptr;
        if (state.ok()) sd_bus_message_read(state.get(), "v", "s", &s);
        out.push_back(outcome("Get State", state, s ? s : ""));
        Reply all = bus.call(kBusName, p, "org.freedesktop.DBus.Properties", "GetAll",
                             [](sd_bus_message* m) { return sd_bus_message_append(m, "s", kInstanceInterface); });
        auto props = string_properties(all);
        out.push_back(outcome("GetAll", all,
                              props.count("Address") ? "Address=" + props["Address"] : std::string("no Address")));
        return out;
    });
    ASSERT_EQ(outcomes.size(), 8u);
    for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(outcomes[i].error_name, kAccessDenied) << outcomes[i].describe();
    EXPECT_TRUE(outcomes[6].ok()) << outcomes[6].describe();
    EXPECT_EQ(outcomes[6].value, "running");
    EXPECT_TRUE(outcomes[7].ok()) << outcomes[7].describe();
    EXPECT_EQ(outcomes[7].value, "Address=") << "GetAll by a non-owner must show the address as empty";

    // Nothing happened to either instance.
    EXPECT_EQ(instance_state(bus(), running.path), "running");
    EXPECT_EQ(instance_main_pid(bus(), running.path), pid);
    EXPECT_EQ(instance_state(bus(), created.path), "created");
    EXPECT_EQ(bus().get_string_property(kBusName, running.path.c_str(), kInstanceInterface, "Address"),
              running.address) << "the owner (root) reads the address";
    // The owner (root) may release the handle it never started.
    Reply released = bus().call(kBusName, created.path.c_str(), kInstanceInterface, "Release");
    EXPECT_TRUE(released.ok()) << released.describe();
}

TEST_F(AnUnprivilegedCaller, OwnsItsInstanceAgainstOtherUnprivilegedUsers) {
    auto mine = as_user(kDaemonUser, [](BusClient& bus) {
        return std::vector<Outcome>{outcome("spawn", spawn(bus, "Counter", kDaemonUser))};
    });
    ASSERT_EQ(mine.size(), 1u);
    ASSERT_TRUE(mine[0].ok()) << mine[0].describe();
    const std::string path = mine[0].path;

    auto theirs = as_user(kBinUser, [&](BusClient& bus) {
        std::vector<Outcome> out;
        out.push_back(outcome("Stop by uid 2", bus.call(kBusName, path.c_str(), kInstanceInterface, "Stop")));
        out.push_back(outcome("Get Address by uid 2",
                              bus.call(kBusName, path.c_str(), "org.freedesktop.DBus.Properties", "Get",
                                       [](sd_bus_message* m) {
                                           return sd_bus_message_append(m, "ss", kInstanceInterface, "Address");
                                       })));
        return out;
    });
    ASSERT_EQ(theirs.size(), 2u);
    for (const auto& o : theirs) EXPECT_EQ(o.error_name, kAccessDenied) << o.describe();
    EXPECT_EQ(instance_state(bus(), path), "running");

    // The owner may.
    auto own = as_user(kDaemonUser, [&](BusClient& bus) {
        std::vector<Outcome> out;
        Reply address = bus.call(kBusName, path.c_str(), "org.freedesktop.DBus.Properties", "Get",
                                 [](sd_bus_message* m) {
                                     return sd_bus_message_append(m, "ss", kInstanceInterface, "Address");
                                 });
        const char* a = nullptr;
        if (address.ok()) sd_bus_message_read(address.get(), "v", "s", &a);
        out.push_back(outcome("Get Address by owner", address, a ? a : ""));
        out.push_back(outcome("Stop by owner", bus.call(kBusName, path.c_str(), kInstanceInterface, "Stop")));
        return out;
    });
    ASSERT_EQ(own.size(), 2u);
    EXPECT_TRUE(own[0].ok()) << own[0].describe();
    EXPECT_EQ(own[0].value, mine[0].address);
    EXPECT_TRUE(own[1].ok()) << own[1].describe();
    EXPECT_NE(instance_state(bus(), path), "running");
}

// A class whose AllowedUsers= holds only names that look like numbers, ranges and groups: none
// of them may ever let uid 0 in.
class AClassListingNumericLookingNames : public DaemonTest {
protected:
    TestDaemonOptions daemon_options() override {
        config_dir_.emplace("offshoot-conf", 0755);
        std::ofstream out(*config_dir_ / "junk.conf");
        out << "[Class]\nName=Junk\nPlugin=counter.so\nInterface=org.offshoot1.example.Counter\n"
               "[Access]\nAllowedUsers=0x0 00 000 +0 -0 0.0 0e0 1e3 0-0 0-10 0x0-0x10 @root @0 roots ROOT Root\n"
               "AllowedCallers=root 0x0 +0 00 1-10\n"
               "[Exec]\nWorkingDirectory=/\n";
        TestDaemonOptions o;
        o.config_dir = config_dir_->path();
        return o;
    }
    std::optional<TempDir> config_dir_;
};

TEST_F(AClassListingNumericLookingNames, NeverRunsAsRoot) {
    for (int round = 0; round < 3; ++round) {
        SpawnReply r = spawn(bus(), "Junk", 0);
        EXPECT_EQ(r.error_name, kAccessDenied) << r.describe();
        r = spawn_with_options(bus(), "Junk", {{"uid", 0u}, {"gid", 0u}});
        EXPECT_EQ(r.error_name, kAccessDenied) << r.describe();
    }
    // The file was read: its range lets root run it as uid 2.
    SpawnReply bin = spawn(bus(), "Junk", kBinUser);
    ASSERT_TRUE(bin.ok()) << bin.describe();
    auto status = read_status(static_cast<pid_t>(instance_main_pid(bus(), bin.path)));
    ASSERT_TRUE(status);
    EXPECT_THAT(status->uid, Each(kBinUser));
}

TEST_F(AClassListingNumericLookingNames, DoesNotLetANumericLookingCallerEntryActForAnotherUid) {
    // AllowedCallers= lists "1-10", so uid 1 may spawn as uid 2 (in AllowedUsers' 0-10)…
    auto outcomes = decode_outcomes(run_as(kDaemonUser, kDaemonUser, [&] {
        BusClient caller(bus_address());
        std::vector<Outcome> out;
        out.push_back(outcome("as uid 2", spawn(caller, "Junk", kBinUser)));
        // …but never as root, whatever the lists hold.
        out.push_back(outcome("as uid 0", spawn(caller, "Junk", 0)));
        return encode_outcomes(out);
    }));
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_TRUE(outcomes[0].ok()) << outcomes[0].describe();
    EXPECT_EQ(outcomes[1].error_name, kAccessDenied) << outcomes[1].describe();
}

// A caller the bus cannot put a uid on: a connection authenticated with ANONYMOUS (the test bus
// allows it here). offshootd must deny it rather than guess.
class ACallerTheBusCannotIdentify : public ::testing::Test {
protected:
    TestBus bus_{10s, /* allow_anonymous= */ true};
    TestDaemon daemon_{bus_};
};

BusPtr connect_anonymously(const std::string& address) {
    sd_bus* raw = nullptr;
    if (sd_bus_new(&raw) < 0) throw std::runtime_error("sd_bus_new");
    BusPtr bus{raw};
    if (sd_bus_set_address(raw, address.c_str()) < 0 || sd_bus_set_bus_client(raw, 1) < 0 ||
        sd_bus_set_anonymous(raw, 1) < 0)
        throw std::runtime_error("setting up an anonymous connection");
    if (int r = sd_bus_start(raw); r < 0)
        throw std::runtime_error(std::string("anonymous connection: ") + std::strerror(-r));
    return bus;
}

Outcome call_raw(sd_bus* bus, const char* label, const char* member, const char* types, const char* cls, uint32_t uid) {
    BusError error;
    sd_bus_message* reply = nullptr;
    int r = std::string(types) == "su"
                ? sd_bus_call_method(bus, kBusName, kSupervisorPath, kSupervisorInterface, member, &error, &reply, "su", cls, uid)
                : sd_bus_call_method(bus, kBusName, kSupervisorPath, kSupervisorInterface, member, &error, &reply,
                                     "sa{sv}", cls, 1, "uid", "u", uid);
    MessagePtr owned{reply};
    Outcome o{label, {}, {}, {}, {}, {}};
    if (r < 0) {
        o.error_name = error.e.name ? error.e.name : "errno " + std::to_string(-r);
        o.error_message = error.message();
    }
    return o;
}

TEST_F(ACallerTheBusCannotIdentify, IsDenied) {
    BusPtr anonymous = connect_anonymously(bus_.address());
    const char* unique = nullptr;
    ASSERT_GE(sd_bus_get_unique_name(anonymous.get(), &unique), 0);

    // Precondition: the bus really has no user for this connection.
    BusClient root(bus_.address());
    Reply who = root.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                          "GetConnectionUnixUser", [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", unique); });
    ASSERT_FALSE(who.ok()) << "the bus knows the anonymous connection's uid; the test proves nothing";

    for (const Outcome& o : {call_raw(anonymous.get(), "Spawn as nobody", "Spawn", "su", "Counter", kNobody),
                             call_raw(anonymous.get(), "Spawn as root", "Spawn", "su", "Counter", 0),
                             call_raw(anonymous.get(), "SpawnWithOptions as nobody", "SpawnWithOptions", "sa{sv}",
                                      "Counter", kNobody)})
        EXPECT_EQ(o.error_name, kAccessDenied) << o.describe();
    EXPECT_EQ(instance_count(root), 0u);

    // The same daemon serves a caller the bus does know.
    SpawnReply r = spawn(root, "Counter", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_TRUE(stop_instance(root, r.path).ok());
}

}  // namespace
}  // namespace offshoot::test

// hostile_input_test.cpp — issue 8 item 7: oversized and malformed input to every Supervisor
// and Instance method — 64 KiB strings, 10^5-element arrays, deeply nested variants, wrong
// signatures, object paths that name no instance — is answered with an error of the right name;
// offshootd stays up (ListClasses answers), keeps its fd count and its resident memory (within
// 4 MiB over rounds of the whole set). And a non-root caller flooding Spawn is throttled
// (LimitExceeded) while another user's Spawn is served in < 1 s.
//
// bad_input_test.cpp and security_quota_test.cpp cover ordinary bad values and root's service
// during a flood; these are the sizes and shapes an attacker would pick.
#include <fcntl.h>
#include <poll.h>

#include <climits>
#include <csignal>
#include <fstream>

#include "offshoot/test/as_user.hpp"
#include "offshoot/test/outcomes.hpp"
#include "reliability_support.hpp"

namespace offshoot::test {
namespace {

constexpr const char* kInvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
constexpr const char* kUnknownObject = "org.freedesktop.DBus.Error.UnknownObject";
constexpr const char* kUnknownMethod = "org.freedesktop.DBus.Error.UnknownMethod";
constexpr const char* kPropertyReadOnly = "org.freedesktop.DBus.Error.PropertyReadOnly";
constexpr const char* kUnknownProperty = "org.freedesktop.DBus.Error.UnknownProperty";
constexpr const char* kLimitExceeded = "org.offshoot1.Error.LimitExceeded";
constexpr long kMaxRssGrowthKib = 4096;
constexpr int kRounds = 5;

const std::string k64KiB(64 * 1024, 'x');

int append_strings(sd_bus_message* m, const std::vector<std::string>& v) {
    int r = sd_bus_message_open_container(m, 'a', "s");
    for (std::size_t i = 0; r >= 0 && i < v.size(); ++i) r = sd_bus_message_append(m, "s", v[i].c_str());
    return r < 0 ? r : sd_bus_message_close_container(m);
}

// SpawnWithOptions("Counter", {<key>: <value appended by fn>, "uid": nobody}).
BusClient::Append options_with(const char* class_name, const char* key, std::function<int(sd_bus_message*)> value) {
    return [=](sd_bus_message* m) {
        int r = sd_bus_message_append(m, "s", class_name);
        if (r >= 0) r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0) r = sd_bus_message_append(m, "{sv}", "uid", "u", kNobody);
        if (r >= 0) r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0) r = sd_bus_message_append(m, "s", key);
        if (r >= 0) r = value(m);
        if (r >= 0) r = sd_bus_message_close_container(m);
        return r < 0 ? r : sd_bus_message_close_container(m);
    };
}

// A variant holding a variant … `depth` times, with a 'u' inside.
int append_nested_variant(sd_bus_message* m, int depth) {
    if (depth == 0) return sd_bus_message_append(m, "u", kNobody);
    int r = sd_bus_message_open_container(m, 'v', depth > 1 ? "v" : "u");
    if (r >= 0) r = append_nested_variant(m, depth - 1);
    return r < 0 ? r : sd_bus_message_close_container(m);
}

// The deepest variant nesting that sd-bus lets a message carry, capped at 32: dbus-daemon
// validates every message it routes and disconnects a sender whose message nests deeper than
// the specification allows (at 256 here it did), so 32 is what reaches offshootd.
int deepest_variant(sd_bus* bus) {
    int deepest = 0;
    for (int depth = 1; depth <= 32; depth *= 2) {
        sd_bus_message* m = nullptr;
        if (sd_bus_message_new_method_call(bus, &m, kBusName, kSupervisorPath, kSupervisorInterface, "Spawn") < 0) break;
        int r = append_nested_variant(m, depth);
        if (r >= 0) r = sd_bus_message_seal(m, 1, 0);
        sd_bus_message_unref(m);
        if (r < 0) break;
        deepest = depth;
    }
    return deepest;
}

struct Case {
    std::string what;
    std::vector<std::string> expected;  // any of these error names
    std::string path;
    const char* interface;
    const char* member;
    BusClient::Append append;
};

class HostileInput : public DaemonTest {
protected:
    std::vector<Case> cases() {
        std::vector<Case> c;
        auto supervisor = [&](std::string what, const char* expected, const char* member, BusClient::Append a) {
            c.push_back({std::move(what), {expected}, kSupervisorPath, kSupervisorInterface, member, std::move(a)});
        };
        // Static: the calls are built long after cases() returns.
        static const std::vector<std::string> many_strings(100'000, "x=y");
        static const std::vector<uint32_t> many_ids(100'000, 100);

        // Oversized.
        supervisor("Spawn: 64 KiB class name", kInvalidArgument, "Spawn",
                   [&](sd_bus_message* m) { return sd_bus_message_append(m, "su", k64KiB.c_str(), kNobody); });
        supervisor("SpawnWithOptions: 64 KiB class name", kInvalidArgument, "SpawnWithOptions",
                   options_with(k64KiB.c_str(), "umask", [](sd_bus_message* m) { return sd_bus_message_append(m, "v", "u", 022u); }));
        supervisor("64 KiB cwd", kInvalidArgument, "SpawnWithOptions",
                   options_with("Counter", "cwd", [&](sd_bus_message* m) { return sd_bus_message_append(m, "v", "s", ("/" + k64KiB).c_str()); }));
        supervisor("64 KiB environment entry", kInvalidArgument, "SpawnWithOptions",
                   options_with("Counter", "environment", [&](sd_bus_message* m) {
                       int r = sd_bus_message_open_container(m, 'v', "as");
                       if (r >= 0) r = append_strings(m, {"BIG=" + k64KiB});
                       return r < 0 ? r : sd_bus_message_close_container(m);
                   }));
        supervisor("10^5 environment entries", kInvalidArgument, "SpawnWithOptions",
                   options_with("Counter", "environment", [&](sd_bus_message* m) {
                       int r = sd_bus_message_open_container(m, 'v', "as");
                       if (r >= 0) r = append_strings(m, many_strings);
                       return r < 0 ? r : sd_bus_message_close_container(m);
                   }));
        supervisor("10^5 arguments", kInvalidArgument, "SpawnWithOptions",
                   options_with("Counter", "arguments", [&](sd_bus_message* m) {
                       int r = sd_bus_message_open_container(m, 'v', "as");
                       if (r >= 0) r = append_strings(m, many_strings);
                       return r < 0 ? r : sd_bus_message_close_container(m);
                   }));
        supervisor("10^5 groups", kInvalidArgument, "SpawnWithOptions",
                   options_with("Counter", "groups", [&](sd_bus_message* m) {
                       int r = sd_bus_message_open_container(m, 'v', "au");
                       if (r >= 0) r = sd_bus_message_append_array(m, 'u', many_ids.data(), many_ids.size() * sizeof(uint32_t));
                       return r < 0 ? r : sd_bus_message_close_container(m);
                   }));
        supervisor("10^5 option keys", kInvalidArgument, "SpawnWithOptions", [](sd_bus_message* m) {
            int r = sd_bus_message_append(m, "s", "Counter");
            if (r >= 0) r = sd_bus_message_open_container(m, 'a', "{sv}");
            for (int i = 0; r >= 0 && i < 100'000; ++i)
                r = sd_bus_message_append(m, "{sv}", ("k" + std::to_string(i)).c_str(), "u", 1u);
            return r < 0 ? r : sd_bus_message_close_container(m);
        });
        supervisor("10^5 repeats of the uid key", kInvalidArgument, "SpawnWithOptions", [](sd_bus_message* m) {
            int r = sd_bus_message_append(m, "s", "Counter");
            if (r >= 0) r = sd_bus_message_open_container(m, 'a', "{sv}");
            for (int i = 0; r >= 0 && i < 100'000; ++i) r = sd_bus_message_append(m, "{sv}", "uid", "s", "0");
            return r < 0 ? r : sd_bus_message_close_container(m);
        });
        // Deep variants: as deep as sd-bus lets a message be built, as the value of a known key
        // and of an unknown one.
        const int depth = deepest_variant(bus().get());
        supervisor("gid as a " + std::to_string(depth) + "-deep variant", kInvalidArgument, "SpawnWithOptions",
                   options_with("Counter", "gid", [depth](sd_bus_message* m) { return append_nested_variant(m, depth); }));
        supervisor("unknown key with a " + std::to_string(depth) + "-deep variant", kInvalidArgument, "SpawnWithOptions",
                   options_with("Counter", "deep", [depth](sd_bus_message* m) { return append_nested_variant(m, depth); }));

        // Wrong signatures.
        supervisor("Spawn(ss)", kInvalidArgs, "Spawn", [](sd_bus_message* m) { return sd_bus_message_append(m, "ss", "Counter", "65534"); });
        supervisor("Spawn()", kInvalidArgs, "Spawn", {});
        supervisor("Spawn(suu)", kInvalidArgs, "Spawn", [](sd_bus_message* m) { return sd_bus_message_append(m, "suu", "Counter", kNobody, 1u); });
        supervisor("SpawnWithOptions(sa{ss})", kInvalidArgs, "SpawnWithOptions",
                   [](sd_bus_message* m) { return sd_bus_message_append(m, "sa{ss}", "Counter", 1, "uid", "65534"); });
        supervisor("SpawnWithOptions(s)", kInvalidArgs, "SpawnWithOptions", [](sd_bus_message* m) { return sd_bus_message_append(m, "s", "Counter"); });
        supervisor("ListClasses(s)", kInvalidArgs, "ListClasses", [](sd_bus_message* m) { return sd_bus_message_append(m, "s", "x"); });
        supervisor("ListInstances(as) with 10^5 strings", kInvalidArgs, "ListInstances",
                   [&](sd_bus_message* m) { return append_strings(m, many_strings); });
        supervisor("NoSuchMethod", kUnknownMethod, "NoSuchMethod", {});

        // Properties of the supervisor.
        auto properties = [&](std::string what, const char* expected, std::string path, const char* member, BusClient::Append a) {
            c.push_back({std::move(what), {expected}, std::move(path), "org.freedesktop.DBus.Properties", member, std::move(a)});
        };
        properties("Set Version", kPropertyReadOnly, kSupervisorPath, "Set",
                   [](sd_bus_message* m) { return sd_bus_message_append(m, "ssv", kSupervisorInterface, "Version", "s", "2"); });
        properties("Get a 64 KiB property name", kUnknownProperty, kSupervisorPath, "Get",
                   [&](sd_bus_message* m) { return sd_bus_message_append(m, "ss", kSupervisorInterface, k64KiB.c_str()); });

        // Object paths that name no instance, for every Instance method.
        for (const char* path : {"/org/offshoot1/instance/abc", "/org/offshoot1/instance/0",
                                 "/org/offshoot1/instance/99999999999999999999", "/org/offshoot1/instance/01",
                                 "/org/offshoot1/instance/1/x", "/org/offshoot1/instance/18446744073709551615"}) {
            for (const char* member : {"Start", "Stop", "Wait", "Release"})
                c.push_back({std::string(member) + " on " + path, {kUnknownObject}, path, kInstanceInterface, member, {}});
            c.push_back({std::string("Kill on ") + path, {kUnknownObject}, path, kInstanceInterface, "Kill",
                         [](sd_bus_message* m) { return sd_bus_message_append(m, "i", SIGKILL); }});
            properties(std::string("GetAll on ") + path, kUnknownObject, path, "GetAll",
                       [](sd_bus_message* m) { return sd_bus_message_append(m, "s", kInstanceInterface); });
        }

        // A real instance's methods with bad arguments.
        const std::string live = instance_;
        auto instance = [&](std::string what, const char* expected, const char* member, BusClient::Append a) {
            c.push_back({std::move(what), {expected}, live, kInstanceInterface, member, std::move(a)});
        };
        for (int32_t sig : {INT_MIN, -1, 0, 65, INT_MAX})
            instance("Kill(" + std::to_string(sig) + ")", kInvalidArgument, "Kill",
                     [sig](sd_bus_message* m) { return sd_bus_message_append(m, "i", sig); });
        instance("Kill(s) with 64 KiB", kInvalidArgs, "Kill", [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", k64KiB.c_str()); });
        instance("Kill()", kInvalidArgs, "Kill", {});
        instance("Stop(as) with 10^5 strings", kInvalidArgs, "Stop", [&](sd_bus_message* m) { return append_strings(m, many_strings); });
        instance("Start(s)", kInvalidArgs, "Start", [](sd_bus_message* m) { return sd_bus_message_append(m, "s", "x"); });
        instance("Wait(u)", kInvalidArgs, "Wait", [](sd_bus_message* m) { return sd_bus_message_append(m, "u", 1u); });
        instance("Release(i)", kInvalidArgs, "Release", [](sd_bus_message* m) { return sd_bus_message_append(m, "i", 1); });
        properties("Set State", kPropertyReadOnly, live, "Set",
                   [](sd_bus_message* m) { return sd_bus_message_append(m, "ssv", kInstanceInterface, "State", "s", "running"); });
        properties("Set MainPID", kPropertyReadOnly, live, "Set",
                   [](sd_bus_message* m) { return sd_bus_message_append(m, "ssv", kInstanceInterface, "MainPID", "u", 1u); });
        return c;
    }

    // Every case once; a failure for each one not refused with an expected error name.
    void run_cases(const std::vector<Case>& cs, bool print) {
        for (const auto& k : cs) {
            Reply r = bus().call(kBusName, k.path.c_str(), k.interface, k.member, k.append);
            EXPECT_FALSE(r.ok()) << k.what << " was accepted";
            EXPECT_THAT(k.expected, ::testing::Contains(r.error_name)) << k.what << ": " << r.describe();
            if (print) std::printf("[ REJECTED ] %s → %s\n", k.what.c_str(), r.error_name.c_str());
        }
    }

    std::string instance_;
};

TEST_F(HostileInput, ToEverySupervisorAndInstanceMethodIsRefusedByNameAndLeavesOffshootdUpAndBounded) {
    SpawnReply live = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(live.ok()) << live.describe();
    instance_ = live.path;
    const auto cs = cases();

    run_cases(cs, /* print= */ true);  // once, so what is allocated once and kept is counted
    ASSERT_FALSE(HasFailure());
    const std::size_t fds_before = daemon().fd_count();
    const long rss_before = rss_kib(daemon().pid());
    for (int i = 0; i < kRounds && !HasFailure(); ++i) run_cases(cs, false);
    const long rss_after = rss_kib(daemon().pid());

    report_value(std::to_string(cs.size()) + " hostile calls × " + std::to_string(kRounds + 1) +
                     " rounds: offshootd VmRSS growth",
                 static_cast<double>(rss_after - rss_before), "KiB");
    EXPECT_LT(rss_after - rss_before, rss_growth_bound_kib(kMaxRssGrowthKib)) << rss_before << " KiB → " << rss_after << " KiB";
    EXPECT_EQ(daemon().fd_count(), fds_before);
    EXPECT_FALSE(list_classes(bus()).empty());
    EXPECT_EQ(list_instances(bus()).size(), 1u) << "hostile calls created or removed handles";
    EXPECT_EQ(instance_state(bus(), live.path), "running");
    BusClient peer(live.address);
    EXPECT_EQ(counter_increment(peer, 1), 1);
}

// --- a flood from one user ----------------------------------------------------------------

constexpr uint32_t kDaemonUser = 1;
constexpr uint32_t kBinUser = 2;

class AUserFloodingSpawnsAtTheDefaultRate : public DaemonTest {};

TEST_F(AUserFloodingSpawnsAtTheDefaultRate, IsThrottledWhileAnotherUsersSpawnIsServedWithinOneSecond) {
    const std::string address = bus_address();
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    const int throttled_read = fds[0], throttled_write = fds[1];
    // The flood: spawns (cheap ones, not started) as fast as uid 1 can send them for 2 s; the
    // first LimitExceeded is announced through the pipe.
    AsUser flood(kDaemonUser, kDaemonUser, [&] {
        ::close(throttled_read);
        BusClient caller(address);
        std::vector<Outcome> out;
        const auto until = Clock::now() + 2s;
        bool announced = false;
        for (int n = 1; Clock::now() < until && n <= 5000; ++n) {
            out.push_back(outcome("spawn " + std::to_string(n),
                                  spawn_with_options(caller, "Counter", {{"uid", kDaemonUser}, {"start", false}})));
            if (!announced && out.back().error_name == kLimitExceeded) {
                announced = ::write(throttled_write, "!", 1) == 1;
            }
        }
        return encode_outcomes(out);
    });
    ::close(throttled_write);
    pollfd p{throttled_read, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 10'000), 1) << "the flood was not throttled within 10 s";
    ::close(throttled_read);

    // During the flood: another unprivileged user spawns, and is served promptly.
    const auto started = Clock::now();
    auto other = decode_outcomes(run_as(kBinUser, kBinUser, [&] {
        BusClient caller(address);
        return encode_outcomes({outcome("uid 2 spawns", spawn(caller, "Counter", kBinUser))});
    }));
    const double took = ms_since(started);
    ASSERT_EQ(other.size(), 1u);
    EXPECT_TRUE(other[0].ok()) << other[0].describe();
    report_figure("uid 2's Spawn (connect + Spawn) during uid 1's Spawn flood", took);
    EXPECT_LT(took, 1000.0);

    const auto outcomes = decode_outcomes(flood.answer(Deadline(30s)));
    std::size_t ok = 0, limited = 0;
    for (const auto& o : outcomes) {
        if (o.ok()) ++ok;
        else if (o.error_name == kLimitExceeded) ++limited;
        else ADD_FAILURE() << o.describe();
    }
    report_value("uid 1's flood: spawns sent", static_cast<double>(outcomes.size()), "");
    report_value("uid 1's flood: spawns allowed", static_cast<double>(ok), "");
    EXPECT_GT(limited, 0u);
    // Default limits (SpawnRateBurst=20, SpawnRatePerSecond=10) over about 2 s.
    EXPECT_LE(ok, 20u + 10u * 3u);
}

}  // namespace
}  // namespace offshoot::test

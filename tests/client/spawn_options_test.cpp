// spawn_options_test.cpp — SpawnOptions become exactly the a{sv} org.offshoot1.Supervisor.xml specifies: the keys
// and D-Bus types offshootd checks (it refuses unknown keys and wrong types), only what was set,
// and tie-to-caller always.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <offshoot/client.hpp>

namespace {

using offshoot::SpawnOptions;
using ::testing::ElementsAre;
using ::testing::Pair;

std::map<std::string, std::string> signatures(const std::map<std::string, sdbus::Variant>& m) {
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : m)
        out.emplace(key, value.peekValueType());
    return out;
}

TEST(SpawnOptionsEncoding, SendsOnlyTieToCallerTrueWhenNothingIsSet) {
    auto encoded = offshoot::to_dbus(SpawnOptions{});
    ASSERT_THAT(signatures(encoded), ElementsAre(Pair("tie-to-caller", "b")));
    EXPECT_TRUE(encoded.at("tie-to-caller").get<bool>());
}

TEST(SpawnOptionsEncoding, SendsTieToCallerFalseWhenTheProgramSaysSo) {
    auto encoded = offshoot::to_dbus(SpawnOptions{.tie_to_caller = false});
    EXPECT_FALSE(encoded.at("tie-to-caller").get<bool>());
}

TEST(SpawnOptionsEncoding, GivesEveryKeyTheTypeOfTheDesign) {
    SpawnOptions options{
        .uid = 65534,
        .gid = 65533,
        .groups = std::vector<uint32_t>{1, 2},
        .cwd = "/srv/a",
        .environment = std::vector<std::string>{"A=1"},
        .umask = 0022,
        .arguments = std::vector<std::string>{"100", "0"},
        .start = false,
        .stop_mode = offshoot::StopMode::wait,
        .stop_timeout_usec = 2'000'000,
    };
    auto encoded = offshoot::to_dbus(options);
    EXPECT_THAT(signatures(encoded),
                ElementsAre(Pair("arguments", "as"), Pair("cwd", "s"), Pair("environment", "as"),
                            Pair("gid", "u"), Pair("groups", "au"), Pair("start", "b"),
                            Pair("stop-mode", "s"), Pair("stop-timeout-usec", "t"),
                            Pair("tie-to-caller", "b"), Pair("uid", "u"), Pair("umask", "u")));
    EXPECT_EQ(encoded.at("uid").get<uint32_t>(), 65534u);
    EXPECT_EQ(encoded.at("gid").get<uint32_t>(), 65533u);
    EXPECT_THAT(encoded.at("groups").get<std::vector<uint32_t>>(), ElementsAre(1u, 2u));
    EXPECT_EQ(encoded.at("cwd").get<std::string>(), "/srv/a");
    EXPECT_THAT(encoded.at("environment").get<std::vector<std::string>>(), ElementsAre("A=1"));
    EXPECT_EQ(encoded.at("umask").get<uint32_t>(), 0022u);
    EXPECT_THAT(encoded.at("arguments").get<std::vector<std::string>>(), ElementsAre("100", "0"));
    EXPECT_FALSE(encoded.at("start").get<bool>());
    EXPECT_EQ(encoded.at("stop-mode").get<std::string>(), "wait");
    EXPECT_EQ(encoded.at("stop-timeout-usec").get<uint64_t>(), 2'000'000u);
}

TEST(SpawnOptionsEncoding, SpellsTheStopModesAsTheDaemonDoes) {
    EXPECT_STREQ(offshoot::to_string(offshoot::StopMode::terminate), "terminate");
    EXPECT_STREQ(offshoot::to_string(offshoot::StopMode::wait), "wait");
}

TEST(AnExitStatus, IsASuccessOnlyWhenItsResultSaysSo) {
    EXPECT_TRUE((offshoot::ExitStatus{"success", 0}).success());
    EXPECT_FALSE((offshoot::ExitStatus{"exit-code", 3}).success());
    EXPECT_FALSE((offshoot::ExitStatus{"signal", 9}).success());
}

}  // namespace

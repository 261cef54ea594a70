// options_test.cpp — SpawnWithOptions' a{sv} decoding and request validation, through
// sd-bus's own message parser.
#include "errors.hpp"
#include "options.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>

namespace offshoot {
namespace {

// A message built by sd-bus and read back, without a peer: sd-bus needs a started bus to
// create messages, so it gets one end of a socketpair nobody answers.
class AnOptionsMessage : public ::testing::Test {
protected:
    void SetUp() override {
        int sp[2];
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        peer_ = sp[1];
        ASSERT_GE(sd_bus_new(&bus_), 0);
        ASSERT_GE(sd_bus_set_fd(bus_, sp[0], sp[0]), 0);
        ASSERT_GE(sd_bus_start(bus_), 0);
    }
    void TearDown() override {
        sd_bus_close_unref(bus_);
        close(peer_);
    }
    // Builds "a{sv}" with `fill`, then decodes it.
    SpawnRequest decode(const std::function<void(sd_bus_message*)>& fill) {
        sd_bus_message* m = nullptr;
        EXPECT_GE(sd_bus_message_new_method_call(bus_, &m, "org.offshoot1", "/org/offshoot1",
                                                 "org.offshoot1.Supervisor", "SpawnWithOptions"), 0);
        EXPECT_GE(sd_bus_message_open_container(m, 'a', "{sv}"), 0);
        fill(m);
        EXPECT_GE(sd_bus_message_close_container(m), 0);
        EXPECT_GE(sd_bus_message_seal(m, 1, 0), 0);
        EXPECT_GE(sd_bus_message_rewind(m, 1), 0);
        SpawnRequest req;
        req.class_name = "Counter";
        try {
            decode_spawn_options(m, req);
        } catch (...) {
            sd_bus_message_unref(m);
            throw;
        }
        sd_bus_message_unref(m);
        return req;
    }
    std::string error_of(const std::function<void(sd_bus_message*)>& fill) {
        try {
            validate_request(decode(fill));
        } catch (const Error& e) {
            EXPECT_EQ(e.getName(), error_name::invalid_argument);
            return e.getMessage();
        }
        return "";
    }
    sd_bus* bus_ = nullptr;
    int peer_ = -1;
};

TEST_F(AnOptionsMessage, DecodesEveryKey) {
    auto req = decode([](sd_bus_message* m) {
        sd_bus_message_append(m, "{sv}", "uid", "u", 65534u);
        sd_bus_message_append(m, "{sv}", "gid", "u", 65534u);
        sd_bus_message_append(m, "{sv}", "groups", "au", 2, 65534u, 100u);
        sd_bus_message_append(m, "{sv}", "cwd", "s", "/srv/a");
        sd_bus_message_append(m, "{sv}", "environment", "as", 1, "FOO=bar");
        sd_bus_message_append(m, "{sv}", "umask", "u", 077u);
        sd_bus_message_append(m, "{sv}", "arguments", "as", 2, "100", "3");
        sd_bus_message_append(m, "{sv}", "start", "b", 0);
        sd_bus_message_append(m, "{sv}", "stop-mode", "s", "wait");
        sd_bus_message_append(m, "{sv}", "stop-timeout-usec", "t", uint64_t{500000});
        sd_bus_message_append(m, "{sv}", "tie-to-caller", "b", 1);
    });
    EXPECT_EQ(req.uid, 65534u);
    EXPECT_EQ(req.gid, 65534u);
    EXPECT_EQ(req.groups, (std::vector<uint32_t>{65534, 100}));
    EXPECT_EQ(req.cwd, "/srv/a");
    EXPECT_EQ(req.environment, (std::vector<std::string>{"FOO=bar"}));
    EXPECT_EQ(req.umask, 077u);
    EXPECT_EQ(req.arguments, (std::vector<std::string>{"100", "3"}));
    EXPECT_FALSE(req.start);
    EXPECT_EQ(req.stop_mode, StopMode::wait);
    EXPECT_EQ(req.stop_timeout_usec, 500000u);
    EXPECT_TRUE(req.tie_to_caller);
    EXPECT_NO_THROW(validate_request(req));
}

TEST_F(AnOptionsMessage, RefusesUnknownDuplicateAndMistypedKeysByName) {
    EXPECT_NE(error_of([](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "colour", "s", "red"); })
                  .find("unknown option 'colour'"), std::string::npos);
    EXPECT_NE(error_of([](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "uid", "s", "0"); })
                  .find("must be of type 'u'"), std::string::npos);
    EXPECT_NE(error_of([](sd_bus_message* m) {
                  sd_bus_message_append(m, "{sv}", "uid", "u", 1u);
                  sd_bus_message_append(m, "{sv}", "uid", "u", 2u);
              }).find("given twice"), std::string::npos);
    EXPECT_NE(error_of([](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "stop-mode", "s", "later"); })
                  .find("stop-mode"), std::string::npos);
}

TEST_F(AnOptionsMessage, RefusesOutOfRangeIdsBadPathsAndLoaderVariables) {
    for (uint32_t bad : {4294967295u, 4294967294u, 3000000000u})
        EXPECT_NE(error_of([&](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "uid", "u", bad); })
                      .find("out of range"), std::string::npos) << bad;
    EXPECT_NE(error_of([](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "groups", "au", 1, 4294967295u); })
                  .find("out of range"), std::string::npos);
    for (const char* cwd : {"relative", "/a/../b", "/..", "/proc/self/fd/3", "/proc"})
        EXPECT_NE(error_of([&](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "cwd", "s", cwd); }), "") << cwd;
    for (const char* env : {"LD_PRELOAD=/x.so", "GCONV_PATH=/x", "LD_LIBRARY_PATH=/x", "MALLOC_CHECK_=3",
                            "LISTEN_FDS=3", "NOVALUE", "=x", "BAD-NAME=1"})
        EXPECT_NE(error_of([&](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "environment", "as", 1, env); }), "")
            << env;
    EXPECT_EQ(error_of([](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "environment", "as", 1, "FOO=bar"); }), "");
    EXPECT_NE(error_of([](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "umask", "u", 01000u); }), "");
    EXPECT_NE(error_of([](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "stop-timeout-usec", "t", uint64_t{0}); }), "");
}

TEST_F(AnOptionsMessage, BoundsArraysBeforeMaterialisingThem) {
    auto msg = error_of([](sd_bus_message* m) {
        sd_bus_message_open_container(m, 'e', "sv");
        sd_bus_message_append(m, "s", "arguments");
        sd_bus_message_open_container(m, 'v', "as");
        sd_bus_message_open_container(m, 'a', "s");
        for (int i = 0; i < 5000; ++i) sd_bus_message_append(m, "s", "x");
        sd_bus_message_close_container(m);
        sd_bus_message_close_container(m);
        sd_bus_message_close_container(m);
    });
    EXPECT_NE(msg.find("more than"), std::string::npos) << msg;
}

}  // namespace
}  // namespace offshoot

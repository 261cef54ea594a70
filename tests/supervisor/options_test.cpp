// options_test.cpp — SpawnWithOptions' a{sv} decoding and request validation, through
// sd-bus's own message parser.
#include "offshoot/common/errors.hpp"
#include "bus/spawn_request.hpp"

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
            EXPECT_EQ(e.getName(), errors::invalid_argument);
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
        sd_bus_message_append(m, "{sv}", "restart", "s", "on-abort");
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
    EXPECT_EQ(req.restart, RestartPolicy::on_abort);
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
    // A policy systemd does not know, shown escaped (it may hold anything).
    EXPECT_NE(error_of([](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "restart", "s", "often\n"); })
                  .find("option 'restart' must be no, on-success, on-failure, on-abnormal, on-abort or always, not 'often\\n'"),
              std::string::npos);
}

TEST_F(AnOptionsMessage, RefusesOutOfRangeIdsBadPathsAndLoaderVariables) {
    for (uint32_t bad : {4294967295u, 4294967294u, 3000000000u})
        EXPECT_NE(error_of([&](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "uid", "u", bad); })
                      .find("out of range"), std::string::npos) << bad;
    EXPECT_NE(error_of([](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "groups", "au", 1, 4294967295u); })
                  .find("out of range"), std::string::npos);
    for (const char* cwd : {"relative", "/a/../b", "/.."})
        EXPECT_NE(error_of([&](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "cwd", "s", cwd); }), "") << cwd;
    // Where a path leads is for the kernel to say (the spawn child refuses procfs, see the
    // integration tests), not for its spelling: these are well-formed requests.
    for (const char* cwd : {"/proc", "//proc/1", "/tmp/link-to-proc"})
        EXPECT_EQ(error_of([&](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "cwd", "s", cwd); }), "") << cwd;
    for (const char* env : {"LD_PRELOAD=/x.so", "GCONV_PATH=/x", "LD_LIBRARY_PATH=/x", "MALLOC_CHECK_=3",
                            "LISTEN_FDS=3", "NOVALUE", "=x", "BAD-NAME=1"})
        EXPECT_NE(error_of([&](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "environment", "as", 1, env); }), "")
            << env;
    EXPECT_EQ(error_of([](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "environment", "as", 1, "FOO=bar"); }), "");
    EXPECT_NE(error_of([](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "umask", "u", 01000u); }), "");
    EXPECT_NE(error_of([](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "stop-timeout-usec", "t", uint64_t{0}); }), "");
}

TEST_F(AnOptionsMessage, RefusesControlCharactersInPathsAndClassNamesAndShowsThemEscaped) {
    // A newline in a logged path would start a line of its own (a forged log entry).
    const std::string forged = "/tmp/x\noffshootd: instance 1 (Counter) pid 1 exited with status 0: success";
    for (const std::string& cwd : {forged, std::string("/tmp/\x1b[31mred"), std::string("/tmp/tab\there"),
                                   std::string("/tmp/del\x7f")}) {
        const std::string msg =
            error_of([&](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "cwd", "s", cwd.c_str()); });
        EXPECT_NE(msg.find("control character"), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << "the refusal itself must not carry the newline";
    }
    EXPECT_NE(error_of([&](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "cwd", "s", forged.c_str()); })
                  .find("\\n"),
              std::string::npos)
        << "the newline is shown escaped";
    SpawnRequest req;
    req.class_name = "Coun\nter";
    try {
        validate_request(req);
        ADD_FAILURE() << "a class name with a newline was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.getName(), errors::invalid_argument);
        EXPECT_NE(e.getMessage().find("control character"), std::string::npos) << e.getMessage();
    }
    // UTF-8 is not a control character.
    EXPECT_EQ(error_of([](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", "cwd", "s", "/srv/caf\xc3\xa9"); }), "");
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

TEST_F(AnOptionsMessage, DecodesTheContainmentKeysInSystemdsUnits) {
    auto req = decode([](sd_bus_message* m) {
        sd_bus_message_append(m, "{sv}", "memory-max", "t", uint64_t{64} << 20);
        sd_bus_message_append(m, "{sv}", "memory-high", "t", uint64_t{48} << 20);
        sd_bus_message_append(m, "{sv}", "memory-swap-max", "t", uint64_t{0});
        sd_bus_message_append(m, "{sv}", "tasks-max", "t", uint64_t{16});
        sd_bus_message_append(m, "{sv}", "cpu-quota-per-sec-usec", "t", uint64_t{200000});
        sd_bus_message_append(m, "{sv}", "cpu-weight", "t", uint64_t{50});
        sd_bus_message_append(m, "{sv}", "io-weight", "t", uint64_t{20});
        sd_bus_message_append(m, "{sv}", "private-tmp", "b", 1);
        sd_bus_message_append(m, "{sv}", "private-network", "b", 1);
        sd_bus_message_append(m, "{sv}", "private-devices", "b", 0);
        sd_bus_message_append(m, "{sv}", "protect-system", "s", "strict");
        sd_bus_message_append(m, "{sv}", "protect-home", "s", "read-only");
        sd_bus_message_append(m, "{sv}", "read-only-paths", "as", 2, "/srv", "-/opt/maybe");
        sd_bus_message_append(m, "{sv}", "inaccessible-paths", "as", 1, "/etc/secret");
    });
    const ContainmentRequest& c = req.containment;
    EXPECT_EQ(c[Resource::memory_max], uint64_t{64} << 20);
    EXPECT_EQ(c[Resource::memory_high], uint64_t{48} << 20);
    EXPECT_EQ(c[Resource::memory_swap_max], 0u);
    EXPECT_EQ(c[Resource::tasks_max], 16u);
    EXPECT_EQ(c[Resource::cpu_quota], 200000u);
    EXPECT_EQ(c[Resource::cpu_weight], 50u);
    EXPECT_EQ(c[Resource::io_weight], 20u);
    EXPECT_EQ(c.private_tmp, true);
    EXPECT_EQ(c.private_network, true);
    EXPECT_EQ(c.private_devices, false);
    EXPECT_EQ(c.protect_system, ProtectSystem::strict);
    EXPECT_EQ(c.protect_home, ProtectHome::read_only);
    EXPECT_EQ(c.read_only_paths, (std::vector<std::string>{"/srv", "-/opt/maybe"}));
    EXPECT_EQ(c.inaccessible_paths, (std::vector<std::string>{"/etc/secret"}));
    EXPECT_NO_THROW(validate_request(req));
}

TEST_F(AnOptionsMessage, RefusesContainmentValuesSystemdWouldRefuse) {
    auto with = [&](const char* key, const char* type, auto value) {
        return error_of([&](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", key, type, value); });
    };
    EXPECT_NE(with("memory-max", "t", uint64_t{0}).find("at least 1"), std::string::npos);
    EXPECT_NE(with("tasks-max", "t", uint64_t{0}).find("at least 1"), std::string::npos);
    EXPECT_NE(with("cpu-quota-per-sec-usec", "t", uint64_t{0}).find("at least 1"), std::string::npos);
    EXPECT_NE(with("cpu-weight", "t", uint64_t{10001}).find("weight"), std::string::npos);
    EXPECT_NE(with("io-weight", "t", uint64_t{0}).find("weight from 1"), std::string::npos);
    EXPECT_EQ(with("cpu-weight", "t", uint64_t{0}), "") << "0 is CPUWeight=idle";
    EXPECT_EQ(with("memory-max", "t", UINT64_MAX), "") << "UINT64_MAX is infinity";
    EXPECT_NE(with("memory-max", "u", 1u).find("must be of type 't'"), std::string::npos);
    EXPECT_NE(with("protect-system", "s", "sometimes").find("protect-system"), std::string::npos);
    EXPECT_NE(with("protect-home", "s", "maybe").find("protect-home"), std::string::npos);
    auto paths = [&](const char* key, const char* path) {
        return error_of([&](sd_bus_message* m) { sd_bus_message_append(m, "{sv}", key, "as", 1, path); });
    };
    EXPECT_NE(paths("read-only-paths", "relative").find("absolute"), std::string::npos);
    EXPECT_NE(paths("read-only-paths", "/a/../etc").find(".."), std::string::npos);
    EXPECT_NE(paths("inaccessible-paths", "/tmp/a\nb").find("control character"), std::string::npos);
    EXPECT_NE(paths("inaccessible-paths", "+/x").find("RootDirectory"), std::string::npos);
    auto many = error_of([](sd_bus_message* m) {
        sd_bus_message_open_container(m, 'e', "sv");
        sd_bus_message_append(m, "s", "read-only-paths");
        sd_bus_message_open_container(m, 'v', "as");
        sd_bus_message_open_container(m, 'a', "s");
        for (int i = 0; i < 65; ++i) sd_bus_message_append(m, "s", "/srv");
        sd_bus_message_close_container(m);
        sd_bus_message_close_container(m);
        sd_bus_message_close_container(m);
    });
    EXPECT_NE(many.find("more than 64"), std::string::npos) << many;
}

}  // namespace
}  // namespace offshoot

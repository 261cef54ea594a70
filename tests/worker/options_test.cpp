// options_test.cpp — offshoot-worker's command line (offshoot/wire/worker_command.hpp), as
// offshootd writes it and the worker reads it, and the readiness datagram both ends share
// (offshoot/wire/readiness.hpp).
#include <offshoot/wire/readiness.hpp>
#include <offshoot/wire/worker_command.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

using offshoot::StopMode;
using offshoot::wire::WorkerCommand;

namespace {

struct Parsed {
    bool ok;
    WorkerCommand command;
    std::string error;
};

Parsed parse(std::vector<const char*> args) {
    args.insert(args.begin(), "offshoot-worker");
    Parsed p;
    p.ok = WorkerCommand::parse(static_cast<int>(args.size()), args.data(), p.command, p.error);
    return p;
}

}  // namespace

TEST(WorkerOptions, ParsesTheSupervisorsCommandLine) {
    auto p = parse({"--class=Counter", "--plugin=/usr/lib/offshoot/classes/counter.so", "--instance=42",
                    "--owner-uid=1000", "--stop-mode=wait", "--max-connections=7", "--dumpable=yes", "--", "a",
                    "--b=c", ""});
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.command.class_name, "Counter");
    EXPECT_EQ(p.command.plugin, "/usr/lib/offshoot/classes/counter.so");
    EXPECT_EQ(p.command.instance_id, 42u);
    EXPECT_EQ(p.command.owner_uid, 1000u);
    EXPECT_EQ(p.command.stop_mode, StopMode::wait);
    EXPECT_EQ(p.command.max_connections, 7u);
    EXPECT_TRUE(p.command.dumpable);
    EXPECT_EQ(p.command.arguments, (std::vector<std::string>{"a", "--b=c", ""}));
}

TEST(WorkerOptions, ReadsBackExactlyWhatTheSupervisorWrites) {
    WorkerCommand c;
    c.class_name = "Identity";
    c.plugin = "/p/identity.so";
    c.interface = "org.offshoot1.example.Identity";
    c.instance_id = 18446744073709551615u;
    c.owner_uid = 4294967294u;
    c.stop_mode = StopMode::wait;
    c.max_connections = 1;
    c.dumpable = true;
    c.arguments = {"--", "x y", ""};
    const auto argv = c.to_argv("/libexec/offshoot-worker");
    EXPECT_EQ(argv.front(), "/libexec/offshoot-worker");
    std::vector<const char*> raw;
    for (const auto& a : argv) raw.push_back(a.c_str());
    WorkerCommand back;
    std::string error;
    ASSERT_TRUE(WorkerCommand::parse(static_cast<int>(raw.size()), raw.data(), back, error)) << error;
    EXPECT_EQ(back.class_name, c.class_name);
    EXPECT_EQ(back.plugin, c.plugin);
    EXPECT_EQ(back.interface, c.interface);
    EXPECT_EQ(back.instance_id, c.instance_id);
    EXPECT_EQ(back.owner_uid, c.owner_uid);
    EXPECT_EQ(back.stop_mode, c.stop_mode);
    EXPECT_EQ(back.max_connections, c.max_connections);
    EXPECT_EQ(back.dumpable, c.dumpable);
    EXPECT_EQ(back.arguments, c.arguments);
}

TEST(WorkerOptions, DefaultsToTerminateAndNoArguments) {
    auto p = parse({"--class=C", "--plugin=/p.so", "--instance=18446744073709551615", "--owner-uid=0"});
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.command.stop_mode, StopMode::terminate);
    EXPECT_EQ(p.command.instance_id, UINT64_MAX);
    EXPECT_EQ(p.command.max_connections, 256u);
    EXPECT_FALSE(p.command.dumpable);
    EXPECT_EQ(p.command.interface, "");  // no check
    EXPECT_TRUE(p.command.arguments.empty());
}

TEST(WorkerOptions, RejectsMissingRequiredOptions) {
    auto p = parse({"--class=C", "--plugin=/p.so", "--instance=1"});
    EXPECT_FALSE(p.ok);
    EXPECT_NE(p.error.find("--owner-uid"), std::string::npos) << p.error;
}

TEST(WorkerOptions, RejectsBadValues) {
    const char* base[] = {"--class=C", "--plugin=/p.so", "--instance=1", "--owner-uid=0"};
    for (const char* bad : {"--owner-uid=-1", "--owner-uid=4294967295", "--owner-uid=4294967296", "--owner-uid=",
                            "--owner-uid=12x", "--owner-uid=+5", "--instance=18446744073709551616",
                            "--plugin=relative.so", "--class=", "--stop-mode=later", "--max-connections=0",
                            "--dumpable=maybe", "--interface=", "--unknown=1", "positional", "--class"}) {
        std::vector<const char*> args(std::begin(base), std::end(base));
        args.push_back(bad);
        auto p = parse(args);
        EXPECT_FALSE(p.ok) << bad;
        EXPECT_FALSE(p.error.empty()) << bad;
    }
}

TEST(WorkerOptions, AcceptsTheLargestValidUid) {
    auto p = parse({"--class=C", "--plugin=/p.so", "--instance=1", "--owner-uid=4294967294"});
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.command.owner_uid, 4294967294u);
}

TEST(TheReadinessDatagram, CarriesAFailedStepItsErrnoAndAMessageOnOneLineEach) {
    char buf[256];
    const size_t n = offshoot::wire::format_failure(buf, sizeof buf, "chdir", 13, "line one\nline two");
    EXPECT_EQ(std::string(buf, n), "ERROR=chdir\nERRNO=13\nMESSAGE=line one line two");
    offshoot::wire::Readiness r;
    r.read({buf, n});
    EXPECT_FALSE(r.ready);
    EXPECT_EQ(r.step, "chdir");
    EXPECT_EQ(r.err, 13);
    EXPECT_EQ(r.message, "line one line two");
    r.read(offshoot::wire::ready_message);
    EXPECT_TRUE(r.ready);
}

TEST(TheReadinessDatagram, IsCutAtTheBufferItIsWrittenInto) {
    char buf[16];
    const size_t n = offshoot::wire::format_failure(buf, sizeof buf, "setresuid", 1, "a long explanation");
    EXPECT_EQ(n, sizeof buf - 1);
    EXPECT_EQ(buf[n], '\0');
    char pid[24];
    EXPECT_EQ(std::string(pid, offshoot::wire::format_listen_pid(pid, sizeof pid, 4242)), "LISTEN_PID=4242");
}

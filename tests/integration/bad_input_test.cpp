// bad_input_test.cpp — Spawn and SpawnWithOptions refuse bad input with a named error and a
// message a person can act on, and offshootd stays up without leaking: fd count unchanged and
// still answering after 100 failing Spawns of mixed kinds.
#include <pwd.h>
#include <unistd.h>

#include "daemon_test.hpp"

namespace offshoot::test {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr uint32_t kNoPasswdUid = 54321;

class TheSupervisor : public DaemonTest {
protected:
    // A spawn that must fail with `error` and a message containing `fragment`.
    static void expect_failure(const SpawnReply& r, const char* error, const std::string& fragment = "") {
        ASSERT_FALSE(r.ok()) << "expected " << error << ", got " << r.describe();
        EXPECT_EQ(r.error_name, error) << r.error_message;
        EXPECT_THAT(r.error_message, Not(IsEmpty()));
        if (!fragment.empty()) {
            EXPECT_THAT(r.error_message, HasSubstr(fragment));
        }
    }
};

TEST_F(TheSupervisor, RejectsAnUnknownClass) {
    SpawnReply r = spawn(bus(), "NoSuchClass", kNobody);
    expect_failure(r, kUnknownClass, "NoSuchClass");
    expect_failure(spawn_with_options(bus(), "NoSuchClass", {{"uid", kNobody}}), kUnknownClass);
    // An empty name is not a class name at all: malformed input rather than an unknown class.
    expect_failure(spawn(bus(), "", kNobody), kInvalidArgument);
}

TEST_F(TheSupervisor, RejectsOutOfRangeUidsInSpawn) {
    for (uint32_t uid : {4294967295u, 4294967294u, 3000000000u}) {
        SCOPED_TRACE("uid " + std::to_string(uid));
        expect_failure(spawn(bus(), "Counter", uid), kInvalidArgument);
    }
}

TEST_F(TheSupervisor, RejectsOutOfRangeUidsInSpawnWithOptions) {
    for (uint32_t uid : {4294967295u, 4294967294u, 3000000000u}) {
        SCOPED_TRACE("uid " + std::to_string(uid));
        expect_failure(spawn_with_options(bus(), "Counter", {{"uid", uid}, {"gid", kNobody}}),
                       kInvalidArgument);
    }
}

TEST_F(TheSupervisor, RejectsOutOfRangeGids) {
    for (uint32_t gid : {4294967295u, 4294967294u, 3000000000u}) {
        SCOPED_TRACE("gid " + std::to_string(gid));
        expect_failure(spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"gid", gid}}),
                       kInvalidArgument);
        expect_failure(spawn_with_options(bus(), "Counter",
                                          {{"uid", kNobody}, {"groups", std::vector<uint32_t>{gid}}}),
                       kInvalidArgument);
    }
}

TEST_F(TheSupervisor, RejectsAUidWithoutPasswdEntryInSpawnAndSaysToPassAGid) {
    ASSERT_EQ(::getpwuid(kNoPasswdUid), nullptr) << "uid 54321 unexpectedly has a passwd entry";
    SpawnReply r = spawn(bus(), "Counter", kNoPasswdUid);
    expect_failure(r, kInvalidArgument, "gid");
    EXPECT_THAT(r.error_message, HasSubstr("SpawnWithOptions"));
    // SpawnWithOptions without a gid: the same.
    expect_failure(spawn_with_options(bus(), "Counter", {{"uid", kNoPasswdUid}}), kInvalidArgument, "gid");
}

TEST_F(TheSupervisor, ReportsANonexistentWorkingDirectoryAsAFailedChdir) {
    TempDir parent("offshoot-cwd", 0755);
    const auto missing = (parent / "does-not-exist").string();
    SpawnReply r = spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"cwd", missing}});
    expect_failure(r, kSpawnFailed, "chdir");
}

TEST_F(TheSupervisor, RejectsARelativeWorkingDirectory) {
    expect_failure(spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"cwd", std::string("tmp")}}),
                   kInvalidArgument, "absolute");
    expect_failure(spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"cwd", std::string("")}}),
                   kInvalidArgument);
}

TEST_F(TheSupervisor, ReportsAWorkingDirectoryTheUserCannotEnterAsAFailedChdir) {
    TempDir locked("offshoot-cwd-locked", 0700);  // root's
    SpawnReply r = spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"cwd", locked.str()}});
    expect_failure(r, kSpawnFailed, "chdir");
    EXPECT_THAT(r.error_message, HasSubstr("ermission denied")) << "the reason (EACCES) should be named";
    // The same mode on a directory the user owns works: the check is done as the target user.
    TempDir parent("offshoot-cwd", 0755);
    make_dir(parent / "mine", 0700, kNobody, kNobody);
    SpawnReply own = spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"cwd", (parent / "mine").string()}});
    EXPECT_TRUE(own.ok()) << own.describe();
}

TEST_F(TheSupervisor, RejectsOptionsOfTheWrongType) {
    expect_failure(spawn_with_options(bus(), "Counter", {{"uid", std::string("65534")}}),
                   kInvalidArgument, "uid");
    expect_failure(spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"gid", int32_t{65534}}}),
                   kInvalidArgument, "gid");
    expect_failure(spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"cwd", kNobody}}),
                   kInvalidArgument, "cwd");
    expect_failure(spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"arguments", std::string("x")}}),
                   kInvalidArgument, "arguments");
}

TEST_F(TheSupervisor, RejectsUnknownOptionKeys) {
    expect_failure(spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"colour", std::string("blue")}}),
                   kInvalidArgument, "colour");
}

TEST_F(TheSupervisor, StaysUpWithoutLeakingFdsAfterAHundredFailingSpawns) {
    ASSERT_EQ(::getpwuid(kNoPasswdUid), nullptr);
    TempDir parent("offshoot-cwd", 0755);
    TempDir locked("offshoot-cwd-locked", 0700);
    const std::string missing = (parent / "missing").string();

    struct Case {
        const char* expected;
        std::function<SpawnReply()> call;
    };
    const std::vector<Case> cases = {
        {kUnknownClass, [&] { return spawn(bus(), "NoSuchClass", kNobody); }},
        {kInvalidArgument, [&] { return spawn(bus(), "Counter", 4294967295u); }},
        {kInvalidArgument, [&] { return spawn(bus(), "Counter", kNoPasswdUid); }},
        {kInvalidArgument,
         [&] { return spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"gid", 3000000000u}}); }},
        {kSpawnFailed,
         [&] { return spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"cwd", missing}}); }},
        {kSpawnFailed,
         [&] { return spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"cwd", locked.str()}}); }},
        {kInvalidArgument,
         [&] { return spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"cwd", std::string("rel")}}); }},
        {kInvalidArgument, [&] { return spawn_with_options(bus(), "Counter", {{"uid", std::string("0")}}); }},
        {kInvalidArgument,
         [&] { return spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"colour", std::string("red")}}); }},
    };

    // One round first, so that anything opened once and kept on purpose (e.g. an NSS
    // connection) is already open when the count is taken.
    for (const auto& c : cases) {
        SpawnReply r = c.call();
        ASSERT_EQ(r.error_name, c.expected) << r.describe();
    }
    const std::size_t fds_before = daemon().fd_count();
    const uint32_t count_before = instance_count(bus());

    for (int i = 0; i < 100; ++i) {
        const Case& c = cases[static_cast<std::size_t>(i) % cases.size()];
        SpawnReply r = c.call();
        ASSERT_EQ(r.error_name, c.expected) << "attempt " << i << ": " << r.describe();
    }

    EXPECT_EQ(daemon().fd_count(), fds_before) << "offshootd's fd count changed";
    EXPECT_EQ(instance_count(bus()), count_before) << "failed spawns left handles behind";
    EXPECT_THAT(list_classes(bus()), Not(IsEmpty()));
    // And it still spawns.
    SpawnReply ok = spawn(bus(), "Counter", kNobody);
    EXPECT_TRUE(ok.ok()) << ok.describe();
}

}  // namespace
}  // namespace offshoot::test

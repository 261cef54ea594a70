// security_worker_test.cpp — what a worker inherits: exactly the ids asked for, no capabilities,
// no way back to root, no new privileges, only its own descriptors, a fresh environment, a
// session of its own without a terminal, and a working directory entered as the target user.
// Seen from outside (/proc, as root) and from inside (the test-only Prober class).
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "daemon_test.hpp"
#include "offshoot/test/proc_security.hpp"

namespace offshoot::test {
namespace {

using ::testing::Contains;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr const char* kProberInterface = "org.offshoot1.test.Prober";

struct Regain {
    int32_t setresuid = -1, setresgid = -1, setgroups = -1;
};

Regain try_regain_root(BusClient& instance) {
    auto m = instance.call_checked(kObjectName, kObjectPath, kProberInterface, "TryRegainRoot");
    Regain r;
    if (sd_bus_message_read(m.get(), "iii", &r.setresuid, &r.setresgid, &r.setgroups) < 0)
        throw std::runtime_error("TryRegainRoot: bad reply");
    return r;
}

std::vector<std::string> read_strings(const MessagePtr& m) {
    std::vector<std::string> out;
    if (sd_bus_message_enter_container(m.get(), 'a', "s") < 0) throw std::runtime_error("not an array of strings");
    const char* s = nullptr;
    while (sd_bus_message_read(m.get(), "s", &s) > 0) out.emplace_back(s);
    return out;
}

class AWorker : public DaemonTest {
protected:
    // Spawns Prober with `options` and connects to it.
    pid_t spawn_prober(const SpawnOptions& options) {
        SpawnReply r = spawn_with_options(bus(), "Prober", options);
        if (!r.ok()) throw std::runtime_error("Prober: " + r.describe());
        path_ = r.path;
        instance_.emplace(r.address);
        return static_cast<pid_t>(instance_main_pid(bus(), r.path));
    }
    BusClient& instance() { return *instance_; }
    std::string path_;
    std::optional<BusClient> instance_;
};

TEST_F(AWorker, RunsWithExactlyTheRequestedIdsAndGroupsAndNoCapabilities) {
    const pid_t pid = spawn_prober({{"uid", kNobody}, {"gid", kNobody}, {"groups", std::vector<uint32_t>{kNobody}}});
    auto status = read_status(pid);
    ASSERT_TRUE(status);
    EXPECT_THAT(status->uid, Each(kNobody)) << "real, effective, saved, fs";
    EXPECT_THAT(status->gid, Each(kNobody)) << "real, effective, saved, fs";
    EXPECT_THAT(status->groups, ElementsAre(kNobody));

    auto fields = read_status_fields(pid);
    ASSERT_TRUE(fields);
    for (const char* cap : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
        EXPECT_EQ((*fields)[cap], "0000000000000000") << cap;
    EXPECT_EQ((*fields)["NoNewPrivs"], "1");
}

TEST_F(AWorker, RunsWithNoSupplementaryGroupsWhenAskedForNone) {
    const pid_t pid = spawn_prober({{"uid", kNobody}, {"groups", std::vector<uint32_t>{}}});
    auto status = read_status(pid);
    ASSERT_TRUE(status);
    EXPECT_THAT(status->uid, Each(kNobody));
    EXPECT_THAT(status->groups, IsEmpty()) << "an empty 'groups' means none, not the user's";
}

TEST_F(AWorker, CannotRegainRootOrChangeItsGroups) {
    spawn_prober({{"uid", kNobody}});
    const Regain r = try_regain_root(instance());
    EXPECT_EQ(r.setresuid, EPERM) << "setresuid(0,0,0) inside the worker";
    EXPECT_EQ(r.setresgid, EPERM) << "setresgid(0,0,0) inside the worker";
    EXPECT_EQ(r.setgroups, EPERM) << "setgroups({0}) inside the worker";
    // And nothing changed by trying.
    auto status = read_status(static_cast<pid_t>(instance_main_pid(bus(), path_)));
    ASSERT_TRUE(status);
    EXPECT_THAT(status->uid, Each(kNobody));
    EXPECT_THAT(status->groups, Not(Contains(0u)));
}

TEST_F(AWorker, HasASessionOfItsOwnAndNoControllingTerminal) {
    const pid_t pid = spawn_prober({{"uid", kNobody}});
    auto s = read_session(pid);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->session, pid) << "the worker leads its own session";
    EXPECT_EQ(s->pgrp, pid) << "and its own process group";
    EXPECT_EQ(s->tty_nr, 0) << "no controlling terminal";
    EXPECT_NE(s->session, ::getsid(0));
    EXPECT_NE(s->session, ::getsid(daemon().pid()));

    auto m = instance().call_checked(kObjectName, kObjectPath, kProberInterface, "Session");
    int32_t sid = 0, pgid = 0, own = 0;
    const char* tty = nullptr;
    ASSERT_GE(sd_bus_message_read(m.get(), "iiis", &sid, &pgid, &own, &tty), 0);
    EXPECT_EQ(own, pid);
    EXPECT_EQ(sid, pid);
    EXPECT_EQ(pgid, pid);
    EXPECT_STREQ(tty, "") << "/dev/tty opened: the worker has a controlling terminal";
}

// --- descriptors --------------------------------------------------------------------------

// Sockets, and the anonymous inodes of an sd-event loop, are the worker's own business; any
// file, directory, pipe or other object is something it inherited.
bool is_event_loop_or_socket(const std::string& target) {
    static const std::set<std::string> loop = {"anon_inode:[eventpoll]", "anon_inode:[signalfd]",
                                               "anon_inode:[timerfd]", "anon_inode:[eventfd]"};
    return target.rfind("socket:[", 0) == 0 || loop.count(target) > 0;
}

TEST_F(AWorker, HoldsOnlyItsStandardStreamsAndItsOwnSocketsEvenWhenOffshootdHoldsManyFds) {
    // Make offshootd hold many descriptors (a pidfd per running instance, and its own).
    for (int i = 0; i < 20; ++i) {
        SpawnReply r = spawn(bus(), "Counter", kNobody);
        ASSERT_TRUE(r.ok()) << r.describe();
    }
    // (Counted by kind: a total taken at start can include sd_notify's short-lived socket.
    // Kernels with pidfs name them "pidfd:[…]".)
    std::size_t pidfds = 0;
    for (const auto& [fd, target] : proc_fds(daemon().pid())) pidfds += target == "anon_inode:[pidfd]" || target.rfind("pidfd:", 0) == 0;
    const std::size_t daemon_fds = daemon().fd_count();
    EXPECT_GE(pidfds, 20u) << "offshootd should hold a pidfd for each of its instances";

    const pid_t pid = spawn_prober({{"uid", kNobody}});
    const auto fds = proc_fds(pid);
    const auto daemon_targets = proc_fds(daemon().pid());
    std::set<std::string> in_daemon;
    for (const auto& [fd, target] : daemon_targets) in_daemon.insert(target);

    std::string listing;
    for (const auto& [fd, target] : fds) listing += std::to_string(fd) + " -> " + target + "\n";
    SCOPED_TRACE("worker fds:\n" + listing);

    ASSERT_EQ(fds.count(0), 1u);
    ASSERT_EQ(fds.count(1), 1u);
    ASSERT_EQ(fds.count(2), 1u);
    EXPECT_EQ(fds.at(0), "/dev/null") << "stdin";
    // stdout/stderr: a journal stream (a socket) under systemd, else a pipe whose other end
    // offshootd reads — never offshootd's own stderr (the test harness's log file here).
    const std::string daemon_stderr = daemon_targets.count(2) ? daemon_targets.at(2) : "";
    for (int std_fd : {1, 2}) {
        const auto& t = fds.at(std_fd);
        EXPECT_TRUE((t.rfind("pipe:[", 0) == 0 && in_daemon.count(t)) || t.rfind("socket:[", 0) == 0)
            << "fd " << std_fd << " -> " << t;
        EXPECT_NE(t, daemon_stderr) << "fd " << std_fd << " is offshootd's own stderr";
    }
    std::size_t high = 0;
    for (const auto& [fd, target] : fds) {
        if (fd <= 2) continue;
        ++high;
        EXPECT_TRUE(is_event_loop_or_socket(target)) << "fd " << fd << " -> " << target << " was inherited";
        // Sockets other than its listening socket (3) and its readiness channel (4) must not be
        // shared with offshootd (its bus connection, other instances' sockets, …).
        if (fd > 4 && target.rfind("socket:[", 0) == 0) {
            EXPECT_EQ(in_daemon.count(target), 0u) << "fd " << fd << " -> " << target << " is one of offshootd's";
        }
    }
    // A handful: the listening socket, readiness channel, our connection and the event loop's
    // own — far fewer than offshootd holds.
    EXPECT_LE(high, 12u);
    EXPECT_LT(fds.size(), daemon_fds);

    // The worker's own view agrees (it has one more: the directory it lists /proc/self/fd with,
    // which it leaves out).
    auto m = instance().call_checked(kObjectName, kObjectPath, kProberInterface, "Fds");
    const auto inside = read_strings(m);
    for (const auto& entry : inside) {
        const auto target = entry.substr(entry.find(" -> ") + 4);
        const int fd = std::stoi(entry);
        if (fd > 2) {
            EXPECT_TRUE(is_event_loop_or_socket(target)) << "inside: " << entry;
        }
    }
}

// Every descriptor offshootd keeps for a live instance (its pidfd, the read end of its output
// pipe) is numbered at or above 1024, the number below which a spawn child copies offshootd's
// table (spawn.hpp): with them below it, each spawn copied and closed every instance's.
TEST_F(AWorker, OfAnyInstanceIsHeldByOffshootdAboveTheDescriptorsASpawnCopies) {
    for (int i = 0; i < 5; ++i) {
        SpawnReply r = spawn(bus(), "Counter", kNobody);
        ASSERT_TRUE(r.ok()) << r.describe();
    }
    std::size_t pidfds = 0, pipes = 0;
    for (const auto& [fd, target] : proc_fds(daemon().pid())) {
        const bool pidfd = target == "anon_inode:[pidfd]" || target.rfind("pidfd:", 0) == 0;
        const bool pipe = target.rfind("pipe:", 0) == 0;
        if (!pidfd && !pipe) continue;
        (pidfd ? pidfds : pipes) += 1;
        EXPECT_GE(fd, 1024) << "offshootd holds fd " << fd << " -> " << target << " below 1024";
    }
    EXPECT_GE(pidfds, 5u) << "a pidfd per instance";
    EXPECT_GE(pipes, 5u) << "an output pipe per instance (no journal here)";
}

// --- environment --------------------------------------------------------------------------

class AWorkerOfADaemonWithAPoisonedEnvironment : public AWorker {
protected:
    TestDaemonOptions daemon_options() override {
        TestDaemonOptions o;
        // A library that does not exist: ld.so complains and carries on, but a worker that
        // inherited the variable would show it in /proc/PID/environ.
        o.extra_env = {"LD_PRELOAD=/nonexistent/offshoot-test-preload.so", "LD_LIBRARY_PATH=/nonexistent/lib",
                       "GCONV_PATH=/nonexistent/gconv", "MALLOC_CHECK_=3", "FOO=from-offshootd",
                       "DBUS_STARTER_ADDRESS=unix:path=/nonexistent"};
        return o;
    }
};

bool has_key(const std::vector<std::string>& env, const std::string& key) {
    return std::any_of(env.begin(), env.end(), [&](const std::string& e) { return e.rfind(key + "=", 0) == 0; });
}

TEST_F(AWorkerOfADaemonWithAPoisonedEnvironment, InheritsNoneOfOffshootdsEnvironment) {
    const pid_t pid = spawn_prober({{"uid", kNobody}});
    const auto env = proc_environ(pid);
    ASSERT_THAT(env, Not(IsEmpty()));
    for (const char* key : {"LD_PRELOAD", "LD_LIBRARY_PATH", "GCONV_PATH", "MALLOC_CHECK_", "FOO",
                            "DBUS_STARTER_ADDRESS", "NOTIFY_SOCKET"})
        EXPECT_FALSE(has_key(env, key)) << key << " reached the worker";
    // Only the documented variables.
    const std::set<std::string> allowed = {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LISTEN_FDS",
                                           "LISTEN_PID", "OFFSHOOT_NOTIFY_FD"};
    for (const auto& e : env)
        EXPECT_EQ(allowed.count(e.substr(0, e.find('='))), 1u) << "unexpected variable " << e;
    const passwd* pw = ::getpwuid(kNobody);
    ASSERT_NE(pw, nullptr);
    EXPECT_THAT(env, Contains(std::string("USER=") + pw->pw_name));
    EXPECT_THAT(env, Contains(std::string("HOME=") + pw->pw_dir));
    EXPECT_THAT(env, Contains("LISTEN_PID=" + std::to_string(pid)));
    EXPECT_THAT(env, Contains("LISTEN_FDS=1"));
}

TEST_F(AWorkerOfADaemonWithAPoisonedEnvironment, GetsTheCallersPlainVariablesButNoLoaderVariables) {
    for (const char* bad : {"LD_PRELOAD=/tmp/evil.so", "LD_LIBRARY_PATH=/tmp", "LD_AUDIT=/tmp/a.so",
                            "GCONV_PATH=/tmp", "MALLOC_PERTURB_=1", "LISTEN_FDS=5", "LISTEN_PID=1"}) {
        SpawnReply r = spawn_with_options(bus(), "Prober",
                                          {{"uid", kNobody}, {"environment", std::vector<std::string>{"FOO=bar", bad}}});
        EXPECT_EQ(r.error_name, kInvalidArgument) << bad << ": " << r.describe();
    }
    EXPECT_EQ(instance_count(bus()), 0u);

    const pid_t pid = spawn_prober({{"uid", kNobody}, {"environment", std::vector<std::string>{"FOO=bar"}}});
    EXPECT_THAT(proc_environ(pid), Contains("FOO=bar"));
    auto m = instance().call_checked(kObjectName, kObjectPath, kProberInterface, "Env");
    const auto inside = read_strings(m);
    EXPECT_THAT(inside, Contains("FOO=bar"));
    EXPECT_FALSE(has_key(inside, "LD_PRELOAD"));
    EXPECT_FALSE(has_key(inside, "GCONV_PATH"));
}

// --- working directory --------------------------------------------------------------------

TEST_F(AWorker, EntersItsWorkingDirectoryAsTheTargetUser) {
    TempDir parent("offshoot-cwd", 0755);
    const auto dir = parent / "private";
    make_dir(dir, 0700);  // root's
    SpawnReply denied = spawn_with_options(bus(), "Prober", {{"uid", kNobody}, {"cwd", dir.string()}});
    ASSERT_EQ(denied.error_name, kSpawnFailed) << denied.describe();
    EXPECT_THAT(denied.error_message, HasSubstr("chdir"));
    EXPECT_THAT(denied.error_message, HasSubstr("ermission denied"));
    EXPECT_EQ(instance_count(bus()), 0u) << "a failed spawn leaves no handle";

    // The same directory, now the target user's: entered.
    ASSERT_EQ(::chown(dir.c_str(), kNobody, kNobody), 0);
    const pid_t pid = spawn_prober({{"uid", kNobody}, {"cwd", dir.string()}});
    EXPECT_EQ(proc_cwd(pid), dir);
}

TEST_F(AWorker, RefusesWorkingDirectoriesThatEscapeOrNameDescriptors) {
    TempDir parent("offshoot-cwd", 0755);
    make_dir(parent / "sub", 0755);
    // A ".." component is refused as a request (the path named is the path meant) …
    for (const std::string& cwd : std::vector<std::string>{parent.str() + "/sub/..", parent.str() + "/../tmp", std::string("/tmp/..")}) {
        SpawnReply r = spawn_with_options(bus(), "Prober", {{"uid", kNobody}, {"cwd", cwd}});
        EXPECT_EQ(r.error_name, kInvalidArgument) << cwd << ": " << r.describe();
    }
    // … and whatever leads into /proc by the kernel's resolution, at the chdir step
    // (hostile_caller_test.cpp has the spellings a caller tried).
    const auto link = parent / "link-to-fd";
    std::filesystem::create_symlink("/proc/self/fd/3", link);
    for (const std::string& cwd : std::vector<std::string>{"/proc/self/fd/3", "/proc/self/cwd", "/proc/1/root", "/proc", link.string()}) {
        SpawnReply r = spawn_with_options(bus(), "Prober", {{"uid", kNobody}, {"cwd", cwd}});
        EXPECT_EQ(r.error_name, kSpawnFailed) << cwd << ": " << r.describe();
        EXPECT_THAT(r.error_message, ::testing::StartsWith("chdir: ")) << cwd;
    }
    EXPECT_EQ(instance_count(bus()), 0u);
}

}  // namespace
}  // namespace offshoot::test

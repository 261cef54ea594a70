// hostile_caller_test.cpp — what a hostile caller tried and must no longer get (issue 14): a
// working directory judged by where it leads rather than how it is spelt, log lines a caller's
// string cannot forge, GetManagedObjects that works for everyone, a worker another process of
// its uid cannot take over, and a worker that writes into a stream of its own rather than into
// offshootd's log.
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon_test.hpp"
#include "offshoot/test/as_user.hpp"
#include "offshoot/test/outcomes.hpp"
#include "offshoot/test/pidfd.hpp"
#include "offshoot/test/proc_security.hpp"

namespace offshoot::test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kProberInterface = "org.offshoot1.test.Prober";
constexpr uint32_t kSysUser = 3;  // "sys", primary group 3

// The lines of offshootd's log.
std::vector<std::string> log_lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

std::size_t entries_in(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
    return n;
}

// ---- finding 1: the working directory ------------------------------------------------------

class AWorkingDirectory : public DaemonTest {};

TEST_F(AWorkingDirectory, IsRefusedWhereverItLeadsIntoProcHoweverItIsSpeltAndLeavesNothingBehind) {
    TempDir parent("offshoot-cwd", 0755);
    const auto to_proc1 = parent / "to-proc-1";
    const auto to_self_cwd = parent / "to-self-cwd";
    const auto chain = parent / "chain";
    std::filesystem::create_symlink("/proc/1", to_proc1);
    std::filesystem::create_symlink("/proc/self/cwd", to_self_cwd);
    std::filesystem::create_symlink(to_self_cwd, chain);  // a link to a link into /proc
    const std::vector<std::string> paths = {
        "/proc", "//proc/1", "/./proc/1", "/proc/1", "/proc/self/cwd", "/proc/self/fd/3", "/proc/1/root",
        "/dev/fd/3",  // /dev/fd is a symbolic link to /proc/self/fd
        to_proc1.string(), to_self_cwd.string(), chain.string(), to_self_cwd.string() + "/."};
    // The caller of the finding: an unprivileged user spawning as itself (always allowed).
    const std::string text = run_as(kNobody, kNobody, [&] {
        BusClient caller(bus_address());
        std::vector<Outcome> outcomes;
        for (const auto& p : paths) outcomes.push_back(outcome(p, spawn_with_options(caller, "Counter", {{"cwd", p}})));
        return encode_outcomes(outcomes);
    });
    for (const auto& o : decode_outcomes(text)) {
        EXPECT_EQ(o.error_name, kSpawnFailed) << o.describe();
        EXPECT_THAT(o.error_message, StartsWith("chdir: cannot enter ")) << o.describe();
    }
    EXPECT_EQ(instance_count(bus()), 0u) << "a refused working directory leaves no handle";
    EXPECT_EQ(entries_in(daemon().runtime_dir() / "instances"), 0u) << "… and no socket";
}

TEST_F(AWorkingDirectory, IsEnteredThroughASymbolicLinkToAnOrdinaryDirectoryWithTheUsersPermissions) {
    TempDir parent("offshoot-cwd", 0755);
    make_dir(parent / "real", 0755, kNobody, kNobody);
    std::filesystem::create_symlink(parent / "real", parent / "link");
    SpawnReply ok = spawn_with_options(bus(), "Identity", {{"uid", kNobody}, {"cwd", (parent / "link").string()}});
    ASSERT_TRUE(ok.ok()) << ok.describe();
    EXPECT_EQ(proc_cwd(static_cast<pid_t>(instance_main_pid(bus(), ok.path))), parent / "real");

    // A link into a directory only root may search: the user's permissions are checked on the
    // way the link leads, not on the link.
    make_dir(parent / "locked", 0700);
    make_dir(parent / "locked" / "inside", 0777);
    std::filesystem::create_symlink(parent / "locked" / "inside", parent / "sneak");
    SpawnReply denied = spawn_with_options(bus(), "Identity", {{"uid", kNobody}, {"cwd", (parent / "sneak").string()}});
    EXPECT_EQ(denied.error_name, kSpawnFailed) << denied.describe();
    EXPECT_THAT(denied.error_message, HasSubstr("ermission denied"));
}

// ---- finding 2: log lines a caller's string could forge ------------------------------------

class ALogLine : public DaemonTest {};

TEST_F(ALogLine, CannotBeForgedByAStringACallerSends) {
    const std::string forged = "offshootd: instance 77 (Counter) pid 1 exited with status 0: success";
    SpawnReply by_cwd = spawn_with_options(bus(), "Counter", {{"uid", kNobody}, {"cwd", "/tmp\n" + forged}});
    EXPECT_EQ(by_cwd.error_name, kInvalidArgument) << by_cwd.describe();
    EXPECT_THAT(by_cwd.error_message, HasSubstr("control character"));
    SpawnReply by_class = spawn(bus(), "Counter\n" + forged, kNobody);
    EXPECT_EQ(by_class.error_name, kInvalidArgument) << by_class.describe();

    // A string that does reach the log (a class's refusal of its arguments, passed on by the
    // worker) has its control characters shown, not acted on.
    SpawnReply by_argument = spawn_with_options(
        bus(), "Sleeper", {{"uid", kNobody}, {"arguments", std::vector<std::string>{"1\x1b[2K\r" + forged}}});
    EXPECT_EQ(by_argument.error_name, kSpawnFailed) << by_argument.describe();
    const std::string log = daemon().log();
    for (const auto& line : log_lines(log)) EXPECT_THAT(line, ::testing::Not(StartsWith(forged))) << "a forged line";
    EXPECT_EQ(log.find('\x1b'), std::string::npos) << "an escape sequence reached the log raw";
    EXPECT_THAT(log, HasSubstr("\\x1b[2K")) << log;
}

// ---- finding 5: GetManagedObjects for everyone ---------------------------------------------

class TheObjectManager : public DaemonTest {};

TEST_F(TheObjectManager, AnswersAnUnprivilegedCallerWithOtherUsersAddressesHidden) {
    SpawnReply roots = spawn(bus(), "Counter", kNobody);  // owned by root
    ASSERT_TRUE(roots.ok()) << roots.describe();
    const std::string text = run_as(kSysUser, kSysUser, [&] {
        BusClient caller(bus_address());
        std::vector<Outcome> out;
        SpawnReply own = spawn(caller, "Counter", kSysUser);
        out.push_back(outcome("spawn", own));
        Reply r = caller.call(kBusName, kSupervisorPath, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
        std::string addresses;
        if (r.ok()) {
            // a{oa{sa{sv}}}: the Address of each handle, as "path=address;".
            sd_bus_message* m = r.get();
            sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}");
            while (sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}") > 0) {
                const char* path = nullptr;
                sd_bus_message_read(m, "o", &path);
                sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
                while (sd_bus_message_enter_container(m, 'e', "sa{sv}") > 0) {
                    const char* iface = nullptr;
                    sd_bus_message_read(m, "s", &iface);
                    sd_bus_message_enter_container(m, 'a', "{sv}");
                    while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                        const char* name = nullptr;
                        sd_bus_message_read(m, "s", &name);
                        if (std::string(name) == "Address") {
                            const char* a = nullptr;
                            sd_bus_message_read(m, "v", "s", &a);
                            addresses += std::string(path) + "=" + a + ";";
                        } else {
                            sd_bus_message_skip(m, "v");
                        }
                        sd_bus_message_exit_container(m);
                    }
                    sd_bus_message_exit_container(m);
                    sd_bus_message_exit_container(m);
                }
                sd_bus_message_exit_container(m);
                sd_bus_message_exit_container(m);
            }
        }
        out.push_back(outcome("GetManagedObjects", r, addresses));
        if (own.ok()) out.push_back(outcome("stop", stop_instance(caller, own.path)));
        return encode_outcomes(out);
    });
    const auto out = decode_outcomes(text);
    ASSERT_EQ(out.size(), 3u) << text;
    ASSERT_TRUE(out[0].ok()) << out[0].describe();
    ASSERT_TRUE(out[1].ok()) << "GetManagedObjects failed for uid 3: " << out[1].describe();
    EXPECT_THAT(out[1].value, HasSubstr(roots.path + "=;")) << "root's instance's address must be hidden";
    EXPECT_THAT(out[1].value, HasSubstr(out[0].path + "=" + out[0].address + ";")) << "its own is shown";
}

// ---- finding 6: a worker another process of its uid could take over ------------------------

class AWorkerOfAClassThatMayDumpCore : public DaemonTest {
protected:
    TestDaemonOptions daemon_options() override {
        dir_.emplace("offshoot-conf", 0755);
        std::ofstream(*dir_ / "dumpable.conf")
            << "[Class]\nName=DumpableCounter\nPlugin=counter.so\nInterface=org.offshoot1.example.Counter\n"
               "[Access]\nAllowedUsers=nobody\n[Exec]\nDumpable=yes\n";
        TestDaemonOptions o;
        o.config_dir = dir_->path();
        return o;
    }
    std::optional<TempDir> dir_;
};

// From a process of the worker's uid: pidfd_getfd of its listening socket, ptrace, and its
// descriptors in /proc. "ok" for each that worked, else the errno's name.
std::string try_to_take_over(pid_t worker) {
    std::string out;
    const int pidfd = open_pidfd(worker);
    if (pidfd < 0) return "pidfd_open failed";
    const int stolen = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, 3, 0));
    out += stolen >= 0 ? "getfd=ok " : std::string("getfd=") + strerrorname_np(errno) + " ";
    if (stolen >= 0) ::close(stolen);
    ::close(pidfd);
    const long traced = ::ptrace(PTRACE_SEIZE, worker, nullptr, nullptr);
    out += traced == 0 ? "ptrace=ok " : std::string("ptrace=") + strerrorname_np(errno) + " ";
    if (traced == 0) ::ptrace(PTRACE_DETACH, worker, nullptr, nullptr);
    const int fd = ::open(("/proc/" + std::to_string(worker) + "/fd/3").c_str(), O_RDWR | O_CLOEXEC);
    out += fd >= 0 ? "procfd=ok" : std::string("procfd=") + strerrorname_np(errno);
    if (fd >= 0) ::close(fd);
    return out;
}

TEST_F(AWorkerOfAClassThatMayDumpCore, CannotBeTakenOverByAnotherProcessOfItsUidUnlessItsClassSaysDumpable) {
    SpawnReply plain = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(plain.ok()) << plain.describe();
    const auto worker = static_cast<pid_t>(instance_main_pid(bus(), plain.path));
    EXPECT_EQ(run_as(kNobody, kNobody, [&] { return try_to_take_over(worker); }),
              "getfd=EPERM ptrace=EPERM procfd=EACCES");
    // Signals still reach it: a shared uid allows that (README, Security).
    EXPECT_EQ(run_as(kNobody, kNobody, [&] { return std::to_string(::kill(worker, 0)); }), "0");

    // The class's own choice: dumpable, so it can leave a core file — and be traced by its uid.
    SpawnReply dumpable = spawn(bus(), "DumpableCounter", kNobody);
    ASSERT_TRUE(dumpable.ok()) << dumpable.describe();
    const auto open_worker = static_cast<pid_t>(instance_main_pid(bus(), dumpable.path));
    EXPECT_THAT(run_as(kNobody, kNobody, [&] { return try_to_take_over(open_worker); }), StartsWith("getfd=ok"));
}

// ---- finding 7: a worker's output -----------------------------------------------------------

class AWorkersOutput : public DaemonTest {};

TEST_F(AWorkersOutput, GoesToAPipeOfItsOwnAndIsLoggedAsThatInstancesWithItsControlCharactersShown) {
    SpawnReply r = spawn(bus(), "Prober", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    const auto worker = static_cast<pid_t>(instance_main_pid(bus(), r.path));
    const auto worker_fds = proc_fds(worker);
    const auto daemon_fds = proc_fds(daemon().pid());
    ASSERT_EQ(worker_fds.count(2), 1u);
    const std::string out = worker_fds.at(2);
    EXPECT_THAT(out, StartsWith("pipe:")) << "the worker's stderr";
    EXPECT_EQ(worker_fds.at(1), out) << "stdout and stderr are one stream";
    EXPECT_NE(daemon_fds.at(2), out) << "never offshootd's own stderr";
    bool daemon_reads_it = false;
    for (const auto& [fd, target] : daemon_fds) daemon_reads_it |= fd > 2 && target == out;
    EXPECT_TRUE(daemon_reads_it) << "offshootd holds the other end";

    const std::string forged = "offshootd: instance 77 (Counter) pid 1 exited with status 0: success";
    BusClient instance(r.address);
    instance.call_checked(kObjectName, kObjectPath, kProberInterface, "Print", [&](sd_bus_message* m) {
        return sd_bus_message_append(m, "s", (forged + "\nsecond line \x1b[31mred\n").c_str());
    });
    const std::string prefix = "offshootd: instance " + r.path.substr(r.path.rfind('/') + 1) + " (Prober) pid " +
                               std::to_string(worker) + ": ";
    ASSERT_TRUE(wait_until([&] { return daemon().log().find(prefix + "second line") != std::string::npos; }, Deadline(5s)))
        << daemon().log();
    const std::string log = daemon().log();
    EXPECT_THAT(log, HasSubstr(prefix + forged));
    EXPECT_THAT(log, HasSubstr(prefix + "second line \\x1b[31mred"));
    for (const auto& line : log_lines(log)) EXPECT_THAT(line, ::testing::Not(StartsWith(forged)));
}

// ---- finding 8: a method that blocks ------------------------------------------------------

class AMethodThatBlocks : public DaemonTest {};

// Identity.ReadFile on a FIFO nobody writes to blocks until somebody does. It answers through
// an offshoot::Result from a thread of its own (Method.Async = server), so the instance's loop
// stays free: other callers are answered, and Stop ends the instance cleanly.
TEST_F(AMethodThatBlocks, HoldsUpNeitherOtherCallersNorItsInstancesStop) {
    TempDir parent("offshoot-fifo", 0755);
    const auto home = parent / "home";
    make_dir(home, 0755, kNobody, kNobody);
    ASSERT_EQ(::mkfifo((home / "fifo").c_str(), 0666), 0);
    ASSERT_EQ(::chown((home / "fifo").c_str(), kNobody, kNobody), 0);
    SpawnReply r = spawn_with_options(bus(), "Identity", {{"uid", kNobody}, {"cwd", home.string()}});
    ASSERT_TRUE(r.ok()) << r.describe();

    // A read that blocks (until a writer opens the FIFO), on a connection of its own.
    BusClient reader(r.address);
    struct Answer {
        bool arrived = false;
        std::string value, error;
    } answers[1];
    for (Answer& a : answers) {
        auto on_reply = [](sd_bus_message* m, void* userdata, sd_bus_error*) -> int {
            auto* a = static_cast<Answer*>(userdata);
            a->arrived = true;
            if (sd_bus_message_is_method_error(m, nullptr)) a->error = sd_bus_message_get_error(m)->name;
            else {
                const char* v = nullptr;
                if (sd_bus_message_read(m, "s", &v) >= 0) a->value = v;
            }
            return 0;
        };
        ASSERT_GE(sd_bus_call_method_async(reader.get(), nullptr, kObjectName, kObjectPath, kIdentityInterface,
                                           "ReadFile", on_reply, &a, "s", "fifo"),
                  0);
    }
    ASSERT_GE(sd_bus_flush(reader.get()), 0);

    // Meanwhile another caller is answered at once.
    BusClient other(r.address, std::chrono::seconds(2));
    const auto t0 = Clock::now();
    Reply d = other.call(kObjectName, kObjectPath, kIdentityInterface, "Describe");
    EXPECT_TRUE(d.ok()) << "a blocked ReadFile held up Describe: " << d.describe();
    EXPECT_LT(Clock::now() - t0, 1s);

    // A writer comes (its open waits for the reader's): the read returns what it wrote.
    {
        const int w = ::open((home / "fifo").c_str(), O_WRONLY | O_CLOEXEC);
        ASSERT_GE(w, 0);
        ASSERT_EQ(::write(w, "hello", 5), 5);
        ::close(w);
    }
    ASSERT_TRUE(reader.process_until([&] { return answers[0].arrived; }, Deadline(5s)))
        << "the deferred reply never came";
    EXPECT_EQ(answers[0].error, "");
    EXPECT_EQ(answers[0].value, "hello");

    // A read that blocks for good does not hold Stop up: stop() runs, the worker exits 0.
    Answer stuck;
    ASSERT_GE(sd_bus_call_method_async(
                  reader.get(), nullptr, kObjectName, kObjectPath, kIdentityInterface, "ReadFile",
                  [](sd_bus_message*, void* userdata, sd_bus_error*) -> int {
                      static_cast<Answer*>(userdata)->arrived = true;
                      return 0;
                  },
                  &stuck, "s", "fifo"),
              0);
    ASSERT_GE(sd_bus_flush(reader.get()), 0);
    ASSERT_TRUE(other.call(kObjectName, kObjectPath, kIdentityInterface, "Describe").ok());
    const auto t1 = Clock::now();
    Reply stopped = stop_instance(bus(), r.path);
    EXPECT_TRUE(stopped.ok()) << stopped.describe();
    EXPECT_LT(Clock::now() - t1, 5s);
    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "success") << "Stop had to kill the instance";
    EXPECT_TRUE(reader.process_until([&] { return stuck.arrived; }, Deadline(5s)))
        << "the read that never finished did not fail when the instance went";
}

}  // namespace
}  // namespace offshoot::test

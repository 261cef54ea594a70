// security_limits_test.cpp — a class config's resource limits ([Exec] Limit*=) and system-call
// filter (SystemCallFilter=, SystemCallErrorNumber=) are in force in its workers: /proc shows
// the limits and seccomp mode 2, a filtered call fails with the configured errno, or — with no
// errno configured — kills the worker with SIGSYS.
#include <signal.h>

#include <fstream>

#include "daemon_test.hpp"
#include "offshoot/test/proc_security.hpp"

namespace offshoot::test {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

constexpr const char* kProberInterface = "org.offshoot1.test.Prober";

// A DaemonTest with an --config-dir holding `files` (name → text); a file named like a vendor
// config replaces it.
class WithClassConfigs : public DaemonTest {
protected:
    virtual std::vector<std::pair<std::string, std::string>> files() = 0;
    TestDaemonOptions daemon_options() override {
        dir_.emplace("offshoot-conf", 0755);
        for (const auto& [name, text] : files()) std::ofstream(*dir_ / name) << text;
        TestDaemonOptions o;
        o.config_dir = dir_->path();
        return o;
    }
    std::optional<TempDir> dir_;
};

#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer reserves ≈ 20 TiB of address space (shadow memory, allocator) as the worker
// starts: a sanitized worker cannot run under 4 GiB, so this build checks a limit it can live with.
constexpr const char* kAddressSpaceLimit = "109951162777600";  // 100 TiB
#else
constexpr const char* kAddressSpaceLimit = "4294967296";  // 4 GiB
#endif

class AClassWithResourceLimits : public WithClassConfigs {
protected:
    std::vector<std::pair<std::string, std::string>> files() override {
        return {{"prober.conf",
                 "[Class]\nName=Prober\nPlugin=prober.so\nInterface=org.offshoot1.test.Prober\n"
                 "[Access]\nAllowedUsers=nobody\nAllowedCallers=root\n"
                 "[Exec]\nWorkingDirectory=/\n"
                 "LimitNOFILE=512:1024\nLimitNPROC=77:88\nLimitAS=" + std::string(kAddressSpaceLimit) +
                     "\nLimitCORE=0\n"
                 "LimitCPU=60:infinity\nLimitFSIZE=10M:20M\nLimitDATA=" + std::string(kAddressSpaceLimit) +
                     "\nLimitSTACK=4M:8M\nLimitMEMLOCK=64K\n"}};
    }
};

TEST_F(AClassWithResourceLimits, RunsItsWorkersUnderThem) {
    SpawnReply r = spawn(bus(), "Prober", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    const auto pid = static_cast<pid_t>(instance_main_pid(bus(), r.path));
    const auto limits = proc_limits(pid);
    ASSERT_FALSE(limits.empty());
    auto expect = [&](const char* name, const char* soft, const char* hard) {
        ASSERT_EQ(limits.count(name), 1u) << name;
        EXPECT_EQ(limits.at(name).soft, soft) << name << " (soft)";
        EXPECT_EQ(limits.at(name).hard, hard) << name << " (hard)";
    };
    expect("Max open files", "512", "1024");
    expect("Max processes", "77", "88");
    expect("Max address space", kAddressSpaceLimit, kAddressSpaceLimit);
    expect("Max core file size", "0", "0");
    expect("Max cpu time", "60", "unlimited");
    expect("Max file size", "10485760", "20971520");
    expect("Max data size", kAddressSpaceLimit, kAddressSpaceLimit);
    expect("Max stack size", "4194304", "8388608");
    expect("Max locked memory", "65536", "65536");

    // The worker sees the same from inside, and still serves calls under them.
    BusClient instance(r.address);
    auto m = instance.call_checked(kObjectName, kObjectPath, kProberInterface, "Limits");
    const char* text = nullptr;
    ASSERT_GE(sd_bus_message_read(m.get(), "s", &text), 0);
    EXPECT_THAT(std::string(text), ::testing::ContainsRegex("Max open files +512 +1024"));
}

class AClassWithASystemCallFilter : public WithClassConfigs {
protected:
    std::vector<std::pair<std::string, std::string>> files() override {
        const std::string head = "Plugin=identity.so\nInterface=org.offshoot1.example.Identity\n"
                                 "[Access]\nAllowedUsers=nobody\nAllowedCallers=root\n"
                                 "[Exec]\nWorkingDirectory=/\nSystemCallFilter=@system-service ~chdir\n";
        const std::string prober = "Plugin=prober.so\nInterface=org.offshoot1.test.Prober\n"
                                   "[Access]\nAllowedUsers=nobody\nAllowedCallers=root\n"
                                   "[Exec]\nWorkingDirectory=/\nSystemCallFilter=@system-service\n";
        return {{"filtered-eperm.conf", "[Class]\nName=FilteredEperm\n" + head + "SystemCallErrorNumber=EPERM\n"},
                {"filtered-kill.conf", "[Class]\nName=FilteredKill\n" + head},
                {"filtered-prober-eperm.conf", "[Class]\nName=FilteredProberEperm\n" + prober + "SystemCallErrorNumber=EPERM\n"},
                {"filtered-prober-kill.conf", "[Class]\nName=FilteredProberKill\n" + prober}};
    }
};

// Identity.Describe() works under the filter (the call needs none of the filtered system calls).
void expect_describe_works(BusClient& instance) {
    Reply d = instance.call(kObjectName, kObjectPath, kIdentityInterface, "Describe");
    EXPECT_TRUE(d.ok()) << d.describe();
}

int32_t exit_signal(BusClient& bus, const std::string& path) {
    auto m = bus.call_checked(kBusName, path.c_str(), "org.freedesktop.DBus.Properties", "Get",
                              [](sd_bus_message* q) { return sd_bus_message_append(q, "ss", kInstanceInterface, "ExitSignal"); });
    int32_t v = 0;
    if (sd_bus_message_read(m.get(), "v", "i", &v) < 0) throw std::runtime_error("ExitSignal is not an i");
    return v;
}

Reply change_directory(BusClient& instance, const char* path) {
    return instance.call(kObjectName, kObjectPath, kIdentityInterface, "ChangeDirectory",
                         [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", path); });
}

TEST_F(AClassWithASystemCallFilter, FailsAFilteredCallWithTheConfiguredErrno) {
    SpawnReply r = spawn(bus(), "FilteredEperm", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    const auto pid = static_cast<pid_t>(instance_main_pid(bus(), r.path));
    auto fields = read_status_fields(pid);
    ASSERT_TRUE(fields);
    EXPECT_EQ((*fields)["Seccomp"], "2") << "no seccomp filter in the worker";

    BusClient instance(r.address);
    expect_describe_works(instance);
    Reply cd = change_directory(instance, "/tmp");
    ASSERT_FALSE(cd.ok()) << "chdir is filtered, yet ChangeDirectory succeeded";
    EXPECT_THAT(cd.error_message, HasSubstr("Operation not permitted"));
    // The worker is still there and still serves.
    expect_describe_works(instance);
    EXPECT_EQ(instance_state(bus(), r.path), "running");
    EXPECT_EQ(proc_cwd(pid), "/");
}

TEST_F(AClassWithASystemCallFilter, KillsTheWorkerWithSigsysWhenNoErrnoIsConfigured) {
    SpawnReply r = spawn(bus(), "FilteredKill", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    BusClient instance(r.address, std::chrono::seconds(5));
    expect_describe_works(instance);
    Reply cd = change_directory(instance, "/tmp");
    EXPECT_FALSE(cd.ok()) << "chdir is filtered, yet ChangeDirectory succeeded";

    WaitResult w = wait_instance(bus(), r.path);
    ASSERT_EQ(w.error, "");
    EXPECT_THAT(w.result, AnyOf("signal", "core-dump"));
    EXPECT_EQ(exit_signal(bus(), r.path), SIGSYS);
}

int32_t try_syscall(BusClient& instance, const char* name) {
    auto m = instance.call_checked(kObjectName, kObjectPath, kProberInterface, "TrySyscall",
                                   [&](sd_bus_message* q) { return sd_bus_message_append(q, "s", name); });
    int32_t e = -1;
    if (sd_bus_message_read(m.get(), "i", &e) < 0) throw std::runtime_error("TrySyscall: bad reply");
    return e;
}

// The filter lists native system calls only; the 32-bit ABI (int $0x80) meets the filter's
// answer whatever the call, even one the list allows natively (getpid).
TEST_F(AClassWithASystemCallFilter, DeniesThe32BitSystemCallAbiEvenForCallsItAllows) {
    SpawnReply open = spawn(bus(), "Prober", kNobody);
    ASSERT_TRUE(open.ok()) << open.describe();
    BusClient unfiltered(open.address);
    ASSERT_EQ(try_syscall(unfiltered, "int80-getpid"), 0) << "this kernel has no 32-bit ABI: nothing to deny";

    SpawnReply eperm = spawn(bus(), "FilteredProberEperm", kNobody);
    ASSERT_TRUE(eperm.ok()) << eperm.describe();
    BusClient filtered(eperm.address);
    EXPECT_EQ(try_syscall(filtered, "getpid"), 0) << "getpid is allowed natively";
    EXPECT_EQ(try_syscall(filtered, "int80-getpid"), EPERM);

    SpawnReply kill = spawn(bus(), "FilteredProberKill", kNobody);
    ASSERT_TRUE(kill.ok()) << kill.describe();
    BusClient killed(kill.address, std::chrono::seconds(5));
    Reply r = killed.call(kObjectName, kObjectPath, kProberInterface, "TrySyscall",
                          [](sd_bus_message* q) { return sd_bus_message_append(q, "s", "int80-getpid"); });
    EXPECT_FALSE(r.ok()) << "the worker survived a 32-bit system call";
    WaitResult w = wait_instance(bus(), kill.path);
    ASSERT_EQ(w.error, "");
    EXPECT_EQ(exit_signal(bus(), kill.path), SIGSYS) << "the whole worker, not just its thread, is killed";
}

}  // namespace
}  // namespace offshoot::test

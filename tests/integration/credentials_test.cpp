// credentials_test.cpp — an instance runs in a process of its own, under the uid, gid, groups
// and working directory asked for; two instances' working directories are independent of each
// other and of the caller's (the "each part needs its own cwd" use case).
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon_test.hpp"

namespace offshoot::test {
namespace {

using ::testing::Contains;
using ::testing::Each;
using ::testing::Not;

// What Identity.Describe() answers.
struct Described {
    uint32_t uid = 0, gid = 0, pid = 0;
    std::vector<uint32_t> groups;
    std::string cwd;
};

Described describe(BusClient& instance) {
    auto m = instance.call_checked(kObjectName, kObjectPath, kIdentityInterface, "Describe");
    Described d;
    if (sd_bus_message_read(m.get(), "uu", &d.uid, &d.gid) < 0) throw std::runtime_error("Describe: uid/gid");
    const void* data = nullptr;
    size_t size = 0;
    if (sd_bus_message_read_array(m.get(), 'u', &data, &size) < 0) throw std::runtime_error("Describe: groups");
    auto* groups = static_cast<const uint32_t*>(data);
    d.groups.assign(groups, groups + size / sizeof(uint32_t));
    const char* cwd = nullptr;
    if (sd_bus_message_read(m.get(), "su", &cwd, &d.pid) < 0) throw std::runtime_error("Describe: cwd/pid");
    d.cwd = cwd;
    return d;
}

Reply write_file(BusClient& instance, const std::string& name, const std::string& content) {
    return instance.call(kObjectName, kObjectPath, kIdentityInterface, "WriteFile",
                         [&](sd_bus_message* m) {
                             return sd_bus_message_append(m, "ss", name.c_str(), content.c_str());
                         });
}

Reply change_directory(BusClient& instance, const std::string& path) {
    return instance.call(kObjectName, kObjectPath, kIdentityInterface, "ChangeDirectory",
                         [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", path.c_str()); });
}

Reply read_file(BusClient& instance, const std::string& name) {
    return instance.call(kObjectName, kObjectPath, kIdentityInterface, "ReadFile",
                         [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", name.c_str()); });
}

std::string reply_string(const Reply& r) {
    const char* s = nullptr;
    if (!r.ok() || sd_bus_message_read(r.get(), "s", &s) < 0) return "<no string reply>";
    return s;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

uid_t owner_of(const std::filesystem::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) < 0) return static_cast<uid_t>(-1);
    return st.st_uid;
}

std::vector<uint32_t> sorted(std::vector<uint32_t> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}

// The groups systemd's User= would give `user` (initgroups: the primary group included).
std::vector<uint32_t> groups_of(const char* user, gid_t primary) {
    int n = 64;
    std::vector<gid_t> g(static_cast<std::size_t>(n));
    if (::getgrouplist(user, primary, g.data(), &n) < 0) {
        g.resize(static_cast<std::size_t>(n));
        ::getgrouplist(user, primary, g.data(), &n);
    }
    g.resize(static_cast<std::size_t>(n));
    return sorted(std::vector<uint32_t>(g.begin(), g.end()));
}

class ASpawnedInstance : public DaemonTest {};

TEST_F(ASpawnedInstance, RunsAsTheRequestedUidAndGidInItsOwnProcessAndDirectory) {
    TempDir cwd("offshoot-cwd", 0755);
    SpawnReply r = spawn_with_options(bus(), "Identity", {{"uid", kNobody}, {"cwd", cwd.str()}});
    ASSERT_TRUE(r.ok()) << r.describe();

    const uint32_t pid = instance_main_pid(bus(), r.path);
    ASSERT_NE(pid, 0u);
    EXPECT_NE(static_cast<pid_t>(pid), ::getpid());
    EXPECT_NE(static_cast<pid_t>(pid), daemon().pid());

    auto status = read_status(static_cast<pid_t>(pid));
    ASSERT_TRUE(status) << "no /proc/" << pid << "/status";
    EXPECT_THAT(status->uid, Each(kNobody)) << "real, effective, saved and fs uid";
    EXPECT_THAT(status->gid, Each(kNobody)) << "real, effective, saved and fs gid";
    EXPECT_THAT(status->groups, Not(Contains(0u))) << "root's group must be dropped";
    EXPECT_EQ(proc_cwd(static_cast<pid_t>(pid)), cwd.path());

    // The object itself agrees, over its private connection.
    BusClient instance(r.address);
    Described d = describe(instance);
    EXPECT_EQ(d.pid, pid);
    EXPECT_EQ(d.uid, kNobody);
    EXPECT_EQ(d.gid, kNobody);
    EXPECT_EQ(d.cwd, cwd.str());

    // And so do the handle's properties.
    EXPECT_EQ(bus().get_u32_property(kBusName, r.path.c_str(), kInstanceInterface, "Uid"), kNobody);
    EXPECT_EQ(bus().get_u32_property(kBusName, r.path.c_str(), kInstanceInterface, "Gid"), kNobody);
    EXPECT_EQ(bus().get_string_property(kBusName, r.path.c_str(), kInstanceInterface, "WorkingDirectory"),
              cwd.str());
    EXPECT_EQ(instance_state(bus(), r.path), "running");
}

TEST_F(ASpawnedInstance, GetsTheUsersGroupsThroughPlainSpawn) {
    const passwd* pw = ::getpwuid(kNobody);
    ASSERT_NE(pw, nullptr) << "this machine has no passwd entry for 65534";
    const std::string name = pw->pw_name;
    const gid_t primary = pw->pw_gid;

    SpawnReply r = spawn(bus(), "Identity", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    const auto pid = static_cast<pid_t>(instance_main_pid(bus(), r.path));
    auto status = read_status(pid);
    ASSERT_TRUE(status);
    EXPECT_THAT(status->uid, Each(kNobody));
    EXPECT_THAT(status->gid, Each(static_cast<uint32_t>(primary)));
    EXPECT_EQ(sorted(status->groups), groups_of(name.c_str(), primary));
    // Working directory: the class's WorkingDirectory= or /, and the handle says which.
    EXPECT_EQ(proc_cwd(pid).string(),
              bus().get_string_property(kBusName, r.path.c_str(), kInstanceInterface, "WorkingDirectory"));
}

TEST_F(ASpawnedInstance, NeedsTheClassToAllowAnyGroupForAUidWithoutPasswdEntry) {
    constexpr uint32_t kStranger = 54321;
    ASSERT_EQ(::getpwuid(kStranger), nullptr) << "uid 54321 unexpectedly has a passwd entry";
    // The vendor Identity config does not set AllowAnyGroup=yes: the gid cannot be checked
    // against a user database entry, so the request is refused.
    SpawnReply r = spawn_with_options(bus(), "Identity", {{"uid", kStranger}, {"gid", kStranger}});
    ASSERT_FALSE(r.ok()) << r.describe();
    EXPECT_EQ(r.error_name, "org.offshoot1.Error.AccessDenied") << r.error_message;
}

// The same daemon with an --config-dir whose identity.conf (same file name: it replaces the
// vendor one) lets root choose any group.
class AClassAllowingAnyGroup : public DaemonTest {
protected:
    TestDaemonOptions daemon_options() override {
        config_dir_.emplace("offshoot-conf", 0755);
        std::ofstream out(*config_dir_ / "identity.conf");
        out << "[Class]\nName=Identity\nPlugin=identity.so\nInterface=org.offshoot1.example.Identity\n"
               "[Access]\nAllowedUsers=nobody 1000-60000\nAllowedCallers=root\nAllowAnyGroup=yes\n"
               "[Exec]\nWorkingDirectory=/\n";
        TestDaemonOptions o;
        o.config_dir = config_dir_->path();
        return o;
    }
    std::optional<TempDir> config_dir_;
};

TEST_F(AClassAllowingAnyGroup, RunsAsAUidWithoutPasswdEntryWhenGivenAnExplicitGid) {
    constexpr uint32_t kStranger = 54321;
    ASSERT_EQ(::getpwuid(kStranger), nullptr) << "uid 54321 unexpectedly has a passwd entry";
    SpawnReply r = spawn_with_options(bus(), "Identity", {{"uid", kStranger}, {"gid", kStranger}});
    ASSERT_TRUE(r.ok()) << r.describe();
    const auto pid = static_cast<pid_t>(instance_main_pid(bus(), r.path));
    auto status = read_status(pid);
    ASSERT_TRUE(status);
    EXPECT_THAT(status->uid, Each(kStranger));
    EXPECT_THAT(status->gid, Each(kStranger));
    EXPECT_THAT(status->groups, Not(Contains(0u)));
    // Plain Spawn still refuses it: there is no user entry to take the gid from.
    SpawnReply plain = spawn(bus(), "Identity", kStranger);
    EXPECT_EQ(plain.error_name, kInvalidArgument) << plain.describe();
}

class TwoIdentityInstances : public DaemonTest {};

TEST_F(TwoIdentityInstances, KeepTheirWorkingDirectoriesApartFromEachOtherAndFromTheCaller) {
    // 0777 so that nobody can write in them; the test creates them as root.
    TempDir a("offshoot-cwd-a", 0777);
    TempDir b("offshoot-cwd-b", 0777);
    make_dir(a / "sub", 0777);
    const auto caller_cwd = std::filesystem::current_path();

    SpawnReply ra = spawn_with_options(bus(), "Identity", {{"uid", kNobody}, {"cwd", a.str()}});
    ASSERT_TRUE(ra.ok()) << ra.describe();
    SpawnReply rb = spawn_with_options(bus(), "Identity", {{"uid", kNobody}, {"cwd", b.str()}});
    ASSERT_TRUE(rb.ok()) << rb.describe();
    ASSERT_NE(ra.address, rb.address);
    BusClient ia(ra.address);
    BusClient ib(rb.address);
    const Described da = describe(ia);
    const Described db = describe(ib);
    EXPECT_NE(da.pid, db.pid);
    EXPECT_EQ(da.cwd, a.str());
    EXPECT_EQ(db.cwd, b.str());

    // A file written by each lands in its own directory, owned by the instance's uid.
    auto w = write_file(ia, "from-a.txt", "written by a");
    ASSERT_TRUE(w.ok()) << w.describe();
    w = write_file(ib, "from-b.txt", "written by b");
    ASSERT_TRUE(w.ok()) << w.describe();
    EXPECT_EQ(slurp(a / "from-a.txt"), "written by a");
    EXPECT_EQ(slurp(b / "from-b.txt"), "written by b");
    EXPECT_EQ(owner_of(a / "from-a.txt"), kNobody);
    EXPECT_EQ(owner_of(b / "from-b.txt"), kNobody);
    EXPECT_FALSE(std::filesystem::exists(b / "from-a.txt"));
    EXPECT_FALSE(std::filesystem::exists(a / "from-b.txt"));

    // Changing directory in one moves only that one.
    auto c = change_directory(ia, (a / "sub").string());
    ASSERT_TRUE(c.ok()) << c.describe();
    EXPECT_EQ(describe(ia).cwd, (a / "sub").string());
    EXPECT_EQ(proc_cwd(static_cast<pid_t>(da.pid)), a / "sub");
    EXPECT_EQ(describe(ib).cwd, b.str());
    EXPECT_EQ(proc_cwd(static_cast<pid_t>(db.pid)), b.path());
    EXPECT_EQ(std::filesystem::current_path(), caller_cwd);

    w = write_file(ia, "after-cd.txt", "in sub");
    ASSERT_TRUE(w.ok()) << w.describe();
    w = write_file(ib, "after-cd.txt", "still in b");
    ASSERT_TRUE(w.ok()) << w.describe();
    EXPECT_EQ(slurp(a / "sub" / "after-cd.txt"), "in sub");
    EXPECT_EQ(slurp(b / "after-cd.txt"), "still in b");
    EXPECT_FALSE(std::filesystem::exists(a / "after-cd.txt"));
    EXPECT_FALSE(std::filesystem::exists(caller_cwd / "after-cd.txt"));

    // Each reads relative to its own directory only.
    EXPECT_EQ(reply_string(read_file(ia, "after-cd.txt")), "in sub");
    EXPECT_EQ(reply_string(read_file(ib, "after-cd.txt")), "still in b");
    EXPECT_FALSE(read_file(ib, "from-a.txt").ok()) << "b must not see a's file";
}

TEST_F(TwoIdentityInstances, CannotWriteWhereTheirUserHasNoPermission) {
    TempDir root_only("offshoot-cwd-ro", 0755);  // root's, not writable by nobody
    SpawnReply r = spawn_with_options(bus(), "Identity", {{"uid", kNobody}, {"cwd", root_only.str()}});
    ASSERT_TRUE(r.ok()) << r.describe();
    BusClient instance(r.address);
    Reply w = write_file(instance, "denied.txt", "x");
    EXPECT_FALSE(w.ok()) << "an instance running as nobody wrote into a root-owned 0755 directory";
    EXPECT_FALSE(std::filesystem::exists(root_only / "denied.txt"));
    // The worker survives the failed call.
    EXPECT_EQ(describe(instance).uid, kNobody);
}

// The umask a caller asks for (or the class's UMask=, else 0022) is the worker's: files it
// creates get 0666 minus it.
TEST_F(ASpawnedInstance, CreatesFilesUnderTheUmaskItWasGiven) {
    TempDir parent("offshoot-umask", 0755);
    for (const auto& [umask, expected] : std::vector<std::pair<uint32_t, mode_t>>{{027, 0640}, {077, 0600}, {0, 0666}}) {
        const auto dir = parent / ("u" + std::to_string(umask));
        make_dir(dir, 0755, kNobody, kNobody);
        SpawnReply r = spawn_with_options(bus(), "Identity", {{"uid", kNobody}, {"cwd", dir.string()}, {"umask", umask}});
        ASSERT_TRUE(r.ok()) << r.describe();
        BusClient instance(r.address);
        Reply w = write_file(instance, "file", "x");
        ASSERT_TRUE(w.ok()) << w.describe();
        struct stat st {};
        ASSERT_EQ(::stat((dir / "file").c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, expected) << "umask " << std::oct << umask;
        EXPECT_EQ(stop_instance(bus(), r.path).error_name, "");
    }
}

}  // namespace
}  // namespace offshoot::test

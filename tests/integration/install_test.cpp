// install_test.cpp — `cmake --install` gives a complete tree: its offshootd, run with nothing but
// --address and --runtime-dir, finds its own worker, plugins and vendor class configs and serves
// the example classes.
#include <filesystem>

#include "daemon_test.hpp"
#include "offshoot/test/subprocess.hpp"
#include "offshoot/test/temp_dir.hpp"

namespace offshoot::test {
namespace {

namespace fs = std::filesystem;

// One staged install per test program run (installing takes a moment; the tree is read-only
// for the tests).
const fs::path& staged_prefix() {
    static TempDir dir("offshoot-install", 0755);
    static const fs::path prefix = [] {
        const fs::path p = dir.path() / "prefix";
        RunResult r = run({"cmake", "--install", OFFSHOOT_TEST_BINARY_DIR, "--prefix", p.string()}, 120s);
        if (!r.ok()) throw std::runtime_error("cmake --install failed: " + r.describe());
        return p;
    }();
    return prefix;
}

class AnInstalledTree : public DaemonTest {
protected:
    TestDaemonOptions daemon_options() override {
        TestDaemonOptions o;
        o.offshootd = staged_prefix() / "bin/offshootd";
        return o;
    }
};

TEST_F(AnInstalledTree, HoldsTheProgramsPluginsConfigsInterfacesAndServiceFiles) {
    const fs::path& p = staged_prefix();
    for (const char* f : {"bin/offshootd", "libexec/offshoot/offshoot-worker",
                          "lib/offshoot/classes.d/counter.conf", "lib/offshoot/classes.d/identity.conf",
                          "share/dbus-1/interfaces/org.offshoot1.Supervisor.xml",
                          "share/dbus-1/interfaces/org.offshoot1.example.Counter.xml",
                          "lib/systemd/system/offshootd.service",
                          "share/dbus-1/system-services/org.offshoot1.service",
                          "share/dbus-1/system.d/org.offshoot1.conf"})
        EXPECT_TRUE(fs::exists(p / f)) << "missing " << f;
    bool counter_plugin = false;
    for (auto& e : fs::recursive_directory_iterator(p))
        counter_plugin |= e.path().filename() == "counter.so";
    EXPECT_TRUE(counter_plugin) << "no counter.so under " << p;
}

TEST_F(AnInstalledTree, ServesTheExampleClassesWithItsOwnWorker) {
    SpawnReply r = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    BusClient instance(r.address);
    Reply reply = instance.call(kObjectName, kObjectPath, "org.offshoot1.example.Counter", "Increment",
                                [](sd_bus_message* m) { return sd_bus_message_append(m, "x", int64_t{5}); });
    ASSERT_TRUE(reply.ok()) << reply.describe();
    int64_t value = 0;
    ASSERT_GE(sd_bus_message_read(reply.message.get(), "x", &value), 0);
    EXPECT_EQ(value, 5);

    const uint32_t pid = bus().get_u32_property("org.offshoot1", r.path.c_str(), "org.offshoot1.Instance", "MainPID");
    ASSERT_NE(pid, 0u);
    const fs::path exe = fs::read_symlink(fs::path("/proc") / std::to_string(pid) / "exe");
    EXPECT_EQ(exe, fs::canonical(staged_prefix() / "libexec/offshoot/offshoot-worker"));
}

}  // namespace
}  // namespace offshoot::test

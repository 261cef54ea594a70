// class_mistakes_test.cpp — a class author's and an operator's mistakes are named where they
// are made (issue 19, items 1 and 2): a class configuration offshootd cannot use is logged at
// start-up, listed by ListBrokenClasses and `offshootctl classes`, and a Spawn of its class says
// why; a plugin the instance's user cannot read fails the Spawn with the system's reason; a
// plugin that serves another interface than its config's Interface= fails the Spawn naming both.
#include <sys/stat.h>

#include <fstream>

#include "lifecycle_support.hpp"

namespace offshoot::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct BrokenEntry {
    std::string name, source, problem;
};

std::vector<BrokenEntry> list_broken_classes(BusClient& bus) {
    MessagePtr reply = bus.call_checked(kBusName, kSupervisorPath, kSupervisorInterface, "ListBrokenClasses");
    std::vector<BrokenEntry> out;
    if (sd_bus_message_enter_container(reply.get(), 'a', "(sss)") < 0) throw std::runtime_error("not a(sss)");
    const char *name, *source, *problem;
    while (sd_bus_message_read(reply.get(), "(sss)", &name, &source, &problem) > 0) out.push_back({name, source, problem});
    return out;
}

void write_file(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

std::string probe_config(const std::string& name, const std::string& plugin, const std::string& interface) {
    return "[Class]\nName=" + name + "\nPlugin=" + plugin + "\nInterface=" + interface +
           "\n[Access]\nAllowedUsers=nobody\nAllowedCallers=root\n";
}

// offshootd with a configuration directory of mistakes (and one good class, Probe).
class AnOperatorsMistakes : public DaemonTest {
protected:
    TestDaemonOptions daemon_options() override {
        dir_.emplace("offshoot-mistakes", 0755);
        const std::string probe = probe_plugin_path().string();
        write_file(*dir_ / "probe.conf", probe_config("Probe", probe, "org.offshoot1.test.Probe"));
        // A relative path with a directory in it: neither absolute nor a plugin directory name.
        write_file(*dir_ / "relative.conf", probe_config("Relative", "sub/probe.so", "org.offshoot1.test.Probe"));
        write_file(*dir_ / "missing.conf", probe_config("Missing", "/nonexistent/offshoot/missing.so", "org.x.Y"));
        write_file(*dir_ / "nameless.conf", "[Class]\nPlugin=x.so\n");
        // The instance's user (nobody) cannot read this copy of the plugin; root can.
        fs::copy_file(probe, *dir_ / "private-probe.so");
        fs::permissions(*dir_ / "private-probe.so", fs::perms::owner_read | fs::perms::owner_write);
        write_file(*dir_ / "private.conf",
                   probe_config("Private", (*dir_ / "private-probe.so").string(), "org.offshoot1.test.Probe"));
        // Item 1: the plugin serves org.offshoot1.test.Probe.
        write_file(*dir_ / "misnamed.conf", probe_config("Misnamed", probe, "org.offshoot1.test.Probes"));
        TestDaemonOptions o;
        o.config_dir = dir_->path();
        return o;
    }
    void SetUp() override {
        ASSERT_TRUE(fs::exists(probe_plugin_path())) << probe_plugin_path() << " is missing";
        DaemonTest::SetUp();
    }
    std::string file(const char* name) const { return (*dir_ / name).string(); }

    std::optional<TempDir> dir_;
};

TEST_F(AnOperatorsMistakes, AreListedByListBrokenClassesWithTheFileAndTheProblem) {
    const auto broken = list_broken_classes(bus());
    std::map<std::string, BrokenEntry> by_source;
    for (auto& b : broken) by_source[b.source] = b;
    ASSERT_EQ(by_source.size(), 3u) << ::testing::PrintToString(broken.size());

    const BrokenEntry& relative = by_source[file("relative.conf")];
    EXPECT_EQ(relative.name, "Relative");
    EXPECT_THAT(relative.problem, HasSubstr("Plugin=sub/probe.so must be an absolute path"));
    const BrokenEntry& missing = by_source[file("missing.conf")];
    EXPECT_EQ(missing.name, "Missing");
    EXPECT_EQ(missing.problem, "Plugin=/nonexistent/offshoot/missing.so: No such file or directory");
    const BrokenEntry& nameless = by_source[file("nameless.conf")];
    EXPECT_EQ(nameless.name, "");
    EXPECT_THAT(nameless.problem, HasSubstr("needs Name="));

    // The usable ones are still served, the broken ones are not listed as classes.
    std::set<std::string> names;
    for (auto& c : list_classes(bus())) names.insert(c.name);
    EXPECT_TRUE(names.count("Probe") && names.count("Private") && names.count("Misnamed"));
    EXPECT_FALSE(names.count("Relative") || names.count("Missing"));
}

TEST_F(AnOperatorsMistakes, AreLoggedAtStartUpOneLineEach) {
    const std::string log = daemon().log();
    EXPECT_THAT(log, HasSubstr("class configuration " + file("relative.conf") + " (class Relative) is not usable: "));
    EXPECT_THAT(log, HasSubstr("class configuration " + file("missing.conf") +
                               " (class Missing) is not usable: Plugin=/nonexistent/offshoot/missing.so: No such file"));
    EXPECT_THAT(log, HasSubstr("class configuration " + file("nameless.conf") + " is not usable: "));
}

TEST_F(AnOperatorsMistakes, MakeASpawnOfTheirClassSayWhyItIsUnknown) {
    SpawnReply r = spawn(bus(), "Relative", kNobody);
    EXPECT_EQ(r.error_name, kUnknownClass);
    EXPECT_THAT(r.error_message, HasSubstr("class 'Relative' is not usable: " + file("relative.conf") +
                                           ": Plugin=sub/probe.so must be an absolute path"));
    SpawnReply none = spawn(bus(), "NoSuchClass", kNobody);
    EXPECT_EQ(none.error_name, kUnknownClass);
    EXPECT_THAT(none.error_message, HasSubstr("no class named 'NoSuchClass' is configured"));
}

TEST_F(AnOperatorsMistakes, AreListedByOffshootctlClassesWithWhy) {
    const std::string ctl = (offshootd_path().parent_path() / "offshootctl").string();
    RunResult text = run({ctl, "--address=" + bus_address(), "classes"});
    ASSERT_TRUE(text.ok()) << text.describe();
    EXPECT_THAT(text.out, HasSubstr("Not usable (3 class configurations; fix and restart offshootd):\n"));
    EXPECT_THAT(text.out, HasSubstr("  Missing  " + file("missing.conf") +
                                    ": Plugin=/nonexistent/offshoot/missing.so: No such file or directory\n"));
    EXPECT_THAT(text.out, HasSubstr("  ?  " + file("nameless.conf") + ": "));

    RunResult json = run({ctl, "--address=" + bus_address(), "--json", "classes"});
    ASSERT_TRUE(json.ok()) << json.describe();
    EXPECT_THAT(json.out, HasSubstr("\"broken\": true"));
    EXPECT_THAT(json.out, HasSubstr("\"problem\": \"Plugin=/nonexistent/offshoot/missing.so: No such file or directory\""));
}

TEST_F(AnOperatorsMistakes, GiveTheCallerTheSystemsReasonWhenTheUserCannotReadThePlugin) {
    SpawnReply r = spawn(bus(), "Private", kNobody);
    EXPECT_EQ(r.error_name, kSpawnFailed);
    EXPECT_EQ(r.error_message,
              "load-plugin: cannot read plugin " + file("private-probe.so") + ": Permission denied");
    EXPECT_THAT(list_instances(bus()), IsEmpty());
}

TEST_F(AnOperatorsMistakes, FailTheSpawnNamingBothInterfacesWhenThePluginServesAnother) {
    SpawnReply r = spawn(bus(), "Misnamed", kNobody);
    EXPECT_EQ(r.error_name, kSpawnFailed);
    EXPECT_EQ(r.error_message,
              "interface: the plugin serves interface org.offshoot1.test.Probe, not org.offshoot1.test.Probes as "
              "the class configuration says (Interface= in " + file("misnamed.conf") + "; the plugin is " +
                  probe_plugin_path().string() + ")");
    EXPECT_THAT(list_instances(bus()), IsEmpty());
    // The same plugin under its own interface starts.
    SpawnReply good = spawn(bus(), "Probe", kNobody);
    EXPECT_TRUE(good.ok()) << good.describe();
}

}  // namespace
}  // namespace offshoot::test

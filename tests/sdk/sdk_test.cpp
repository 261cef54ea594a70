// sdk_test.cpp — the SDK as a package: `cmake --install` into a staging prefix gives headers,
// versioned shared libraries, pkg-config files, a CMake package and the docs with the
// out-of-tree example; that example (the Greeter and Notes classes and their clients) is built
// from the INSTALLED copy against the staged prefix alone, and the staged offshootd serves it to
// the generated proxies and to offshootctl.
//
// One staged install and one build of the example per test program run (ctest runs this program
// as a single test for that reason); both are read-only for the tests.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>

#include "offshoot/test/subprocess.hpp"
#include "offshoot/test/temp_dir.hpp"
#include "offshoot/test/test_bus.hpp"
#include "offshoot/test/test_daemon.hpp"

namespace offshoot::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kLibdir = OFFSHOOT_TEST_LIBDIR;

// 0755 all the way: uid 65534 loads the example's plugin from inside this directory.
TempDir& work_dir() {
    static TempDir dir("offshoot-sdk", 0755);
    return dir;
}

void must(const RunResult& r, const std::string& what) {
    if (!r.ok()) throw std::runtime_error(what + " failed: " + r.describe());
}

const fs::path& staged_prefix() {
    static const fs::path prefix = [] {
        const fs::path p = work_dir() / "prefix";
        must(run({"cmake", "--install", OFFSHOOT_TEST_BINARY_DIR, "--prefix", p.string()}, 300s), "cmake --install");
        return p;
    }();
    return prefix;
}

// Where the staged install keeps the docs and the examples (the layout of the source tree).
fs::path staged_docs() { return staged_prefix() / "share/doc/offshoot"; }

// examples/out-of-tree as the install has it (a user of the .deb has no clone), configured and
// built against the staged prefix only.
const fs::path& greeter_build() {
    static const fs::path build = [] {
        const fs::path b = work_dir() / "greeter-build";
        must(run({"cmake", "-S", (staged_docs() / "examples/out-of-tree").string(), "-B", b.string(),
                  "-DCMAKE_PREFIX_PATH=" + staged_prefix().string(), "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                  std::string("-DCMAKE_CXX_FLAGS=") + OFFSHOOT_TEST_SANITIZE_FLAGS,
                  std::string("-DCMAKE_EXE_LINKER_FLAGS=") + OFFSHOOT_TEST_SANITIZE_FLAGS,
                  std::string("-DCMAKE_SHARED_LINKER_FLAGS=") + OFFSHOOT_TEST_SANITIZE_FLAGS,
                  std::string("-DCMAKE_MODULE_LINKER_FLAGS=") + OFFSHOOT_TEST_SANITIZE_FLAGS,
                  // Nothing but the staged prefix may provide the package.
                  "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF", "-DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF"},
                 120s),
             "configuring examples/out-of-tree");
        must(run({"cmake", "--build", b.string(), "-j2"}, 600s), "building examples/out-of-tree");
        return b;
    }();
    return build;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string plugin_line(const fs::path& config) {
    std::istringstream in(read_file(config));
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("Plugin=", 0) == 0) return line.substr(7);
    return {};
}

// A private bus and the STAGED offshootd with an extra class-config directory.
struct StagedDaemon {
    explicit StagedDaemon(const fs::path& config_dir) : daemon(bus, options(config_dir)) {}
    static TestDaemonOptions options(const fs::path& config_dir) {
        TestDaemonOptions o;
        o.config_dir = config_dir;
        o.offshootd = staged_prefix() / "bin/offshootd";
        return o;
    }
    RunResult ctl(std::vector<std::string> args) {
        args.insert(args.begin(), {(staged_prefix() / "bin/offshootctl").string(), "--address=" + bus.address()});
        return run(args, 30s);
    }
    TestBus bus;
    TestDaemon daemon;
};

TEST(TheInstalledSdk, HoldsHeadersVersionedLibrariesTheCMakePackageAndPkgConfigFiles) {
    const fs::path& p = staged_prefix();
    for (const std::string& f : std::vector<std::string>{
             "include/offshoot/worker.hpp", "include/offshoot/object.hpp", "include/offshoot/client.hpp",
          "include/offshoot/client/connected.hpp", kLibdir + "/liboffshoot-client.so",
          kLibdir + "/liboffshoot-client.so.0", kLibdir + "/liboffshoot-worker.so", kLibdir + "/liboffshoot-worker.so.0",
          kLibdir + "/cmake/offshoot/offshootConfig.cmake", kLibdir + "/cmake/offshoot/offshootConfigVersion.cmake",
          kLibdir + "/cmake/offshoot/offshootTargets.cmake", kLibdir + "/cmake/offshoot/OffshootCodegen.cmake",
          kLibdir + "/pkgconfig/offshoot-client.pc", kLibdir + "/pkgconfig/offshoot-worker.pc",
          "bin/offshoot-adaptorgen", "bin/offshootctl", "bin/offshootd"})
        EXPECT_TRUE(fs::exists(p / f)) << "missing " << f;

    RunResult soname = run({"readelf", "-d", (p / kLibdir / "liboffshoot-worker.so").string()});
    ASSERT_TRUE(soname.ok()) << soname.describe();
    EXPECT_THAT(soname.out, HasSubstr("Library soname: [liboffshoot-worker.so.0]"));
}

TEST(TheInstalledSdk, PkgConfigFilesCompileAClassAndAClient) {
    const std::string pc_path = "PKG_CONFIG_PATH=" + (staged_prefix() / kLibdir / "pkgconfig").string();
    for (auto [module, header] : {std::pair{"offshoot-worker", "offshoot/worker.hpp"},
                                  std::pair{"offshoot-client", "offshoot/client.hpp"}}) {
        const fs::path source = work_dir() / (std::string(module) + ".cpp");
        std::ofstream(source) << "#include <" << header << ">\nint main() { return 0; }\n";
        RunResult r = run({"sh", "-c",
                           "env " + pc_path + " pkg-config --exists --print-errors " + module + " && g++ -std=c++20 -o " +
                               (work_dir() / module).string() + " " + source.string() + " $(env " + pc_path +
                               " pkg-config --cflags --libs " + module + ")"},
                          120s);
        EXPECT_TRUE(r.ok()) << module << ": " << r.describe();
    }
}

TEST(TheOutOfTreeExample, BuildsAgainstTheInstalledPackageWithItsConfigPointingAtThePlugin) {
    const fs::path& b = greeter_build();
    EXPECT_TRUE(fs::exists(b / "greeter.so"));
    EXPECT_TRUE(fs::exists(b / "greet"));
    EXPECT_EQ(plugin_line(b / "classes.d/greeter.conf"), (b / "greeter.so").string());
}

TEST(TheOutOfTreeExample, AnswersThroughItsGeneratedProxyAndThroughOffshootctl) {
    StagedDaemon d(greeter_build() / "classes.d");

    RunResult proxy = run({(greeter_build() / "greet").string(), "--address=" + d.bus.address(), "World", "65534"}, 30s);
    ASSERT_TRUE(proxy.ok()) << proxy.describe() << d.daemon.log();
    EXPECT_THAT(proxy.out, HasSubstr("Hello, World! I am uid 65534.\n"));

    RunResult spawned = d.ctl({"--json", "spawn", "Greeter", "--uid", "65534"});
    ASSERT_TRUE(spawned.ok()) << spawned.describe() << d.daemon.log();
    const std::string id = std::to_string(nlohmann::json::parse(spawned.out)["id"].get<uint64_t>());
    RunResult called = d.ctl({"call", id, "Greet", "s", "offshootctl"});
    ASSERT_TRUE(called.ok()) << called.describe();
    EXPECT_EQ(called.out, "s \"Hello, offshootctl! I am uid 65534.\"\n");

    RunResult error = d.ctl({"call", id, "org.example.Greeter.Greet", "s", ""});
    EXPECT_EQ(error.status.code, 1) << error.describe();
    EXPECT_EQ(error.err, "Error org.example.Greeter.Error.NoName: Greet needs a name\n");
    EXPECT_TRUE(d.ctl({"stop", id}).ok());
}

// The relative links of a markdown file: [text](target) with no scheme, without #fragment; not
// in code (a fenced block or a `span`: a C++ lambda `[](std::string)` is no link).
std::vector<std::string> relative_links(const std::string& markdown) {
    std::vector<std::string> out;
    static const std::regex fenced(R"(```[\s\S]*?```)"), span(R"(`[^`\n]*`)");
    const std::string text = std::regex_replace(std::regex_replace(markdown, fenced, ""), span, "");
    static const std::regex link(R"(\]\(([^)\s]+)\))");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), link); it != std::sregex_iterator(); ++it) {
        std::string target = (*it)[1];
        if (target.find("://") != std::string::npos || target.starts_with("mailto:") || target.starts_with('#')) continue;
        if (const auto hash = target.find('#'); hash != std::string::npos) target.resize(hash);
        out.push_back(target);
    }
    return out;
}

TEST(TheInstalledDocs, HoldEveryGuideAndTheOutOfTreeExampleWithEveryLinkLeadingToAnInstalledFile) {
    const fs::path source = OFFSHOOT_TEST_SOURCE_DIR;
    std::vector<fs::path> expected = {"README.md", "bench/RESULTS.md", "examples/python/demo.py"};
    for (const auto& dir : {"docs", "examples/out-of-tree"})
        for (const auto& e : fs::directory_iterator(source / dir))
            if (e.is_regular_file()) expected.push_back(fs::relative(e.path(), source));
    for (const auto& rel : expected) EXPECT_TRUE(fs::exists(staged_docs() / rel)) << "not installed: " << rel;
    EXPECT_TRUE(fs::exists(staged_docs() / "docs/write-your-own-class.md"));

    size_t links = 0;
    for (const auto& e : fs::recursive_directory_iterator(staged_docs())) {
        if (e.path().extension() != ".md") continue;
        for (const std::string& target : relative_links(read_file(e.path()))) {
            ++links;
            EXPECT_TRUE(fs::exists(e.path().parent_path() / target))
                << fs::relative(e.path(), staged_docs()) << " links to " << target << ", which is not installed";
        }
    }
    EXPECT_GT(links, 10u);
}

TEST(TheOutOfTreeExample, RefusesAtConfigureTimeAConfigWhoseInterfaceTheXmlDoesNotDefine) {
    const fs::path project = work_dir() / "misnamed";
    fs::create_directories(project);
    fs::copy_file(staged_docs() / "examples/out-of-tree/org.example.Greeter.xml", project / "org.example.Greeter.xml",
                  fs::copy_options::overwrite_existing);
    std::ofstream(project / "greeter.cpp") << "int unused;\n";
    std::ofstream(project / "greeter.conf") << "[Class]\nName=Greeter\nPlugin=@OFFSHOOT_CLASS_PLUGIN@\n"
                                               "Interface=org.example.Greeting\n";
    std::ofstream(project / "CMakeLists.txt")
        << "cmake_minimum_required(VERSION 3.25)\nproject(misnamed LANGUAGES CXX)\nfind_package(offshoot REQUIRED)\n"
           "offshoot_add_class(greeter XML ${CMAKE_CURRENT_SOURCE_DIR}/org.example.Greeter.xml SOURCES greeter.cpp "
           "CONFIG greeter.conf)\n";
    RunResult r = run({"cmake", "-S", project.string(), "-B", (project / "build").string(),
                       "-DCMAKE_PREFIX_PATH=" + staged_prefix().string()},
                      120s);
    EXPECT_FALSE(r.ok()) << r.describe();
    // CMake wraps its messages: compare with the whitespace collapsed.
    const std::string err = std::regex_replace(r.err, std::regex("\\s+"), " ");
    EXPECT_THAT(err, HasSubstr("greeter.conf says Interface=org.example.Greeting, but org.example.Greeter.xml "
                               "defines org.example.Greeter."));
}

TEST(TheSecondExample, GivesItsClientSignalsPropertiesAndItsOwnErrorsThroughTheGeneratedProxy) {
    StagedDaemon d(greeter_build() / "classes.d");
    RunResult r = run({(greeter_build() / "take-notes").string(), "--address=" + d.bus.address(), "65534", "milk", "eggs"},
                      30s);
    ASSERT_TRUE(r.ok()) << r.describe() << d.daemon.log();
    EXPECT_EQ(r.out,
              "Add(\"milk\") = 1\n"
              "Add(\"eggs\") = 2\n"
              "signal PropertiesChanged Title=shopping\n"
              "signal Added(1, \"milk\")\n"
              "signal PropertiesChanged Count=1\n"
              "signal Added(2, \"eggs\")\n"
              "signal PropertiesChanged Count=2\n"
              "Count = 2, Title = \"shopping\"\n"
              "Read(3) failed: org.example.Notes.Error.NoSuchNote: there is no note 3 (there are 2)\n");
}

TEST(TheSecondExample, IsReadAndSetWithOffshootctlAndRefusesAnEmptyNoteByName) {
    StagedDaemon d(greeter_build() / "classes.d");
    RunResult spawned = d.ctl({"--json", "spawn", "Notes", "--uid", "65534"});
    ASSERT_TRUE(spawned.ok()) << spawned.describe() << d.daemon.log();
    const std::string id = std::to_string(nlohmann::json::parse(spawned.out)["id"].get<uint64_t>());
    EXPECT_EQ(d.ctl({"call", id, "Add", "s", "bread"}).out, "u 1\n");
    EXPECT_TRUE(d.ctl({"set-property", id, "Title", "s", "groceries"}).ok());
    RunResult got = d.ctl({"get-property", id, "Title", "Count"});
    EXPECT_EQ(got.out, "s \"groceries\"\nu 1\n") << got.describe();
    RunResult empty = d.ctl({"call", id, "Add", "s", ""});
    EXPECT_EQ(empty.status.code, 1);
    EXPECT_EQ(empty.err, "Error org.example.Notes.Error.Empty: a note needs some text\n");
    EXPECT_TRUE(d.ctl({"stop", id}).ok());
}

TEST(TheOutOfTreeExample, InstallsItsPluginAndAConfigNamingTheInstalledPlugin) {
    const fs::path prefix = work_dir() / "greeter-prefix";
    must(run({"cmake", "--install", greeter_build().string(), "--prefix", prefix.string()}, 60s),
         "installing examples/out-of-tree");
    const fs::path config_dir = prefix / "lib/offshoot/classes.d";
    const fs::path plugin = prefix / kLibdir / "offshoot/classes/greeter.so";
    EXPECT_TRUE(fs::exists(plugin));
    EXPECT_EQ(plugin_line(config_dir / "greeter.conf"), plugin.string());

    StagedDaemon d(config_dir);
    RunResult spawned = d.ctl({"--json", "spawn", "Greeter", "--uid", "65534"});
    ASSERT_TRUE(spawned.ok()) << spawned.describe() << d.daemon.log();
    const std::string id = std::to_string(nlohmann::json::parse(spawned.out)["id"].get<uint64_t>());
    RunResult called = d.ctl({"call", id, "Greet", "s", "installed"});
    EXPECT_EQ(called.out, "s \"Hello, installed! I am uid 65534.\"\n") << called.describe();
}

}  // namespace
}  // namespace offshoot::test

// test-adaptorgen-classes.cpp — the example class plugins (counter.so, identity.so, echo.so,
// faulty.so) loaded as offshoot-worker loads them (dlopen + offshoot_create_object_v1) and
// called over a real sd-bus peer connection: their behaviour as the README's "Classes" section lists it, and their
// runtime introspection against their XML. Crashes are tried in a forked child.
#include "test-adaptorgen-peer.hpp"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

namespace {

using offshoot::Variant;
namespace marshal = offshoot::marshal;

// A loaded plugin and the object it created; the object dies before the plugin is unloaded.
class Plugin {
public:
    explicit Plugin(const std::string& name) {
        const std::string path = std::string(OFFSHOOT_TEST_PLUGIN_DIR) + "/" + name + ".so";
        handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle_) throw std::runtime_error(dlerror());
        auto create = reinterpret_cast<offshoot::CreateObjectFn>(dlsym(handle_, offshoot::create_object_symbol));
        if (!create) throw std::runtime_error(name + ": no " + offshoot::create_object_symbol);
        offshoot::ClassContext context;
        context.class_name = name;
        object_.reset(create(context));
    }
    Plugin(const Plugin&) = delete;
    Plugin& operator=(const Plugin&) = delete;
    ~Plugin() {
        object_.reset();
        dlclose(handle_);
    }
    offshoot::Object& object() { return *object_; }

private:
    void* handle_ = nullptr;
    std::unique_ptr<offshoot::Object> object_;
};

struct Reply {
    sd_bus_message* m = nullptr;
    sd_bus_error error = SD_BUS_ERROR_NULL;
    int r = 0;
    Reply() = default;
    Reply(const Reply&) = delete;
    Reply& operator=(const Reply&) = delete;
    ~Reply() {
        sd_bus_message_unref(m);
        sd_bus_error_free(&error);
    }
    bool ok() const { return r >= 0; }
    std::string error_name() const { return error.name ? error.name : ""; }
    std::string error_message() const { return error.message ? error.message : ""; }
};

template <class... A>
void call(sd_bus* bus, Reply& reply, const char* interface, const char* member, const A&... args) {
    sd_bus_message* m = nullptr;
    ASSERT_GE(sd_bus_message_new_method_call(bus, &m, nullptr, offshoot::object_path, interface, member), 0);
    (marshal::append(m, args), ...);
    reply.r = sd_bus_call(bus, m, 5'000'000, &reply.error, &reply.m);
    sd_bus_message_unref(m);
}

// Served example class `name` with a client connection to it.
class AnExampleClass : public testing::Test {
protected:
    void serve(const std::string& name) {
        plugin_ = std::make_unique<Plugin>(name);
        peers_ = std::make_unique<offshoot::test::PeerPair>(plugin_->object());
    }
    void TearDown() override {
        peers_.reset();
        plugin_.reset();
    }
    sd_bus* client() { return peers_->client(); }

    std::unique_ptr<Plugin> plugin_;
    std::unique_ptr<offshoot::test::PeerPair> peers_;
};

TEST_F(AnExampleClass, CounterIncrementsAndReportsTheChangeTwice) {
    serve("counter");
    const char* iface = "org.offshoot1.example.Counter";
    std::vector<std::string> signals;
    sd_bus_slot* filter = nullptr;
    ASSERT_GE(sd_bus_add_filter(client(), &filter,
                                [](sd_bus_message* m, void* userdata, sd_bus_error*) {
                                    uint8_t type = 0;
                                    if (sd_bus_message_get_type(m, &type) >= 0 && type == SD_BUS_MESSAGE_SIGNAL)
                                        static_cast<std::vector<std::string>*>(userdata)->push_back(
                                            sd_bus_message_get_member(m));
                                    return 0;
                                },
                                &signals),
              0);
    Reply first, second, get;
    call(client(), first, iface, "Increment", int64_t{5});
    call(client(), second, iface, "Increment", int64_t{-2});
    call(client(), get, iface, "Get");
    ASSERT_TRUE(first.ok() && second.ok() && get.ok()) << first.error_message();
    int64_t a = 0, b = 0, c = 0;
    marshal::read(first.m, a);
    marshal::read(second.m, b);
    marshal::read(get.m, c);
    EXPECT_EQ(a, 5);
    EXPECT_EQ(b, 3);
    EXPECT_EQ(c, 3);
    while (sd_bus_process(client(), nullptr) > 0) {
    }
    sd_bus_slot_unref(filter);
    EXPECT_EQ(signals, (std::vector<std::string>{"Changed", "PropertiesChanged", "Changed", "PropertiesChanged"}));

    int64_t value = 0;
    sd_bus_error error = SD_BUS_ERROR_NULL;
    ASSERT_GE(sd_bus_get_property_trivial(client(), nullptr, offshoot::object_path, iface, "Value", &error, 'x', &value), 0);
    EXPECT_EQ(value, 3);

    Reply overflow;
    call(client(), overflow, iface, "Increment", INT64_MAX);
    EXPECT_EQ(overflow.error_name(), "org.freedesktop.DBus.Error.InvalidArgs");
}

TEST_F(AnExampleClass, EchoReturnsWhatItIsGiven) {
    serve("echo");
    Reply ping, echo;
    call(client(), ping, "org.offshoot1.example.Echo", "Ping", int64_t{-77});
    const std::vector<uint8_t> data = {0, 1, 2, 254, 255};
    call(client(), echo, "org.offshoot1.example.Echo", "Echo", data);
    ASSERT_TRUE(ping.ok() && echo.ok());
    int64_t v = 0;
    std::vector<uint8_t> back;
    marshal::read(ping.m, v);
    marshal::read(echo.m, back);
    EXPECT_EQ(v, -77);
    EXPECT_EQ(back, data);
}

TEST_F(AnExampleClass, IdentityDescribesTheProcessAndWorksInItsOwnDirectory) {
    serve("identity");
    const char* iface = "org.offshoot1.example.Identity";
    char dir_template[] = "/tmp/offshoot-identity-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    const std::string dir = dir_template;
    char* old_cwd = getcwd(nullptr, 0);

    Reply cd;
    call(client(), cd, iface, "ChangeDirectory", dir);
    ASSERT_TRUE(cd.ok()) << cd.error_message();
    Reply describe;
    call(client(), describe, iface, "Describe");
    ASSERT_TRUE(describe.ok()) << describe.error_message();
    uint32_t uid = 0, gid = 0, pid = 0;
    std::vector<uint32_t> groups;
    std::string cwd;
    marshal::read(describe.m, uid);
    marshal::read(describe.m, gid);
    marshal::read(describe.m, groups);
    marshal::read(describe.m, cwd);
    marshal::read(describe.m, pid);
    EXPECT_EQ(uid, getuid());
    EXPECT_EQ(gid, getgid());
    EXPECT_EQ(static_cast<int>(groups.size()), getgroups(0, nullptr));
    EXPECT_EQ(cwd, dir);
    EXPECT_EQ(pid, static_cast<uint32_t>(getpid()));

    Reply write, read;
    call(client(), write, iface, "WriteFile", std::string("note.txt"), std::string("hello, ünicode"));
    ASSERT_TRUE(write.ok()) << write.error_message();
    call(client(), read, iface, "ReadFile", std::string("note.txt"));
    ASSERT_TRUE(read.ok()) << read.error_message();
    std::string content;
    marshal::read(read.m, content);
    EXPECT_EQ(content, "hello, ünicode");
    std::ifstream on_disk(dir + "/note.txt");
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(on_disk), {}), "hello, ünicode");

    Reply missing, bad_cd;
    call(client(), missing, iface, "ReadFile", std::string("absent"));
    EXPECT_EQ(missing.error_name(), "org.offshoot1.example.Identity.Error");
    EXPECT_EQ(missing.error_message(), "ReadFile 'absent': No such file or directory");
    call(client(), bad_cd, iface, "ChangeDirectory", std::string("/nonexistent/dir"));
    EXPECT_EQ(bad_cd.error_name(), "org.offshoot1.example.Identity.Error");
    EXPECT_EQ(bad_cd.error_message(), "ChangeDirectory '/nonexistent/dir': No such file or directory");

    ASSERT_EQ(chdir(old_cwd), 0);
    free(old_cwd);
    unlink((dir + "/note.txt").c_str());
    rmdir(dir.c_str());
}

TEST_F(AnExampleClass, FaultyThrowsItsNamedErrorAndRefusesUnknownCrashes) {
    serve("faulty");
    Reply thrown, unknown;
    call(client(), thrown, "org.offshoot1.example.Faulty", "Throw", std::string("on purpose"));
    EXPECT_EQ(thrown.error_name(), "org.offshoot1.example.Faulty.Error");
    EXPECT_EQ(thrown.error_message(), "on purpose");
    call(client(), unknown, "org.offshoot1.example.Faulty", "Crash", std::string("gently"));
    EXPECT_EQ(unknown.error_name(), "org.freedesktop.DBus.Error.InvalidArgs");
}

// Serves faulty.so in a forked child on one end of a socketpair, calls Crash(how) from here
// and returns the child's wait status.
int crash_child(const std::string& how) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return -1;
    const pid_t pid = fork();
    if (pid == 0) {
        ::close(sv[1]);
        Plugin plugin("faulty");
        sd_bus* server = nullptr;
        sd_id128_t id;
        sd_id128_randomize(&id);
        if (sd_bus_new(&server) < 0 || sd_bus_set_fd(server, sv[0], sv[0]) < 0 || sd_bus_set_server(server, 1, id) < 0 ||
            plugin.object().add_to_bus(server, nullptr) < 0 || sd_bus_start(server) < 0)
            _exit(100);
        for (;;) {
            const int r = sd_bus_process(server, nullptr);
            if (r < 0) _exit(101);
            if (r == 0 && sd_bus_wait(server, UINT64_MAX) < 0) _exit(102);
        }
    }
    ::close(sv[0]);
    sd_bus* client = nullptr;
    sd_bus_new(&client);
    sd_bus_set_fd(client, sv[1], sv[1]);
    sd_bus_start(client);
    Reply reply;
    call(client, reply, "org.offshoot1.example.Faulty", "Crash", how);
    EXPECT_FALSE(reply.ok());  // the connection drops instead of a reply
    sd_bus_close_unref(client);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

TEST(FaultyCrash, EndsTheProcessTheWayItWasAsked) {
    int status = crash_child("exit");
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << status;
    status = crash_child("segv");
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer catches the SIGSEGV, reports it and exits with a failure status.
    EXPECT_TRUE((WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) || (WIFEXITED(status) && WEXITSTATUS(status) != 0))
        << status;
#else
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) << status;
#endif
    status = crash_child("abort");
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) << status;
}

// Every <arg> of the XML appears in sd-bus's introspection with the same type, name and
// direction, and every method, signal and property with its name.
class TheIntrospectionOf : public AnExampleClass, public testing::WithParamInterface<std::string> {};

TEST_P(TheIntrospectionOf, MatchesItsXml) {
    const std::string cls = GetParam();
    std::string lower = cls;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    serve(lower);
    std::ifstream file(std::string(OFFSHOOT_TEST_XML_DIR) + "/org.offshoot1.example." + cls + ".xml");
    ASSERT_TRUE(file);
    std::stringstream xml_text;
    xml_text << file.rdbuf();
    const std::string xml = xml_text.str();

    Reply reply;
    call(client(), reply, "org.freedesktop.DBus.Introspectable", "Introspect");
    ASSERT_TRUE(reply.ok());
    std::string introspection;
    marshal::read(reply.m, introspection);

    // The XML is simple enough to scan by hand (and std::regex trips GCC 12's
    // -Wmaybe-uninitialized under the sanitizers).
    auto attribute = [](const std::string& tag, const std::string& name) -> std::string {
        const std::string key = " " + name + "=\"";
        const size_t at = tag.find(key);
        if (at == std::string::npos) return {};
        const size_t start = at + key.size();
        return tag.substr(start, tag.find('"', start) - start);
    };
    int checked = 0;
    for (size_t pos = xml.find('<'); pos != std::string::npos; pos = xml.find('<', pos + 1)) {
        const size_t end = xml.find('>', pos);
        const std::string tag = xml.substr(pos, end - pos + 1);
        std::string expected;
        if (tag.rfind("<arg ", 0) == 0) {
            expected = "<arg type=\"" + attribute(tag, "type") + "\" name=\"" + attribute(tag, "name") + "\"";
            const std::string direction = attribute(tag, "direction");
            if (!direction.empty()) expected += " direction=\"" + direction + "\"";
            expected += "/>";
        } else if (tag.rfind("<property ", 0) == 0) {
            expected = "<property name=\"" + attribute(tag, "name") + "\" type=\"" + attribute(tag, "type") +
                       "\" access=\"" + attribute(tag, "access") + "\"";
        } else if (tag.rfind("<method ", 0) == 0 || tag.rfind("<signal ", 0) == 0) {
            expected = tag.substr(0, 7) + " name=\"" + attribute(tag, "name") + "\"";
        } else {
            continue;
        }
        EXPECT_NE(introspection.find(expected), std::string::npos) << expected << "\nin:\n" << introspection;
        ++checked;
    }
    EXPECT_GT(checked, 1);
}

INSTANTIATE_TEST_SUITE_P(EveryExample, TheIntrospectionOf, testing::Values("Counter", "Identity", "Echo", "Faulty"));

}  // namespace

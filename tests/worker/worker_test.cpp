// worker_test.cpp — offshoot-worker as offshootd runs it, driven by real D-Bus clients
// (busctl, gdbus, dbus-send, an sdbus-c++ proxy) over its private peer-to-peer socket.
#include "worker_launcher.hpp"

#include <dlfcn.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>

#include <fmt/format.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

using namespace offshoot::test;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

namespace {

constexpr const char* dest = "org.offshoot1.Object";
constexpr const char* path = "/org/offshoot1/object";
constexpr const char* iface = "org.offshoot1.test.Probe";
constexpr uid_t nobody = 65534;

CommandResult busctl(const Worker& w, std::vector<std::string> args,
                     std::optional<uid_t> as_uid = std::nullopt) {
    args.insert(args.begin(), {"busctl", "--address=" + w.address()});
    return run(args, 20s, as_uid);
}

CommandResult busctl_call(const Worker& w, std::vector<std::string> args,
                          std::optional<uid_t> as_uid = std::nullopt) {
    args.insert(args.begin(), {"call", dest, path, iface});
    return busctl(w, std::move(args), as_uid);
}

// Collects signals delivered on an sdbus-c++ event-loop thread; waits with a deadline.
struct SignalLog {
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<std::string> texts;

    void add(const std::string& text) {
        std::lock_guard lock(mutex);
        texts.push_back(text);
        cv.notify_all();
    }
    bool wait_for_count(size_t n, std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, timeout, [&] { return texts.size() >= n; });
    }
    std::vector<std::string> snapshot() {
        std::lock_guard lock(mutex);
        return texts;
    }
};

// An sdbus-c++ client of the worker: a connection through the worker's address, a proxy
// subscribed to Event, the connection's event loop running on its own thread.
// Without the loop (with_loop=false) only synchronous calls work: sdbus-c++ 1.2's loop
// thread throws sdbus::Error (std::terminate) when the peer goes away, so a client that
// outlives the worker must not run one.
struct ProxyClient {
    std::unique_ptr<sdbus::IConnection> connection;
    std::unique_ptr<sdbus::IProxy> proxy;
    SignalLog events;
    bool looping;

    explicit ProxyClient(const Worker& w, bool with_loop = true)
        : connection(sdbus::createSessionBusConnectionWithAddress(w.address())),
          proxy(sdbus::createProxy(*connection, dest, path)), looping(with_loop) {
        proxy->uponSignal("Event").onInterface(iface).call(
            [this](const std::string& text) { events.add(text); });
        proxy->finishRegistration();  // sends AddMatch: the worker must answer it
        if (looping) connection->enterEventLoopAsync();
    }
    ~ProxyClient() {
        if (looping) connection->leaveEventLoop();
        proxy.reset();
    }
    int64_t ping(int64_t v) {
        int64_t out = 0;
        proxy->callMethod("Ping").onInterface(iface).withArguments(v).storeResultsTo(out);
        return out;
    }
};

// What a peer sees when it connects as `uid` and starts the SASL exchange: 0 when the
// worker answers "OK", 1 when the connection is closed on it, >1 for anything else.
int sasl_probe(const std::string& socket_path, uid_t uid) {
    char hex_uid[32];
    std::string decimal = std::to_string(uid);
    for (size_t i = 0; i < decimal.size(); ++i) std::snprintf(hex_uid + 2 * i, 3, "%02x", decimal[i]);
    std::string hello = std::string("\0AUTH EXTERNAL ", 15) + hex_uid + "\r\n";
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, socket_path.c_str(), sizeof sa.sun_path - 1);

    pid_t pid = ::fork();
    if (pid == 0) {
        if (::setgroups(0, nullptr) < 0 || ::setresgid(uid, uid, uid) < 0 || ::setresuid(uid, uid, uid) < 0)
            ::_exit(10);
        int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || ::connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) ::_exit(11);
        // The worker may already have closed the connection: a failed write is an answer too.
        if (::send(s, hello.data(), hello.size(), MSG_NOSIGNAL) < 0) ::_exit(1);
        pollfd p{s, POLLIN, 0};
        if (::poll(&p, 1, 10000) != 1) ::_exit(12);
        char buf[256];
        ssize_t n = ::read(s, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) ::_exit(1);
        if (n >= 3 && std::memcmp(buf, "OK ", 3) == 0) ::_exit(0);
        ::_exit(13);
    }
    Child child(pid);
    auto status = child.wait(20s);
    if (!status || !WIFEXITED(*status)) return 99;
    return WEXITSTATUS(*status);
}

// Polls `predicate` until it holds or the deadline passes (for state the worker changes
// asynchronously and exposes no event for).
template <class F>
bool eventually(F predicate, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (predicate()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        ::poll(nullptr, 0, 20);
    }
}

std::string read_file(const std::string& p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

std::string libc_path() {
    Dl_info info{};
    if (!::dladdr(reinterpret_cast<void*>(&::printf), &info) || !info.dli_fname) return {};
    return info.dli_fname;
}

}  // namespace

// ---- readiness ---------------------------------------------------------------------------

TEST(AWorker, ReportsReadyWhenItsObjectIsServed) {
    Worker w;
    EXPECT_EQ(w.wait_message(), "READY=1");
    EXPECT_FALSE(w.process().wait(0ms)) << "the worker exited after READY";
}

TEST(AWorker, ReportsAStartFailureWithTheClassErrorNameAndMessageAndExits) {
    Worker w({.arguments = {"start-throws=the widget is not plugged in"}});
    EXPECT_EQ(w.wait_message(),
              "ERROR=start\nERRNO=0\nMESSAGE=org.offshoot1.test.Error.Start: the widget is not plugged in");
    auto status = w.process().wait(10s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0);
}

TEST(AWorker, ReportsAMissingPluginAsLoadPlugin) {
    Worker w({.plugin = "/nonexistent/plugin.so"});
    EXPECT_THAT(w.wait_message(), StartsWith("ERROR=load-plugin\nERRNO=2\nMESSAGE="));
    auto status = w.process().wait(10s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0);
}

TEST(AWorker, ReportsALibraryWithoutTheEntryPointAsLoadPlugin) {
    std::string libc = libc_path();
    ASSERT_FALSE(libc.empty());
    Worker w({.plugin = libc});
    std::string msg = w.wait_message();
    EXPECT_THAT(msg, StartsWith("ERROR=load-plugin\n"));
    EXPECT_THAT(msg, HasSubstr("offshoot_create_object_v1"));
}

TEST(AWorker, ReportsAThrowingConstructorAsCreateObjectWithTheErrorsName) {
    Worker w({.arguments = {"create-throws=bad arguments"}});
    EXPECT_EQ(w.wait_message(),
              "ERROR=create-object\nERRNO=0\nMESSAGE=org.offshoot1.test.Error.Create: bad arguments");
}


TEST(AWorker, ReportsAPluginServingAnotherInterfaceThanConfiguredAsInterface) {
    Worker w({.extra_options = {"--interface=org.offshoot1.test.Probes"}});
    EXPECT_EQ(w.wait_message(),
              "ERROR=interface\nERRNO=0\nMESSAGE=the plugin serves interface org.offshoot1.test.Probe, not "
              "org.offshoot1.test.Probes as the class configuration says");
    auto status = w.process().wait(10s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1);
}

TEST(AWorker, StartsWhenThePluginServesTheConfiguredInterface) {
    Worker w({.extra_options = {"--interface=org.offshoot1.test.Probe"}});
    EXPECT_TRUE(w.wait_ready());
}

TEST(AWorker, ReportsAnInvalidInterfaceNameAsRegister) {
    Worker w({.arguments = {"interface=not a valid interface"}});
    EXPECT_THAT(w.wait_message(), StartsWith("ERROR=register\nERRNO=22\n"));
}

TEST(AWorker, ReportsMissingListenFdsAsListenFds) {
    Worker w({.pass_listen_fds = false});
    EXPECT_THAT(w.wait_message(), StartsWith("ERROR=listen-fds\n"));
}

TEST(AWorker, ReportsListenFdsMeantForAnotherProcessAsListenFds) {
    Worker w({.wrong_listen_pid = true});
    EXPECT_THAT(w.wait_message(), StartsWith("ERROR=listen-fds\n"));
}

TEST(AWorker, ReportsBadCommandLinesAsArguments) {
    Worker w({.extra_options = {"--frobnicate=yes"}});
    EXPECT_EQ(w.wait_message(), "ERROR=arguments\nERRNO=22\nMESSAGE=unknown option '--frobnicate'");
}

TEST(AWorker, BecomesReadyQuickly) {
    // The worker is on Spawn's latency path. Reported, and bounded generously (sanitizer
    // builds and a loaded CI machine must pass too).
    std::vector<double> ms;
    for (int i = 0; i < 21; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        Worker w;
        ASSERT_TRUE(w.wait_ready());
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    double median = ms[ms.size() / 2];
    std::printf("fork to READY=1: median %.2f ms, min %.2f ms, max %.2f ms\n", median, ms.front(), ms.back());
    ::testing::Test::RecordProperty("ready_median_us", static_cast<int>(median * 1000));
    EXPECT_LT(median, 500.0);
}

// ---- real clients ------------------------------------------------------------------------

TEST(AWorker, IsIntrospectedAndCalledByBusctl) {
    Worker w;
    ASSERT_TRUE(w.wait_ready());
    auto intro = busctl(w, {"introspect", dest, path});
    ASSERT_TRUE(intro.succeeded()) << intro.out;
    EXPECT_THAT(intro.out, HasSubstr(iface));
    EXPECT_THAT(intro.out, HasSubstr(".Ping"));
    EXPECT_THAT(intro.out, HasSubstr(".Event"));
    EXPECT_THAT(intro.out, HasSubstr(".Calls"));

    auto call = busctl_call(w, {"Ping", "x", "42"});
    ASSERT_TRUE(call.succeeded()) << call.out;
    EXPECT_EQ(call.out, "x 42\n");

    auto prop = busctl(w, {"get-property", dest, path, iface, "Calls"});
    ASSERT_TRUE(prop.succeeded()) << prop.out;
    EXPECT_EQ(prop.out, "u 1\n");
}

TEST(AWorker, ListsTheObjectInBusctlsTree) {
    Worker w;
    ASSERT_TRUE(w.wait_ready());
    auto tree = busctl(w, {"tree", dest});
    ASSERT_TRUE(tree.succeeded()) << tree.out;
    EXPECT_THAT(tree.out, HasSubstr("/org/offshoot1/object"));
}

TEST(AWorker, ReturnsTheClassErrorToBusctlAndKeepsServing) {
    Worker w;
    ASSERT_TRUE(w.wait_ready());
    auto fail = busctl_call(w, {"Fail", "s", "no such widget"});
    EXPECT_FALSE(fail.succeeded());
    EXPECT_THAT(fail.out, HasSubstr("no such widget"));
    EXPECT_TRUE(busctl_call(w, {"Ping", "x", "1"}).succeeded());
}

TEST(AWorker, HandsArgumentsClassNameAndInstanceToTheClass) {
    Worker w({.class_name = "Probe", .instance = 123456789012, .arguments = {"a", "b c"}});
    ASSERT_TRUE(w.wait_ready());
    auto call = busctl_call(w, {"Describe"});
    ASSERT_TRUE(call.succeeded()) << call.out;
    EXPECT_THAT(call.out, StartsWith("stasuu \"Probe\" 123456789012 2 \"a\" \"b c\" 0 "));
}

TEST(AWorker, IsIntrospectedAndCalledByGdbus) {
    Worker w;
    ASSERT_TRUE(w.wait_ready());
    auto intro = run({"gdbus", "introspect", "--address", w.address(), "--dest", dest,
                      "--object-path", path});
    ASSERT_TRUE(intro.succeeded()) << intro.out;
    EXPECT_THAT(intro.out, HasSubstr("interface org.offshoot1.test.Probe"));
    EXPECT_THAT(intro.out, HasSubstr("Ping("));

    auto call = run({"gdbus", "call", "--address", w.address(), "--dest", dest, "--object-path",
                     path, "--method", std::string(iface) + ".Ping", "42"});
    ASSERT_TRUE(call.succeeded()) << call.out;
    EXPECT_EQ(call.out, "(int64 42,)\n");
}

TEST(AWorker, IsCalledByDbusSend) {
    Worker w;
    ASSERT_TRUE(w.wait_ready());
    auto call = run({"dbus-send", "--address=" + w.address(), "--print-reply",
                     std::string("--dest=") + dest, path, std::string(iface) + ".Ping", "int64:42"});
    ASSERT_TRUE(call.succeeded()) << call.out;
    EXPECT_THAT(call.out, HasSubstr("int64 42"));

    auto intro = run({"dbus-send", "--address=" + w.address(), "--print-reply",
                      std::string("--dest=") + dest, path,
                      "org.freedesktop.DBus.Introspectable.Introspect"});
    ASSERT_TRUE(intro.succeeded()) << intro.out;
    EXPECT_THAT(intro.out, HasSubstr("<interface name=\"org.offshoot1.test.Probe\">"));
}

TEST(AWorker, AnswersTheBusDriverQueriesClientsMake) {
    Worker w;
    ASSERT_TRUE(w.wait_ready());
    auto driver = [&](std::vector<std::string> args) {
        args.insert(args.begin(),
                    {"call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus"});
        return busctl(w, std::move(args));
    };
    auto owner = driver({"GetNameOwner", "s", dest});
    ASSERT_TRUE(owner.succeeded()) << owner.out;
    EXPECT_EQ(owner.out, "s \"org.offshoot1.Object\"\n");

    auto none = driver({"GetNameOwner", "s", "org.example.Nobody"});
    EXPECT_FALSE(none.succeeded());
    EXPECT_THAT(none.out, HasSubstr("no such name"));

    auto has = driver({"NameHasOwner", "s", dest});
    EXPECT_EQ(has.out, "b true\n") << has.out;
    auto has_not = driver({"NameHasOwner", "s", "org.example.Nobody"});
    EXPECT_EQ(has_not.out, "b false\n") << has_not.out;

    // busctl said Hello, so its own unique name is listed.
    auto names = driver({"ListNames"});
    ASSERT_TRUE(names.succeeded()) << names.out;
    EXPECT_THAT(names.out, HasSubstr("\"org.offshoot1.Object\""));
    EXPECT_THAT(names.out, HasSubstr("\":1."));

    auto id = driver({"GetId"});
    ASSERT_TRUE(id.succeeded()) << id.out;
    EXPECT_EQ(id.out.size(), std::string("s \"\"\n").size() + 32) << id.out;

    auto uid = driver({"GetConnectionUnixUser", "s", dest});
    EXPECT_EQ(uid.out, "u " + std::to_string(::getuid()) + "\n") << uid.out;
}

TEST(AWorker, ServesAnSdbusCppProxyWithSignals) {
    Worker w;
    ASSERT_TRUE(w.wait_ready());
    ProxyClient client(w);
    EXPECT_EQ(client.ping(-7), -7);

    // Emitted on the proxy's own connection...
    client.proxy->callMethod("Emit").onInterface(iface).withArguments(std::string("first"));
    ASSERT_TRUE(client.events.wait_for_count(1)) << "signal not delivered";
    // ...and triggered by another client.
    ASSERT_TRUE(busctl_call(w, {"Emit", "s", "second"}).succeeded());
    ASSERT_TRUE(client.events.wait_for_count(2)) << "signal not delivered";
    EXPECT_EQ(client.events.snapshot(), (std::vector<std::string>{"first", "second"}));
}

TEST(AWorker, ReturnsNamedErrorsToAnSdbusCppProxy) {
    Worker w;
    ASSERT_TRUE(w.wait_ready());
    ProxyClient client(w);
    try {
        client.proxy->callMethod("Fail").onInterface(iface).withArguments(std::string("nope"));
        FAIL() << "no error";
    } catch (const sdbus::Error& e) {
        EXPECT_EQ(e.getName(), "org.offshoot1.test.Error.Failed");
        EXPECT_EQ(e.getMessage(), "nope");
    }
}

TEST(AWorker, DeliversOneSignalToEveryConnectedClientOnce) {
    Worker w;
    ASSERT_TRUE(w.wait_ready());
    ProxyClient a(w), b(w);
    ASSERT_TRUE(busctl_call(w, {"Emit", "s", "to everyone"}).succeeded());
    ASSERT_TRUE(a.events.wait_for_count(1));
    ASSERT_TRUE(b.events.wait_for_count(1));
    // A reply on the same connection arrives after any duplicate would have.
    EXPECT_EQ(a.ping(1), 1);
    EXPECT_EQ(b.ping(2), 2);
    EXPECT_EQ(a.events.snapshot(), std::vector<std::string>{"to everyone"});
    EXPECT_EQ(b.events.snapshot(), std::vector<std::string>{"to everyone"});
}

// ---- who may connect ---------------------------------------------------------------------

TEST(AWorker, ClosesAConnectionFromAUidThatIsNeitherOwnerNorRoot) {
    // The socket file is made world-writable here so that only the worker's own check stands
    // between the peer and the object.
    Worker w({.owner_uid = 0, .socket_mode = 0666, .dir_mode = 0755});
    ASSERT_TRUE(w.wait_ready());
    EXPECT_EQ(sasl_probe(w.socket_path(), nobody), 1);
    auto call = busctl_call(w, {"Ping", "x", "1"}, nobody);
    EXPECT_FALSE(call.succeeded()) << call.out;
    // Root still gets through, and nothing was left open by the refusals.
    EXPECT_TRUE(busctl_call(w, {"Ping", "x", "1"}).succeeded());
    EXPECT_TRUE(eventually([&] { return w.open_sockets() == 1; })) << w.open_sockets();
}

TEST(AWorker, ServesItsUnprivilegedOwnerAndRoot) {
    Worker w({.owner_uid = nobody, .socket_mode = 0666, .dir_mode = 0755});
    ASSERT_TRUE(w.wait_ready());
    EXPECT_EQ(sasl_probe(w.socket_path(), nobody), 0);
    // Ping has no SD_BUS_VTABLE_UNPRIVILEGED flag: the worker must trust its peers.
    auto call = busctl_call(w, {"Ping", "x", "5"}, nobody);
    ASSERT_TRUE(call.succeeded()) << call.out;
    EXPECT_EQ(call.out, "x 5\n");
    EXPECT_TRUE(busctl_call(w, {"Ping", "x", "6"}).succeeded());
}

// ---- connection lifetime -----------------------------------------------------------------

TEST(AWorker, FreesConnectionsWhenPeersGoAway) {
    Worker w;
    ASSERT_TRUE(w.wait_ready());
    // The listener only: the readiness channel is closed right after READY=1.
    EXPECT_TRUE(eventually([&] { return w.open_sockets() == 1; })) << w.open_sockets();
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(busctl_call(w, {"Ping", "x", "1"}).succeeded());
    { ProxyClient c(w); EXPECT_EQ(c.ping(3), 3); }
    EXPECT_TRUE(eventually([&] { return w.open_sockets() == 1; })) << w.open_sockets();
    // Only the asking connection is left in the name list.
    auto names = busctl(w, {"call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                            "org.freedesktop.DBus", "ListNames"});
    EXPECT_THAT(names.out, StartsWith("as 3 ")) << names.out;
}

TEST(AWorker, SurvivesAPeerThatSpeaksGarbage) {
    Worker w;
    ASSERT_TRUE(w.wait_ready());
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, w.socket_path().c_str(), sizeof sa.sun_path - 1);
    ASSERT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    const char garbage[] = "\0GARBAGE IN\r\nMORE\r\n\xff\xfe";
    (void)::send(s, garbage, sizeof garbage, MSG_NOSIGNAL);
    ::close(s);
    EXPECT_TRUE(busctl_call(w, {"Ping", "x", "9"}).succeeded());
    EXPECT_FALSE(w.process().wait(0ms));
}

TEST(AWorker, AnswersAMessagePipelinedBehindBegin) {
    // What gdbus does: the first message in the same write as the end of the SASL exchange.
    // sd-bus buffers it during authentication, where its event-loop glue does not look.
    Worker w;
    ASSERT_TRUE(w.wait_ready());
    static const char hello[] =
        "l\1\0\1\0\0\0\0\1\0\0\0n\0\0\0"
        "\1\1o\0\25\0\0\0/org/freedesktop/DBus\0\0\0"
        "\2\1s\0\24\0\0\0org.freedesktop.DBus\0\0\0\0"
        "\6\1s\0\24\0\0\0org.freedesktop.DBus\0\0\0\0"
        "\3\1s\0\5\0\0\0Hello\0\0\0";
    std::string uid_hex;
    for (char c : std::to_string(::getuid())) uid_hex += fmt::format("{:02x}", c);
    std::string wire = std::string("\0AUTH EXTERNAL ", 15) + uid_hex + "\r\nBEGIN\r\n" +
                       std::string(hello, sizeof hello - 1);

    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, w.socket_path().c_str(), sizeof sa.sun_path - 1);
    ASSERT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(::send(s, wire.data(), wire.size(), MSG_NOSIGNAL), static_cast<ssize_t>(wire.size()));

    // Expect "OK <guid>\r\n" then a METHOD_RETURN ('l', type 2) carrying our unique name.
    std::string in;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (in.find(":1.") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        pollfd p{s, POLLIN, 0};
        if (::poll(&p, 1, 100) != 1) continue;
        char buf[512];
        ssize_t n = ::read(s, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
    }
    ::close(s);
    auto ok_end = in.find("\r\n");
    ASSERT_NE(ok_end, std::string::npos) << "no SASL answer";
    EXPECT_THAT(in.substr(0, ok_end), StartsWith("OK "));
    std::string reply = in.substr(ok_end + 2);
    ASSERT_GE(reply.size(), 2u) << "no reply to the pipelined Hello";
    EXPECT_EQ(reply[0], 'l');
    EXPECT_EQ(reply[1], '\2');
    EXPECT_THAT(reply, HasSubstr(":1.1"));
}

// ---- stopping ----------------------------------------------------------------------------

TEST(AWorker, CallsStopAndExitsZeroOnSigterm) {
    TempDir scratch;
    std::string stop_file = scratch.path() + "/stopped";
    Worker w({.arguments = {"stop-file=" + stop_file}});
    ASSERT_TRUE(w.wait_ready());
    w.process().kill(SIGTERM);
    auto status = w.process().wait(10s);
    ASSERT_TRUE(status) << "still running 10 s after SIGTERM";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
    EXPECT_EQ(read_file(stop_file), "stopped\n");
}

TEST(AWorker, ExitsPromptlyOnSigtermWithClientsConnected) {
    Worker w;
    ASSERT_TRUE(w.wait_ready());
    ProxyClient a(w, /* with_loop= */ false), b(w, /* with_loop= */ false);
    EXPECT_EQ(a.ping(1), 1);
    EXPECT_EQ(b.ping(2), 2);
    w.process().kill(SIGTERM);
    auto status = w.process().wait(5s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
}

TEST(AWorker, IsNotHeldUpByAPeerThatNeverAuthenticates) {
    Worker w;
    ASSERT_TRUE(w.wait_ready());
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, w.socket_path().c_str(), sizeof sa.sun_path - 1);
    ASSERT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(::send(s, "\0AUTH EXTERNAL", 14, MSG_NOSIGNAL), 14);  // and then silence
    EXPECT_TRUE(busctl_call(w, {"Ping", "x", "1"}).succeeded());
    w.process().kill(SIGTERM);
    auto status = w.process().wait(5s);
    ::close(s);
    ASSERT_TRUE(status) << "a silent peer held up the exit";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
}

TEST(AWorker, StopsOnSigintToo) {
    Worker w({.stop_mode = "wait"});
    ASSERT_TRUE(w.wait_ready());
    w.process().kill(SIGINT);
    auto status = w.process().wait(10s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
}

// monitor_test.cpp — watching an instance (issue 19, item 7): BecomeMonitor on the worker's
// private server turns a connection of the owner or root into a monitor that gets a copy of
// every message the instance's other connections send and receive — calls with the caller's
// unique name, their replies, each signal once — as busctl monitor and dbus-monitor expect;
// with match rules, bounded in monitors and rules, and a monitor that does not read is
// disconnected rather than waited for.
#include <poll.h>
#include <sys/socket.h>

#include "lifecycle_support.hpp"

namespace offshoot::test {
namespace {

using ::testing::HasSubstr;

struct Captured {
    std::string type, sender, destination, interface, member;
    uint64_t cookie = 0, reply_cookie = 0;
};

std::string type_of(sd_bus_message* m) {
    uint8_t t = 0;
    sd_bus_message_get_type(m, &t);
    switch (t) {
    case SD_BUS_MESSAGE_METHOD_CALL: return "method_call";
    case SD_BUS_MESSAGE_METHOD_RETURN: return "method_return";
    case SD_BUS_MESSAGE_METHOD_ERROR: return "error";
    case SD_BUS_MESSAGE_SIGNAL: return "signal";
    }
    return "?";
}

// A monitor connection as busctl monitor makes it: a bus client (Hello) in sd-bus's monitor
// mode, which neither dispatches nor answers what it receives.
class RawMonitor {
public:
    explicit RawMonitor(const std::string& address) {
        sd_bus* raw = nullptr;
        int r = sd_bus_new(&raw);
        bus_.reset(raw);
        if (r >= 0) r = sd_bus_set_address(raw, address.c_str());
        if (r >= 0) r = sd_bus_set_bus_client(raw, 1);
        if (r >= 0) r = sd_bus_set_monitor(raw, 1);
        if (r >= 0) r = sd_bus_start(raw);
        if (r < 0) throw std::system_error(-r, std::generic_category(), "monitor connection");
    }

    // BecomeMonitor's error name ("" when it succeeded).
    std::string become(const std::vector<std::string>& rules = {}, uint32_t flags = 0) {
        sd_bus_message* raw = nullptr;
        sd_bus_message_new_method_call(bus_.get(), &raw, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus.Monitoring", "BecomeMonitor");
        MessagePtr m(raw);
        sd_bus_message_open_container(raw, 'a', "s");
        for (auto& rule : rules) sd_bus_message_append(raw, "s", rule.c_str());
        sd_bus_message_close_container(raw);
        sd_bus_message_append(raw, "u", flags);
        BusError error;
        sd_bus_message* reply = nullptr;
        const int r = sd_bus_call(bus_.get(), raw, 5'000'000, &error, &reply);
        MessagePtr owned(reply);
        if (r < 0) return error.name()[0] ? error.name() : "errno " + std::to_string(-r);
        return "";
    }

    // Reads until `done` says so (true) or the deadline passes; `disconnected` is set when the
    // worker closed the connection.
    bool read_until(const std::function<bool(const std::vector<Captured>&)>& done, const Deadline& deadline) {
        for (;;) {
            if (done(messages)) return true;
            sd_bus_message* raw = nullptr;
            const int r = sd_bus_process(bus_.get(), &raw);
            MessagePtr m(raw);
            if (r < 0) {
                disconnected = true;
                return done(messages);
            }
            if (m) {
                if (sd_bus_message_is_signal(raw, "org.freedesktop.DBus.Local", "Disconnected") > 0) {
                    disconnected = true;
                    return done(messages);
                }
                Captured c;
                c.type = type_of(raw);
                auto text = [](const char* s) { return std::string(s ? s : ""); };
                c.sender = text(sd_bus_message_get_sender(raw));
                c.destination = text(sd_bus_message_get_destination(raw));
                c.interface = text(sd_bus_message_get_interface(raw));
                c.member = text(sd_bus_message_get_member(raw));
                sd_bus_message_get_cookie(raw, &c.cookie);
                sd_bus_message_get_reply_cookie(raw, &c.reply_cookie);
                messages.push_back(c);
                continue;
            }
            if (r > 0) continue;
            if (deadline.expired()) return done(messages);
            pollfd p{sd_bus_get_fd(bus_.get()), static_cast<short>(sd_bus_get_events(bus_.get())), 0};
            ::poll(&p, 1, std::min(deadline.poll_timeout_ms(), 100));
        }
    }

    // Sends a method call without waiting for anything (a monitor must not).
    void send_call() {
        sd_bus_message* raw = nullptr;
        sd_bus_message_new_method_call(bus_.get(), &raw, kObjectName, kObjectPath, kCounterInterface, "Get");
        MessagePtr m(raw);
        sd_bus_send(bus_.get(), raw, nullptr);
    }

    sd_bus* get() const { return bus_.get(); }

    std::vector<Captured> messages;
    bool disconnected = false;

private:
    BusPtr bus_;
};

size_t count(const std::vector<Captured>& v, const std::string& type, const std::string& member) {
    return static_cast<size_t>(std::count_if(v.begin(), v.end(), [&](const Captured& c) {
        return c.type == type && c.member == member;
    }));
}

class AMonitor : public DaemonTest {
protected:
    void SetUp() override {
        DaemonTest::SetUp();
        SpawnReply r = spawn(bus(), "Counter", kNobody);
        ASSERT_TRUE(r.ok()) << r.describe();
        address_ = r.address;
    }
    std::string address_;
};

TEST_F(AMonitor, GetsTheCallWithTheCallersNameItsReplyAndEachSignalOnce) {
    RawMonitor monitor(address_);
    ASSERT_EQ(monitor.become(), "");
    BusClient caller(address_), other(address_);  // two peers: the signal goes to both
    const char* caller_name = nullptr;
    ASSERT_GE(sd_bus_get_unique_name(caller.get(), &caller_name), 0);
    const std::string caller_unique = caller_name;
    // The signal is emitted to peers that have spoken: let the other one speak.
    ASSERT_TRUE(other.call(kObjectName, kObjectPath, kCounterInterface, "Get").ok());
    Reply r = caller.call(kObjectName, kObjectPath, kCounterInterface, "Increment",
                          [](sd_bus_message* m) { return sd_bus_message_append(m, "x", int64_t{5}); });
    ASSERT_TRUE(r.ok()) << r.describe();
    uint64_t call_cookie = 0;
    ASSERT_TRUE(monitor.read_until(
        [&](const std::vector<Captured>& v) {
            for (auto& c : v)
                if (c.type == "method_call" && c.member == "Increment") call_cookie = c.cookie;
            return call_cookie && std::any_of(v.begin(), v.end(), [&](const Captured& c) {
                       return c.type == "method_return" && c.reply_cookie == call_cookie;
                   }) && count(v, "signal", "Changed") >= 1 && count(v, "signal", "PropertiesChanged") >= 1;
        },
        Deadline(10s)))
        << monitor.messages.size() << " messages";
    auto call = std::find_if(monitor.messages.begin(), monitor.messages.end(),
                             [](const Captured& c) { return c.type == "method_call" && c.member == "Increment"; });
    EXPECT_EQ(call->sender, caller_unique);
    EXPECT_EQ(call->destination, kObjectName);
    EXPECT_EQ(call->interface, kCounterInterface);
    // Nothing more is on its way: a round trip to the worker after the signals proves it.
    ASSERT_TRUE(caller.call(kObjectName, kObjectPath, kCounterInterface, "Get").ok());
    ASSERT_TRUE(monitor.read_until([](const std::vector<Captured>& v) { return count(v, "method_call", "Get") >= 2; },
                                   Deadline(10s)));
    EXPECT_EQ(count(monitor.messages, "signal", "Changed"), 1u) << "a signal to two peers is one message to a monitor";
    EXPECT_EQ(count(monitor.messages, "signal", "PropertiesChanged"), 1u);
    const auto signal = std::find_if(monitor.messages.begin(), monitor.messages.end(),
                                     [](const Captured& c) { return c.member == "Changed"; });
    EXPECT_EQ(signal->sender, kObjectName);
}

TEST_F(AMonitor, SeesTheErrorAnUnknownMethodGets) {
    RawMonitor monitor(address_);
    ASSERT_EQ(monitor.become(), "");
    BusClient caller(address_);
    Reply r = caller.call(kObjectName, kObjectPath, "com.example.Note", "Add");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(monitor.read_until([](const std::vector<Captured>& v) { return count(v, "error", "") >= 1; },
                                   Deadline(10s)));
}

TEST_F(AMonitor, GetsOnlyWhatItsRulesMatch) {
    RawMonitor monitor(address_);
    ASSERT_EQ(monitor.become({"type='signal',interface='org.offshoot1.example.Counter'"}), "");
    BusClient caller(address_);
    for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(caller.call(kObjectName, kObjectPath, kCounterInterface, "Increment",
                                [](sd_bus_message* m) { return sd_bus_message_append(m, "x", int64_t{1}); })
                        .ok());
    ASSERT_TRUE(monitor.read_until([](const std::vector<Captured>& v) { return count(v, "signal", "Changed") == 3; },
                                   Deadline(10s)));
    // Besides what a bus sends every new monitor (NameLost for its own name), only the signals.
    for (auto& c : monitor.messages) {
        if (c.member != "NameLost") {
            EXPECT_EQ(c.member, "Changed") << c.type << " " << c.member;
        }
    }
}

TEST_F(AMonitor, IsRefusedBadFlagsBadRulesAndRulesItDoesNotSupport) {
    EXPECT_EQ(RawMonitor(address_).become({}, 1), "org.freedesktop.DBus.Error.InvalidArgs");
    EXPECT_EQ(RawMonitor(address_).become({"type='sometimes'"}), "org.freedesktop.DBus.Error.MatchRuleInvalid");
    EXPECT_EQ(RawMonitor(address_).become({"member='Get"}), "org.freedesktop.DBus.Error.MatchRuleInvalid");
    EXPECT_EQ(RawMonitor(address_).become({"arg0='x'"}), "org.freedesktop.DBus.Error.MatchRuleInvalid");
    EXPECT_EQ(RawMonitor(address_).become(std::vector<std::string>(65, "type='signal'")),
              "org.freedesktop.DBus.Error.LimitsExceeded");
}

TEST_F(AMonitor, IsOneOfEightAtMost) {
    std::vector<std::unique_ptr<RawMonitor>> monitors;
    for (int i = 0; i < 8; ++i) {
        monitors.push_back(std::make_unique<RawMonitor>(address_));
        ASSERT_EQ(monitors.back()->become(), "") << "monitor " << i + 1;
    }
    RawMonitor ninth(address_);
    EXPECT_EQ(ninth.become(), "org.freedesktop.DBus.Error.LimitsExceeded");
    // One leaves, and there is room again.
    monitors.pop_back();
    EXPECT_TRUE(wait_until([&] { return RawMonitor(address_).become() == ""; }, Deadline(10s)));
}

TEST_F(AMonitor, IsDisconnectedWhenItSendsAnything) {
    RawMonitor monitor(address_);
    ASSERT_EQ(monitor.become(), "");
    monitor.send_call();
    EXPECT_TRUE(monitor.read_until([&](const std::vector<Captured>&) { return monitor.disconnected; }, Deadline(10s)));
    // The instance serves on.
    BusClient caller(address_);
    EXPECT_TRUE(caller.call(kObjectName, kObjectPath, kCounterInterface, "Get").ok());
}

class AMonitorThatDoesNotRead : public DaemonTest {};

TEST_F(AMonitorThatDoesNotRead, IsDisconnectedWhileTheCallersAreAnsweredAsBefore) {
    SpawnReply r = spawn(bus(), "Echo", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    RawMonitor monitor(r.address);
    ASSERT_EQ(monitor.become(), "");
    // The monitor reads nothing from here on. Each call and its reply are 64 KiB: the socket
    // buffers fill after a few, then copies queue up in the worker until it gives up on it.
    BusClient caller(r.address);
    const std::vector<uint8_t> payload(64 * 1024, 0x5a);
    const auto t0 = Clock::now();
    for (int i = 0; i < 400; ++i) {
        Reply echoed = caller.call(kObjectName, kObjectPath, "org.offshoot1.example.Echo", "Echo",
                                   [&](sd_bus_message* m) {
                                       return sd_bus_message_append_array(m, 'y', payload.data(), payload.size());
                                   });
        ASSERT_TRUE(echoed.ok()) << "call " << i << ": " << echoed.describe();
    }
    report_figure("400 Echo calls of 64 KiB while a monitor does not read", ms_since(t0));
    EXPECT_TRUE(wait_until([&] { return daemon().log().find("copies wait for it to read them") != std::string::npos; },
                           Deadline(10s)))
        << daemon().log();
    // Reading now, it finds what was queued before the worker closed it, then the end.
    EXPECT_TRUE(monitor.read_until([&](const std::vector<Captured>&) { return monitor.disconnected; }, Deadline(20s)));
    EXPECT_LT(monitor.messages.size(), 800u) << "it got every copy: it was never cut off";
}

TEST_F(AMonitor, WorksWithBusctlMonitor) {
    Subprocess busctl({.argv = {"busctl", "--address=" + address_, "monitor", "--json=short"}});
    const std::string started = read_until(busctl.stderr_fd(), "Monitoring bus message stream.", Deadline(10s));
    ASSERT_THAT(started, HasSubstr("Monitoring bus message stream.")) << started;
    RunResult call = run({"busctl", "--address=" + address_, "call", kObjectName, kObjectPath, kCounterInterface,
                          "Increment", "x", "7"});
    ASSERT_TRUE(call.ok()) << call.describe();
    // Changed is emitted while Increment runs, so its reply comes after it.
    const std::string out = read_until_all(busctl.stdout_fd(), {"\"member\":\"Changed\"", "\"type\":\"method_return\""},
                                       Deadline(10s));
    EXPECT_THAT(out, HasSubstr("\"member\":\"Increment\""));
    EXPECT_THAT(out, HasSubstr("\"type\":\"method_return\""));
    EXPECT_THAT(out, HasSubstr("\"member\":\"Changed\""));
}

TEST_F(AMonitor, WorksWithDbusMonitor) {
    Subprocess dbus_monitor({.argv = {"dbus-monitor", "--address", address_}});
    // dbus-monitor says nothing when it is ready; its own NameLost is the first thing it prints.
    const std::string started = read_until(dbus_monitor.stdout_fd(), "NameLost", Deadline(10s));
    ASSERT_THAT(started, HasSubstr("NameLost")) << started;
    RunResult call = run({"dbus-send", "--peer=" + address_, "--print-reply", "--dest=" + std::string(kObjectName),
                          kObjectPath, "org.offshoot1.example.Counter.Increment", "int64:7"});
    ASSERT_TRUE(call.ok()) << call.describe();
    // Changed is emitted while Increment runs, so its reply comes after it.
    const std::string out = read_until_all(dbus_monitor.stdout_fd(), {"member=Changed", "method return"}, Deadline(10s));
    EXPECT_THAT(out, HasSubstr("member=Increment"));
    EXPECT_THAT(out, HasSubstr("method return"));
    EXPECT_THAT(out, HasSubstr("member=Changed"));
}

}  // namespace
}  // namespace offshoot::test

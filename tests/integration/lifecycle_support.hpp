// lifecycle_support.hpp — helpers shared by the lifecycle_*_test.cpp files: the example
// classes' names, typed reads of the Instance properties the harness has no getter for,
// PropertiesChanged parsing, pidfd waits, calls left in flight, a daemon that also knows the
// worker tests' Probe class (start()/stop() hooks on request), and printing measured figures.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <offshoot/common/fd.hpp>

#include "daemon_test.hpp"
#include "offshoot/test/paths.hpp"
#include "offshoot/test/pidfd.hpp"

namespace offshoot::test {

inline constexpr const char* kSleeperInterface = "org.offshoot1.example.Sleeper";
inline constexpr const char* kTickerInterface = "org.offshoot1.example.Ticker";
inline constexpr const char* kFaultyInterface = "org.offshoot1.example.Faulty";
inline constexpr const char* kProbeInterface = "org.offshoot1.test.Probe";
inline constexpr const char* kNotRunning = errors::not_running;

inline double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}
inline double ms_since(Clock::time_point t) { return ms_between(t, Clock::now()); }

// A measured figure, printed so that it shows in the test log (and the closing note).
inline void report_figure(const char* what, double ms) {
    std::printf("[  FIGURE  ] %s: %.1f ms\n", what, ms);
    std::fflush(stdout);
    ::testing::Test::RecordProperty(what, std::to_string(ms));
}

// org.freedesktop.DBus.Properties.Get for an 'i' property.
inline int32_t get_i32_property(BusClient& bus, const char* destination, const std::string& path,
                                const char* interface, const char* name) {
    auto m = bus.call_checked(destination, path.c_str(), "org.freedesktop.DBus.Properties", "Get",
                              [&](sd_bus_message* c) { return sd_bus_message_append(c, "ss", interface, name); });
    int32_t v = 0;
    if (sd_bus_message_read(m.get(), "v", "i", &v) < 0) throw CallFailure("(read)", name);
    return v;
}
inline int32_t instance_exit_code(BusClient& bus, const std::string& path) {
    return get_i32_property(bus, kBusName, path, kInstanceInterface, "ExitCode");
}
inline int32_t instance_exit_signal(BusClient& bus, const std::string& path) {
    return get_i32_property(bus, kBusName, path, kInstanceInterface, "ExitSignal");
}
inline std::string instance_result(BusClient& bus, const std::string& path) {
    return bus.get_string_property(kBusName, path.c_str(), kInstanceInterface, "Result");
}
inline std::string instance_address(BusClient& bus, const std::string& path) {
    return bus.get_string_property(kBusName, path.c_str(), kInstanceInterface, "Address");
}

// A method call on an object that answers 't' (Sleeper.Remaining, Ticker.Count).
inline uint64_t call_t(BusClient& peer, const char* interface, const char* member) {
    auto m = peer.call_checked(kObjectName, kObjectPath, interface, member);
    uint64_t v = 0;
    if (sd_bus_message_read(m.get(), "t", &v) < 0) throw CallFailure("(read)", member);
    return v;
}

// Instance.Kill(i signal).
inline Reply kill_instance(BusClient& bus, const std::string& path, int32_t sig) {
    return bus.call(kBusName, path.c_str(), kInstanceInterface, "Kill",
                    [sig](sd_bus_message* m) { return sd_bus_message_append(m, "i", sig); });
}
inline Reply start_instance(BusClient& bus, const std::string& path) {
    return bus.call(kBusName, path.c_str(), kInstanceInterface, "Start");
}
inline Reply release_instance(BusClient& bus, const std::string& path) {
    return bus.call(kBusName, path.c_str(), kInstanceInterface, "Release");
}

// One PropertiesChanged(s interface, a{sv} changed, as invalidated), values as text.
struct PropertiesChanged {
    std::string interface;
    std::map<std::string, std::string> changed;
    std::vector<std::string> invalidated;
};

inline PropertiesChanged parse_properties_changed(sd_bus_message* m) {
    PropertiesChanged pc;
    const char* iface = nullptr;
    if (sd_bus_message_read(m, "s", &iface) < 0) return pc;
    pc.interface = iface;
    if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0) return pc;
    while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
        const char* name = nullptr;
        sd_bus_message_read(m, "s", &name);
        char type = 0;
        const char* contents = nullptr;
        sd_bus_message_peek_type(m, &type, &contents);
        std::string value = "?";
        if (contents && std::string(contents) == "s") {
            const char* s = nullptr;
            if (sd_bus_message_read(m, "v", "s", &s) >= 0) value = s;
        } else if (contents && std::string(contents) == "u") {
            uint32_t u = 0;
            if (sd_bus_message_read(m, "v", "u", &u) >= 0) value = std::to_string(u);
        } else if (contents && std::string(contents) == "i") {
            int32_t i = 0;
            if (sd_bus_message_read(m, "v", "i", &i) >= 0) value = std::to_string(i);
        } else {
            sd_bus_message_skip(m, "v");
        }
        pc.changed[name] = value;
        sd_bus_message_exit_container(m);
    }
    sd_bus_message_exit_container(m);
    char** invalidated = nullptr;
    if (sd_bus_message_read_strv(m, &invalidated) >= 0 && invalidated) {
        for (char** i = invalidated; *i; ++i) {
            pc.invalidated.emplace_back(*i);
            free(*i);
        }
        free(invalidated);
    }
    return pc;
}

// A process watched through its pidfd: its end is an event, not something to poll for.
class PidWatch {
public:
    explicit PidWatch(pid_t pid) : pid_(pid), fd_(open_pidfd(pid)) {}
    PidWatch(PidWatch&&) noexcept = default;
    PidWatch(const PidWatch&) = delete;
    PidWatch& operator=(const PidWatch&) = delete;
    bool valid() const { return static_cast<bool>(fd_); }
    pid_t pid() const { return pid_; }
    // True once the process has ended (it need not be reaped yet).
    bool gone(const Deadline& deadline) const {
        pollfd p{fd_.get(), POLLIN, 0};
        for (;;) {
            int r = ::poll(&p, 1, deadline.poll_timeout_ms());
            if (r > 0) return true;
            if (r == 0 || errno != EINTR) return false;
        }
    }
    bool alive() const { return !gone(Deadline(0ms)); }

private:
    pid_t pid_;
    Fd fd_;
};

// A method call sent without waiting, whose answer (or failure) is collected later.
class CallInFlight {
public:
    // On the instance's object (destination org.offshoot1.Object).
    CallInFlight(BusClient& peer, const char* interface, const char* member,
                 const char* string_arg = nullptr)
        : CallInFlight(peer, kObjectName, kObjectPath, interface, member, string_arg) {}
    CallInFlight(BusClient& bus, const char* destination, const char* path, const char* interface,
                 const char* member, const char* string_arg)
        : bus_(bus.get()) {
        sd_bus_slot* slot = nullptr;
        int r = string_arg ? sd_bus_call_method_async(bus_, &slot, destination, path, interface,
                                                      member, on_reply, this, "s", string_arg)
                           : sd_bus_call_method_async(bus_, &slot, destination, path, interface,
                                                      member, on_reply, this, nullptr);
        slot_.reset(slot);  // unref'd with this: the call is forgotten if still pending
        if (r < 0) throw CallFailure("(local)", std::string("sending ") + member);
        // Out of our queue and onto the socket, so the peer has it before anything else happens.
        sd_bus_flush(bus_);
    }
    CallInFlight(const CallInFlight&) = delete;
    CallInFlight& operator=(const CallInFlight&) = delete;

    // Processes the connection until the answer came (true) or the deadline passed. A
    // connection that breaks still answers: sd-bus fails the pending call locally.
    bool wait(const Deadline& deadline) {
        while (!done_) {
            int r;
            while (!done_ && (r = sd_bus_process(bus_, nullptr)) > 0) {
            }
            if (done_) break;
            if (deadline.expired()) return false;
            r = sd_bus_wait(bus_, deadline.remaining_usec());
            if (r < 0 && r != -EINTR) return done_;
        }
        return true;
    }
    bool done() const { return done_; }
    const std::string& error_name() const { return error_name_; }
    const std::string& error_message() const { return error_message_; }
    Clock::time_point answered_at() const { return at_; }
    // The reply (nullptr for an error).
    sd_bus_message* reply() const { return reply_.get(); }

private:
    static int on_reply(sd_bus_message* m, void* userdata, sd_bus_error*) {
        auto* self = static_cast<CallInFlight*>(userdata);
        self->at_ = Clock::now();
        self->done_ = true;
        if (const sd_bus_error* e = sd_bus_message_get_error(m)) {
            self->error_name_ = e->name ? e->name : "";
            self->error_message_ = e->message ? e->message : "";
        } else {
            self->reply_.reset(sd_bus_message_ref(m));
        }
        return 0;
    }

    sd_bus* bus_;
    SlotPtr slot_;
    bool done_ = false;
    std::string error_name_, error_message_;
    MessagePtr reply_;
    Clock::time_point at_{};
};

// BusClient::process_until for a connection to a worker, which may end (and close it) right
// after sending what the test waits for: a closed connection ends the wait instead of
// throwing, and the answer is whether done() holds.
inline bool process_peer_until(BusClient& peer, const std::function<bool()>& done, const Deadline& deadline) {
    for (;;) {
        int r = 0;
        while (!done() && (r = sd_bus_process(peer.get(), nullptr)) > 0) {
        }
        if (done()) return true;
        if (r < 0 || sd_bus_is_open(peer.get()) <= 0 || deadline.expired()) return false;
        r = sd_bus_wait(peer.get(), deadline.remaining_usec());
        if (r < 0 && r != -EINTR) return done();
    }
}

// Dispatches a peer connection until the peer closes it (true) or the deadline passes:
// everything the peer sent before it went away has then been handled.
inline bool process_until_closed(BusClient& peer, const Deadline& deadline) {
    for (;;) {
        int r;
        while ((r = sd_bus_process(peer.get(), nullptr)) > 0) {
        }
        if (r < 0 || sd_bus_is_open(peer.get()) <= 0) return true;
        if (deadline.expired()) return false;
        r = sd_bus_wait(peer.get(), deadline.remaining_usec());
        if (r < 0 && r != -EINTR) return true;
    }
}

inline std::string read_text_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The worker tests' Probe plugin (tests/worker/probe_plugin.cpp): start() throws on request
// (start-throws=MSG), stop() writes a file (stop-file=PATH) or never returns (stop-hangs=yes).
// Next to offshootd in the build tree: <build>/bin/offshootd → <build>/tests/worker-plugins/.
inline std::filesystem::path probe_plugin_path() {
    return offshootd_path().parent_path().parent_path() / "tests" / "worker-plugins" /
           "worker-test-probe.so";
}

// DaemonTest whose offshootd also knows class "Probe" (through --config-dir).
class DaemonWithProbeTest : public DaemonTest {
protected:
    TestDaemonOptions daemon_options() override {
        config_dir_.emplace("offshoot-conf", 0755);
        std::ofstream out(*config_dir_ / "probe.conf");
        out << "[Class]\nName=Probe\nPlugin=" << probe_plugin_path().string()
            << "\nInterface=org.offshoot1.test.Probe\n"
               "[Access]\nAllowedUsers=nobody 1000-60000\nAllowedCallers=root\n"
               "[Exec]\nWorkingDirectory=/\n";
        TestDaemonOptions o;
        o.config_dir = config_dir_->path();
        return o;
    }

    void SetUp() override {
        ASSERT_TRUE(std::filesystem::exists(probe_plugin_path()))
            << probe_plugin_path() << " is missing: build the offshoot-test-probe target";
        DaemonTest::SetUp();
    }

    std::optional<TempDir> config_dir_;
};

}  // namespace offshoot::test

// probe_plugin.cpp — a hand-written class plugin for the worker tests (no generated
// adaptor: it exercises the worker's plugin contract directly).
//
// Interface org.offshoot1.test.Probe:
//   Ping(x v) → x v              Emit(s text) → emits Event(s text) to every peer
//   Fail(s message) → error org.offshoot1.test.Error.Failed with that message
//   Describe() → (s class, t instance, as arguments, u uid, u pid)
//   property Calls u (read-only), signal Event(s text)
// Its members carry no SD_BUS_VTABLE_UNPRIVILEGED flag on purpose: the worker must serve
// unprivileged owners all the same.
// Arguments (from the worker's argv after "--"):
//   create-throws=MSG   the constructor throws offshoot::Error with MSG
//   start-throws=MSG    start() throws offshoot::Error with MSG
//   stop-file=PATH      stop() writes "stopped\n" to PATH
//   stop-hangs=yes      stop() never returns (to test the supervisor's stop timeout)
//   interface=NAME      serve under NAME instead (to test invalid names)
#include "offshoot/object.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <string_view>

namespace {

constexpr const char* interface = "org.offshoot1.test.Probe";

std::string argument(const offshoot::ClassContext& ctx, std::string_view key) {
    for (const auto& a : ctx.arguments)
        if (a.size() > key.size() && a.starts_with(key) && a[key.size()] == '=')
            return a.substr(key.size() + 1);
    return {};
}

class Probe final : public offshoot::Object {
public:
    explicit Probe(const offshoot::ClassContext& ctx) : ctx_(ctx) {
        if (auto msg = argument(ctx, "create-throws"); !msg.empty())
            throw offshoot::Error("org.offshoot1.test.Error.Create", msg);
        start_throws_ = argument(ctx, "start-throws");
        stop_file_ = argument(ctx, "stop-file");
        stop_hangs_ = argument(ctx, "stop-hangs") == "yes";
        if (auto name = argument(ctx, "interface"); !name.empty()) interface_ = name;
    }

    void start() override {
        if (!start_throws_.empty()) throw offshoot::Error("org.offshoot1.test.Error.Start", start_throws_);
    }

    void stop() override {
        // SIGTERM and SIGINT are blocked in the worker: only SIGKILL ends this.
        while (stop_hangs_) ::pause();
        if (stop_file_.empty()) return;
        int fd = ::open(stop_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) return;
        (void)!::write(fd, "stopped\n", 8);
        ::close(fd);
    }

    const char* interface_name() const noexcept override { return interface_.c_str(); }
    const sd_bus_vtable* vtable() const noexcept override { return vtable_; }

private:
    static Probe& self(void* userdata) {
        // The worker registers the vtable with the offshoot::Object* as userdata.
        return *static_cast<Probe*>(static_cast<offshoot::Object*>(userdata));
    }

    static int ping(sd_bus_message* m, void* userdata, sd_bus_error*) {
        ++self(userdata).calls_;
        int64_t v = 0;
        int r = sd_bus_message_read(m, "x", &v);
        if (r < 0) return r;
        return sd_bus_reply_method_return(m, "x", v);
    }

    struct Emission { const char* text; };
    static void emit_on(sd_bus* bus, void* userdata) {
        auto* e = static_cast<Emission*>(userdata);
        (void)sd_bus_emit_signal(bus, offshoot::object_path, interface, "Event", "s", e->text);
    }

    static int emit(sd_bus_message* m, void* userdata, sd_bus_error*) {
        Probe& p = self(userdata);
        ++p.calls_;
        const char* text = nullptr;
        int r = sd_bus_message_read(m, "s", &text);
        if (r < 0) return r;
        Emission e{text};
        if (auto* sink = p.signal_sink()) sink->for_each_bus(emit_on, &e);
        return sd_bus_reply_method_return(m, nullptr);
    }

    static int fail(sd_bus_message* m, void* userdata, sd_bus_error* error) {
        ++self(userdata).calls_;
        const char* message = nullptr;
        int r = sd_bus_message_read(m, "s", &message);
        if (r < 0) return r;
        return sd_bus_error_set(error, "org.offshoot1.test.Error.Failed", message);
    }

    static int describe(sd_bus_message* m, void* userdata, sd_bus_error*) {
        Probe& p = self(userdata);
        ++p.calls_;
        sd_bus_message* reply = nullptr;
        int r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0) return r;
        r = sd_bus_message_append(reply, "st", p.ctx_.class_name.c_str(), p.ctx_.instance_id);
        if (r >= 0) r = sd_bus_message_open_container(reply, 'a', "s");
        for (const auto& a : p.ctx_.arguments)
            if (r >= 0) r = sd_bus_message_append(reply, "s", a.c_str());
        if (r >= 0) r = sd_bus_message_close_container(reply);
        if (r >= 0)
            r = sd_bus_message_append(reply, "uu", static_cast<uint32_t>(::getuid()),
                                      static_cast<uint32_t>(::getpid()));
        if (r >= 0) r = sd_bus_send(nullptr, reply, nullptr);
        sd_bus_message_unref(reply);
        return r;
    }

    static int get_calls(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply,
                         void* userdata, sd_bus_error*) {
        return sd_bus_message_append(reply, "u", self(userdata).calls_);
    }

    static const sd_bus_vtable vtable_[];

    offshoot::ClassContext ctx_;
    std::string start_throws_, stop_file_;
    std::string interface_ = interface;
    bool stop_hangs_ = false;
    uint32_t calls_ = 0;
};

const sd_bus_vtable Probe::vtable_[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_ARGS("Ping", SD_BUS_ARGS("x", v), SD_BUS_RESULT("x", v), ping, 0),
    SD_BUS_METHOD_WITH_ARGS("Emit", SD_BUS_ARGS("s", text), SD_BUS_NO_RESULT, emit, 0),
    SD_BUS_METHOD_WITH_ARGS("Fail", SD_BUS_ARGS("s", message), SD_BUS_NO_RESULT, fail, 0),
    SD_BUS_METHOD_WITH_ARGS("Describe", SD_BUS_NO_ARGS,
                            SD_BUS_RESULT("s", class_name, "t", instance, "as", arguments, "u",
                                          uid, "u", pid),
                            describe, 0),
    SD_BUS_PROPERTY("Calls", "u", get_calls, 0, 0),
    SD_BUS_SIGNAL_WITH_ARGS("Event", SD_BUS_ARGS("s", text), 0),
    SD_BUS_VTABLE_END,
};

}  // namespace

OFFSHOOT_CLASS(Probe)

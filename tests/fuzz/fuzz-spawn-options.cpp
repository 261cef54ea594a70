// fuzz-spawn-options.cpp — SpawnWithOptions' argument decoding under hostile bytes.
//
// Input: one flags byte (bit 0: big-endian message), then the body of a
// org.offshoot1.Supervisor.SpawnWithOptions(sa{sv}) call. The body travels through sd-bus's
// receive path (wire.hpp) into a handler shaped like offshootd's: the supervisor's own
// boundary (guarded), class name, decode_spawn_options(), validate_request().
//
// Findings: any sanitizer report; an exception other than offshoot::Error escaping the
// decoder; an error reply that cannot be sent (not UTF-8, so the caller would hang); a call
// without exactly one reply; and an accepted request that breaks a documented bound
// (README "Security": sizes, ids, cwd, environment names).
#include "bus/boundary.hpp"
#include "bus/spawn_request.hpp"
#include "wire.hpp"

#include <cctype>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace offshoot;
using fuzz::finding;
using fuzz::Writer;

// OFFSHOOT_FUZZ_VERBOSE=1: say what became of each input (for reviewing seeds).
bool verbose() {
    static const bool on = std::getenv("OFFSHOOT_FUZZ_VERBOSE") != nullptr;
    return on;
}

bool valid_id(uint32_t id) { return id <= static_cast<uint32_t>(INT_MAX); }

// What validate_request() promises about a request it accepts.
void check_accepted(const SpawnRequest& r) {
    if (r.class_name.empty() || r.class_name.size() > limits::class_name) finding("accepted class name of %zu bytes", r.class_name.size());
    for (char ch : r.class_name)
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) finding("accepted a class name with a control character");
    if (r.uid && !valid_id(*r.uid)) finding("accepted uid %u", *r.uid);
    if (r.gid && !valid_id(*r.gid)) finding("accepted gid %u", *r.gid);
    if (r.groups) {
        if (r.groups->size() > limits::groups) finding("accepted %zu groups", r.groups->size());
        for (auto g : *r.groups)
            if (!valid_id(g)) finding("accepted group %u", g);
    }
    if (r.umask && *r.umask > 0777) finding("accepted umask %#o", *r.umask);
    if (r.stop_timeout_usec == 0 || r.stop_timeout_usec > limits::stop_timeout_usec_max)
        finding("accepted stop timeout %llu", static_cast<unsigned long long>(r.stop_timeout_usec));
    if (r.cwd) {
        const std::string& c = *r.cwd;
        if (c.empty() || c[0] != '/' || c.size() > limits::path) finding("accepted cwd '%.100s'", c.c_str());
        if (c.find('\0') != std::string::npos) finding("accepted cwd with a NUL byte");
        // (Where it leads — /proc included — is the spawn child's to judge, not the request's.)
        for (char ch : c)
            if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) finding("accepted cwd with a control character");
        if (("/" + c + "/").find("/../") != std::string::npos) finding("accepted cwd with '..': '%.100s'", c.c_str());
    }
    if (r.environment.size() > limits::environment_count) finding("accepted %zu environment entries", r.environment.size());
    for (const auto& e : r.environment) {
        const size_t eq = e.find('=');
        if (e.size() > limits::environment_entry || eq == 0 || eq == std::string::npos)
            finding("accepted environment entry '%.100s'", e.c_str());
        const std::string_view name(e.data(), eq);
        for (char ch : name)
            if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') finding("accepted environment name '%.100s'", e.c_str());
        if (is_forbidden_environment_name(name)) finding("accepted forbidden environment name '%.100s'", e.c_str());
    }
    if (r.arguments.size() > limits::argument_count) finding("accepted %zu arguments", r.arguments.size());
    size_t total = 0;
    for (const auto& a : r.arguments) total += a.size();
    if (total > limits::arguments_total) finding("accepted %zu bytes of arguments", total);
}

int spawn_with_options(sd_bus_message* m, void*, sd_bus_error* error) {
    return guarded(nullptr, m, error, [&]() -> int {
        try {
            const char* cls = nullptr;
            check_read(sd_bus_message_read(m, "s", &cls), "class");
            SpawnRequest req;
            req.class_name = cls;
            decode_spawn_options(m, req);
            validate_request(req);
            check_accepted(req);
            if (verbose()) std::fprintf(stderr, "accepted: class %s\n", req.class_name.c_str());
            return sd_bus_reply_method_return(m, "os", "/org/offshoot1/instance/1", "unix:path=/run/offshoot/instances/1");
        } catch (const Error& e) {
            if (verbose()) std::fprintf(stderr, "refused: %s: %.200s\n", e.getName().c_str(), e.getMessage().c_str());
            if (!fuzz::valid_utf8(e.getMessage()))
                finding("error message is not valid UTF-8, the reply cannot be sent: %s", e.getMessage().c_str());
            throw;
        } catch (const std::exception& e) {
            finding("unexpected exception from the decoder: %s", e.what());
        } catch (...) {
            finding("unexpected exception (not std::exception) from the decoder");
        }
    });
}

const sd_bus_vtable supervisor_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("SpawnWithOptions", "sa{sv}", "os", spawn_with_options, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END};

fuzz::Peer& peer() {
    static fuzz::Peer p([](sd_bus* bus) {
        if (sd_bus_add_object_vtable(bus, nullptr, "/org/offshoot1", "org.offshoot1.Supervisor", supervisor_vtable, nullptr) < 0)
            std::abort();
    });
    return p;
}

// --- seeds --------------------------------------------------------------------------------

using Fill = std::function<void(Writer&)>;

// One a{sv} entry.
Fill entry(std::string key, std::string sig, Fill value) {
    return [=](Writer& w) {
        w.align(8);
        w.s(key);
        w.v(sig);
        value(w);
    };
}
Fill u32(uint32_t v) { return [=](Writer& w) { w.u(v); }; }
Fill str(std::string v) { return [=](Writer& w) { w.s(v); }; }
Fill boolean(bool v) { return [=](Writer& w) { w.b(v); }; }
Fill strings(std::vector<std::string> v) {
    return [=](Writer& w) {
        auto a = w.begin_array(4);
        for (auto& s : v) w.s(s);
        w.end_array(a);
    };
}
Fill ids(std::vector<uint32_t> v) {
    return [=](Writer& w) {
        auto a = w.begin_array(4);
        for (auto x : v) w.u(x);
        w.end_array(a);
    };
}

std::string message(bool be, std::string_view cls, const std::vector<Fill>& entries) {
    Writer w(be);
    w.s(cls);
    auto a = w.begin_array(8);
    for (auto& e : entries) e(w);
    w.end_array(a);
    return std::string(1, be ? '\1' : '\0') + w.bytes();
}

void write_seeds() {
    const std::vector<Fill> all = {
        entry("uid", "u", u32(65534)),
        entry("gid", "u", u32(65534)),
        entry("groups", "au", ids({65534, 100})),
        entry("cwd", "s", str("/srv/work")),
        entry("environment", "as", strings({"LANG=C.UTF-8", "FOO=bar"})),
        entry("umask", "u", u32(077)),
        entry("arguments", "as", strings({"--verbose", "x"})),
        entry("start", "b", boolean(false)),
        entry("stop-mode", "s", str("wait")),
        entry("stop-timeout-usec", "t", [](Writer& w) { w.t(5'000'000); }),
        entry("tie-to-caller", "b", boolean(true)),
    };
    auto seed = [](std::string name, std::string bytes) { fuzz::write_seed(name, bytes); };
    seed("empty-options", message(false, "Counter", {}));
    const char* names[] = {"uid", "gid", "groups", "cwd", "environment", "umask", "arguments",
                           "start", "stop-mode", "stop-timeout-usec", "tie-to-caller"};
    for (size_t k = 0; k < all.size(); ++k) {
        seed(std::string("key-") + names[k], message(false, "Counter", {all[k]}));
        seed(std::string("be-key-") + names[k], message(true, "Counter", {all[k]}));
    }
    const std::string every = message(false, "Identity", all);
    seed("all-keys", every);
    seed("be-all-keys", message(true, "Identity", all));
    // Cut short: inside an array, inside a variant, inside the class name.
    seed("truncated-half", every.substr(0, every.size() / 2));
    seed("truncated-last-byte", every.substr(0, every.size() - 1));
    seed("truncated-class", every.substr(0, 6));
    // An array whose length claims more than the message holds.
    {
        std::string s = message(false, "Counter", {entry("groups", "au", ids({1, 2, 3}))});
        s[s.size() - 16] = '\x7f';
        seed("array-length-overrun", s);
    }
    seed("wrong-type-uid", message(false, "Counter", {entry("uid", "s", str("0"))}));
    seed("wrong-type-groups", message(false, "Counter", {entry("groups", "ai", ids({0}))}));
    seed("variant-in-variant", message(false, "Counter", {entry("uid", "v", [](Writer& w) { w.v("u"); w.u(0); })}));
    seed("unknown-key", message(false, "Counter", {entry("color", "s", str("blue"))}));
    seed("duplicate-key", message(false, "Counter", {entry("uid", "u", u32(1)), entry("uid", "u", u32(0))}));
    seed("uid-minus-one", message(false, "Counter", {entry("uid", "u", u32(UINT32_MAX))}));
    seed("gid-minus-two", message(false, "Counter", {entry("gid", "u", u32(UINT32_MAX - 1))}));
    seed("group-over-int-max", message(false, "Counter", {entry("groups", "au", ids({0x80000000u}))}));
    seed("too-many-groups", message(false, "Counter", {entry("groups", "au", ids(std::vector<uint32_t>(300, 100)))}));
    seed("cwd-relative", message(false, "Counter", {entry("cwd", "s", str("srv/x"))}));
    seed("cwd-dotdot", message(false, "Counter", {entry("cwd", "s", str("/srv/../etc"))}));
    seed("cwd-proc", message(false, "Counter", {entry("cwd", "s", str("/proc/1/cwd"))}));
    seed("cwd-too-long", message(false, "Counter", {entry("cwd", "s", str("/" + std::string(4100, 'a')))}));
    seed("env-ld-preload", message(false, "Counter", {entry("environment", "as", strings({"LD_PRELOAD=/tmp/x.so"}))}));
    seed("env-malformed", message(false, "Counter", {entry("environment", "as", strings({"NOEQUALS", "=x", "A-B=1"}))}));
    seed("env-too-many", message(false, "Counter", {entry("environment", "as", strings(std::vector<std::string>(257, "A=1")))}));
    seed("arguments-too-many", message(false, "Counter", {entry("arguments", "as", strings(std::vector<std::string>(1025, "")))}));
    seed("stop-mode-bogus", message(false, "Counter", {entry("stop-mode", "s", str("later"))}));
    seed("stop-timeout-zero", message(false, "Counter", {entry("stop-timeout-usec", "t", [](Writer& w) { w.t(0); })}));
    seed("umask-too-wide", message(false, "Counter", {entry("umask", "u", u32(01000))}));
    seed("class-empty", message(false, "", {}));
    seed("class-too-long", message(false, std::string(200, 'C'), {}));
    seed("key-not-utf8", message(false, "Counter", {entry("\xc3\x28", "u", u32(1))}));
    // The error message quotes 64 characters of the key: the cut must not split the 'ü'.
    seed("key-long-utf8", message(false, "Counter", {entry(std::string(63, 'a') + "\xc3\xbcx", "u", u32(1))}));
    seed("env-name-long-utf8",
         message(false, "Counter", {entry("environment", "as", strings({std::string(63, 'A') + "\xc3\xbc=1"}))}));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (fuzz::seed_dir()) {
        write_seeds();
        std::exit(0);
    }
    peer();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    fuzz::Call call;
    call.path = "/org/offshoot1";
    call.interface = "org.offshoot1.Supervisor";
    call.member = "SpawnWithOptions";
    call.signature = "sa{sv}";
    call.big_endian = data[0] & 1;
    peer().deliver(call, std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
    return 0;
}

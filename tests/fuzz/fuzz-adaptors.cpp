// fuzz-adaptors.cpp — the worker side's unmarshalling: generated adaptors and
// offshoot::marshal / offshoot::Variant, fed raw message bodies.
//
// Input: byte 0 picks an entry of the table below (modulo its size); byte 1 is flags
// (bit 0: big-endian message, bit 1: no reply expected, bits 2-3: how many descriptors —
// /dev/null — travel with the message); the rest is the body. The table, built at start-up:
//   1. every method of every served object, in vtable order: the example classes Counter,
//      Echo, Identity, Faulty, Sleeper, Ticker (adaptor_objects.hpp) and the adaptor test's
//      Everything — sd-bus checks the signature and calls the generated handler;
//   2. every writable property, as org.freedesktop.DBus.Properties.Set: the harness writes
//      the interface and property names, the fuzz bytes are the variant;
//   3. Properties.GetAll of each object with properties (the fuzz bytes are not used);
//   4. marshal probes: offshoot::marshal::read<T...> for deep types no example class uses,
//      each value written back with marshal::append and read again (it must survive intact).
// OFFSHOOT_FUZZ_LIST=1 prints the table and exits.
//
// Findings: sanitizer reports; a call without exactly one reply (an error that cannot be
// sent); sd-bus dropping the connection; a value that does not survive append/read; leaked
// descriptors.
#include "adaptor_objects.hpp"
#include "wire.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace {

using namespace offshoot;
using fuzz::finding;
using fuzz::Writer;
using detail::Node;

// --- marshal probes -----------------------------------------------------------------------

constexpr const char* probe_path = "/org/offshoot1/fuzz";
constexpr const char* probe_interface = "org.offshoot1.fuzz.Marshal";

// Equal as D-Bus values: doubles bit for bit (NaN included), descriptors by being open
// (a copy is a new number).
bool same(const Node& a, const Node& b) {
    if (a.variant_sig != b.variant_sig || a.children.size() != b.children.size() || a.value.index() != b.value.index())
        return false;
    if (const double* x = std::get_if<double>(&a.value)) {
        const double y = std::get<double>(b.value);
        return std::memcmp(x, &y, sizeof y) == 0;
    }
    if (const auto* x = std::get_if<detail::FdBox>(&a.value))
        return x->fd.isValid() && std::get<detail::FdBox>(b.value).fd.isValid();
    if (!(a.value == b.value)) return false;
    for (size_t k = 0; k < a.children.size(); ++k)
        if (!same(a.children[k], b.children[k])) return false;
    return true;
}

template <class... T>
std::vector<Node> nodes(const std::tuple<T...>& values) {
    std::vector<Node> out;
    std::apply([&out](const T&... v) { (out.push_back(marshal::Traits<T>::to_node(v)), ...); }, values);
    return out;
}

// What was read must be writable, and must read back the same.
template <class... T>
void round_trip(sd_bus_message* call, const std::tuple<T...>& values, const std::string& signature) {
    sd_bus_message* copy = nullptr;
    int r = sd_bus_message_new_method_call(sd_bus_message_get_bus(call), &copy, nullptr, "/", "a.b", "C");
    if (r < 0) finding("sd_bus_message_new_method_call: %s", std::strerror(-r));
    std::unique_ptr<sd_bus_message, decltype(&sd_bus_message_unref)> owned(copy, sd_bus_message_unref);
    std::tuple<T...> again;
    try {
        std::apply([copy](const T&... v) { (marshal::append(copy, v), ...); }, values);
        r = sd_bus_message_seal(copy, 1, 0);
        if (r >= 0) r = sd_bus_message_rewind(copy, 1);
        if (r < 0) finding("cannot seal a copy of '%s': %s", signature.c_str(), std::strerror(-r));
        std::apply([copy](T&... v) { (marshal::read(copy, v), ...); }, again);
    } catch (const Error& e) {
        finding("a '%s' value read from a message cannot be written and read back: %s: %s", signature.c_str(),
                e.getName().c_str(), e.getMessage().c_str());
    }
    const auto a = nodes(values), b = nodes(again);
    for (size_t k = 0; k < a.size(); ++k)
        if (!same(a[k], b[k])) finding("a '%s' value changed on its way through append and read", signature.c_str());
}

template <class... T>
int probe(sd_bus_message* m, void*, sd_bus_error* error) noexcept {
    try {
        std::tuple<T...> values;
        std::apply([m](T&... v) { (marshal::read(m, v), ...); }, values);
        std::string signature;
        (marshal::Traits<T>::signature(signature), ...);
        round_trip(m, values, signature);
        marshal::reply_tuple(m, values);
        return 1;
    } catch (...) {
        return detail::exception_to_error(error);
    }
}

using Props = std::map<std::string, Variant>;
template <class... T>
using S = sdbus::Struct<T...>;

struct Probe {
    std::string signature;
    sd_bus_message_handler_t handler;
};

template <class... T>
Probe make_probe() {
    std::string signature;
    (marshal::Traits<T>::signature(signature), ...);
    return {signature, &probe<T...>};
}

const std::vector<Probe>& probes() {
    static const std::vector<Probe> list = {
        make_probe<Variant>(),
        make_probe<Props>(),
        make_probe<S<std::string, Props, std::vector<Variant>>>(),
        make_probe<std::vector<Props>>(),
        make_probe<std::vector<S<uint8_t, Variant>>>(),
        make_probe<std::map<uint32_t, std::vector<S<bool, double, std::string>>>>(),
        make_probe<std::vector<std::vector<std::vector<int16_t>>>>(),
        make_probe<std::map<sdbus::ObjectPath, std::map<std::string, Props>>>(),
        make_probe<S<sdbus::UnixFd, sdbus::Signature, uint16_t, uint64_t>>(),
        make_probe<std::vector<sdbus::UnixFd>, Variant>(),
        make_probe<std::vector<bool>>(),
        make_probe<std::vector<int64_t>, std::vector<double>, std::vector<uint32_t>, std::vector<uint16_t>>(),
        make_probe<std::string, sdbus::ObjectPath, sdbus::Signature, Variant>(),
        make_probe<std::map<std::string, std::string>, std::vector<std::vector<uint8_t>>>(),
        make_probe<std::map<int64_t, Variant>, std::map<bool, S<Variant>>>(),
    };
    return list;
}

// Built once; sd-bus keeps pointers into it.
const sd_bus_vtable* probe_vtable() {
    static std::vector<std::string> members;
    static std::vector<sd_bus_vtable> table;
    if (table.empty()) {
        members.reserve(probes().size());
        table.push_back(SD_BUS_VTABLE_START(0));
        for (size_t k = 0; k < probes().size(); ++k) {
            members.push_back("Read" + std::to_string(k));
            table.push_back(SD_BUS_METHOD(members.back().c_str(), probes()[k].signature.c_str(), probes()[k].signature.c_str(),
                                          probes()[k].handler, SD_BUS_VTABLE_UNPRIVILEGED));
        }
        table.push_back(SD_BUS_VTABLE_END);
    }
    return table.data();
}

// --- the objects and the table ------------------------------------------------------------

class Sink final : public SignalSink {
public:
    void for_each_bus(void (*fn)(sd_bus*, void*), void* userdata) override {
        if (bus) fn(bus, userdata);
    }
    sd_bus* bus = nullptr;
};

std::vector<std::unique_ptr<Object>>& objects() {
    static std::vector<std::unique_ptr<Object>> list = [] {
        std::vector<std::unique_ptr<Object>> v;
        v.emplace_back(fuzz_make_counter());
        v.emplace_back(fuzz_make_echo());
        v.emplace_back(new fuzz::IdentityStandIn);
        v.emplace_back(new fuzz::FaultyStandIn);
        v.emplace_back(new fuzz::SleeperStandIn);
        v.emplace_back(new fuzz::TickerStandIn);
        v.emplace_back(new fuzz::EverythingObject);
        return v;
    }();
    return list;
}

enum class Kind { method, set, get_all };

struct Entry {
    Kind kind;
    const char* path;
    const char* interface;
    std::string member;     // method, or property for Set
    std::string signature;  // of the method, or of the property
    std::string name() const {
        switch (kind) {
        case Kind::method: return std::string(interface) + "." + member + "(" + signature + ")";
        case Kind::set: return std::string("Set ") + interface + "." + member + " (" + signature + ")";
        case Kind::get_all: return std::string("GetAll ") + interface;
        }
        return {};
    }
};

std::vector<Entry> build_table() {
    std::vector<Entry> methods, sets, get_alls;
    for (auto& o : objects()) {
        bool has_properties = false;
        for (const sd_bus_vtable* v = o->vtable(); v->type != _SD_BUS_VTABLE_END; ++v) {
            if (v->type == _SD_BUS_VTABLE_METHOD)
                methods.push_back({Kind::method, object_path, o->interface_name(), v->x.method.member, v->x.method.signature});
            if (v->type == _SD_BUS_VTABLE_WRITABLE_PROPERTY)
                sets.push_back({Kind::set, object_path, o->interface_name(), v->x.property.member, v->x.property.signature});
            if (v->type == _SD_BUS_VTABLE_PROPERTY || v->type == _SD_BUS_VTABLE_WRITABLE_PROPERTY) has_properties = true;
        }
        if (has_properties) get_alls.push_back({Kind::get_all, object_path, o->interface_name(), "", ""});
    }
    std::vector<Entry> all = std::move(methods);
    all.insert(all.end(), sets.begin(), sets.end());
    all.insert(all.end(), get_alls.begin(), get_alls.end());
    for (size_t k = 0; k < probes().size(); ++k)
        all.push_back({Kind::method, probe_path, probe_interface, "Read" + std::to_string(k), probes()[k].signature});
    return all;
}

const std::vector<Entry>& table() {
    static const std::vector<Entry> t = build_table();
    return t;
}

Sink& sink() {
    static Sink s;
    return s;
}

fuzz::Peer& peer() {
    static fuzz::Peer p([](sd_bus* bus) {
        for (auto& o : objects()) {
            if (o->add_to_bus(bus, nullptr) < 0) finding("cannot serve %s", o->interface_name());
            o->set_signal_sink(&sink());
        }
        if (sd_bus_add_object_vtable(bus, nullptr, probe_path, probe_interface, probe_vtable(), nullptr) < 0)
            finding("cannot serve the marshal probes");
        sink().bus = bus;
    });
    return p;
}

// The part of the body the harness writes itself (Set's and GetAll's names), in the byte
// order of the message; the fuzz bytes follow.
std::string body_prefix(const Entry& e, bool big_endian) {
    if (e.kind == Kind::method) return {};
    Writer w(big_endian);
    w.s(e.interface);
    if (e.kind == Kind::set) w.s(e.member);
    return w.bytes();
}

fuzz::Call call_for(const Entry& e, uint8_t flags) {
    fuzz::Call c;
    c.path = e.path;
    c.big_endian = flags & 1;
    c.expect_reply = !(flags & 2);
    c.n_fds = (flags >> 2) & 3;
    switch (e.kind) {
    case Kind::method:
        c.interface = e.interface;
        c.member = e.member.c_str();
        c.signature = e.signature;
        break;
    case Kind::set:
        c.interface = "org.freedesktop.DBus.Properties";
        c.member = "Set";
        c.signature = "ssv";
        break;
    case Kind::get_all:
        c.interface = "org.freedesktop.DBus.Properties";
        c.member = "GetAll";
        c.signature = "s";
        break;
    }
    return c;
}

// Descriptors the messages carried must all be closed again; a leak shows as ever higher
// numbers for a fresh descriptor.
void check_descriptors() {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 256) finding("descriptors are leaking: a new one is number %d", fd);
    if (fd >= 0) ::close(fd);
}

// --- seeds --------------------------------------------------------------------------------

void write_seeds() {
    const auto& t = table();
    for (size_t k = 0; k < t.size(); ++k) {
        const Entry& e = t[k];
        const bool fds = e.signature.find('h') != std::string::npos;
        std::string base = e.name();
        auto seed = [&](const std::string& what, bool be, const std::string& value) {
            std::string bytes;
            bytes += static_cast<char>(k);
            bytes += static_cast<char>((be ? 1 : 0) | (fds ? 1 << 2 : 0));
            bytes += value;
            fuzz::write_seed(base + " " + what, bytes);
        };
        if (e.kind == Kind::get_all) {
            seed("plain", false, "");
            continue;
        }
        for (bool be : {false, true}) {
            for (int flavour = 0; flavour < 3; ++flavour) {
                if (be && flavour != 1) continue;
                const std::string prefix = body_prefix(e, be);
                Writer w(be);
                w.raw(prefix);
                if (e.kind == Kind::set) w.v(e.signature);
                fuzz::write_sample(w, e.signature, flavour);
                const std::string value = w.bytes().substr(prefix.size());
                seed((be ? "be-" : "le-") + std::to_string(flavour), be, value);
                if (flavour == 1 && !be && value.size() > 2) seed("truncated", false, value.substr(0, value.size() / 2));
            }
        }
        if (e.signature == "v" && e.kind == Kind::method) {
            // Variants nested around the reader's depth limit (64), and a descriptor index
            // with no descriptor attached.
            for (int depth : {63, 64, 65, 200}) {
                Writer w;
                for (int d = 0; d < depth; ++d) w.v("v");
                w.v("s");
                w.s("bottom");
                seed("nested-" + std::to_string(depth), false, w.bytes());
            }
            Writer w;
            w.v("h");
            w.h(0);
            std::string bytes;
            bytes += static_cast<char>(k);
            bytes += '\0';
            fuzz::write_seed(base + " fd-index-without-fd", bytes + w.bytes());
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (fuzz::seed_dir()) {
        write_seeds();
        std::exit(0);
    }
    if (std::getenv("OFFSHOOT_FUZZ_LIST")) {
        for (size_t k = 0; k < table().size(); ++k) std::printf("%3zu  %s\n", k, table()[k].name().c_str());
        std::exit(0);
    }
    peer();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const Entry& e = table()[data[0] % table().size()];
    const fuzz::Call call = call_for(e, data[1]);
    std::string body = body_prefix(e, call.big_endian);
    if (e.kind != Kind::get_all) body.append(reinterpret_cast<const char*>(data + 2), size - 2);
    peer().deliver(call, body);
    static unsigned runs = 0;
    if (++runs % 1024 == 0) check_descriptors();
    return 0;
}

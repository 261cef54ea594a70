// bus_client.cpp — raw sd-bus client used by the tests.
#include "offshoot/test/bus_client.hpp"

#include <cerrno>
#include <system_error>

namespace offshoot::test {

namespace {

[[noreturn]] void throw_sd(int r, const std::string& what) {
    throw std::system_error(-r, std::generic_category(), what);
}

}  // namespace

CallFailure::CallFailure(std::string name, std::string message)
    : std::runtime_error(name + ": " + message), name_(std::move(name)), message_(std::move(message)) {}

std::string Reply::describe() const {
    if (ok()) return "a successful reply";
    return "error " + error_name + ": " + error_message;
}

BusClient::BusClient(const std::string& address, std::chrono::microseconds method_timeout) {
    sd_bus* raw = nullptr;
    int r = sd_bus_new(&raw);
    if (r < 0) throw_sd(r, "sd_bus_new");
    bus_.reset(raw);
    if ((r = sd_bus_set_address(raw, address.c_str())) < 0) throw_sd(r, "sd_bus_set_address " + address);
    if ((r = sd_bus_set_bus_client(raw, 1)) < 0) throw_sd(r, "sd_bus_set_bus_client");
    if ((r = sd_bus_set_method_call_timeout(raw, static_cast<uint64_t>(method_timeout.count()))) < 0)
        throw_sd(r, "sd_bus_set_method_call_timeout");
    if ((r = sd_bus_start(raw)) < 0) throw_sd(r, "sd_bus_start " + address);
    // sd_bus_start() only begins the handshake; getting the unique name waits for Hello's reply.
    const char* unique = nullptr;
    if ((r = sd_bus_get_unique_name(raw, &unique)) < 0) throw_sd(r, "Hello on " + address);
}

Reply BusClient::call(const char* destination, const char* path, const char* interface,
                      const char* member, const Append& append) {
    Reply reply;
    sd_bus_message* m = nullptr;
    int r = sd_bus_message_new_method_call(bus_.get(), &m, destination, path, interface, member);
    if (r < 0) throw_sd(r, std::string("new method call ") + member);
    MessagePtr call_msg(m);
    if (append && (r = append(m)) < 0) throw_sd(r, std::string("appending arguments to ") + member);
    BusError error;
    sd_bus_message* answer = nullptr;
    r = sd_bus_call(bus_.get(), m, 0, &error, &answer);
    if (r < 0) {
        reply.error_name = error.name();
        reply.error_message = error.message();
        if (reply.error_name.empty()) {
            reply.error_name = "(local errno)";
            reply.error_message = std::system_category().message(-r);
        }
        return reply;
    }
    reply.message.reset(answer);
    return reply;
}

MessagePtr BusClient::call_checked(const char* destination, const char* path,
                                   const char* interface, const char* member,
                                   const Append& append) {
    Reply r = call(destination, path, interface, member, append);
    if (!r.ok()) throw CallFailure(r.error_name, std::string(member) + ": " + r.error_message);
    return std::move(r.message);
}

namespace {

MessagePtr get_property(BusClient& c, const char* destination, const char* path,
                        const char* interface, const char* name, const char* type) {
    auto reply = c.call_checked(destination, path, "org.freedesktop.DBus.Properties", "Get",
                                [&](sd_bus_message* m) {
                                    return sd_bus_message_append(m, "ss", interface, name);
                                });
    int r = sd_bus_message_enter_container(reply.get(), 'v', type);
    if (r < 0)
        throw CallFailure("(type mismatch)", std::string("property ") + name +
                                                 " is not of type " + type);
    return reply;
}

}  // namespace

std::string BusClient::get_string_property(const char* destination, const char* path,
                                           const char* interface, const char* name) {
    auto m = get_property(*this, destination, path, interface, name, "s");
    const char* s = nullptr;
    int r = sd_bus_message_read(m.get(), "s", &s);
    if (r < 0) throw_sd(r, std::string("reading property ") + name);
    return s;
}

uint32_t BusClient::get_u32_property(const char* destination, const char* path,
                                     const char* interface, const char* name) {
    auto m = get_property(*this, destination, path, interface, name, "u");
    uint32_t v = 0;
    int r = sd_bus_message_read(m.get(), "u", &v);
    if (r < 0) throw_sd(r, std::string("reading property ") + name);
    return v;
}

int64_t BusClient::get_i64_property(const char* destination, const char* path,
                                    const char* interface, const char* name) {
    auto m = get_property(*this, destination, path, interface, name, "x");
    int64_t v = 0;
    int r = sd_bus_message_read(m.get(), "x", &v);
    if (r < 0) throw_sd(r, std::string("reading property ") + name);
    return v;
}

uint64_t BusClient::get_u64_property(const char* destination, const char* path, const char* interface,
                                     const char* name) {
    auto m = get_property(*this, destination, path, interface, name, "t");
    uint64_t v = 0;
    int r = sd_bus_message_read(m.get(), "t", &v);
    if (r < 0) throw_sd(r, std::string("reading property ") + name);
    return v;
}

std::string BusClient::introspect(const char* destination, const char* path) {
    auto m = call_checked(destination, path, "org.freedesktop.DBus.Introspectable", "Introspect");
    const char* xml = nullptr;
    int r = sd_bus_message_read(m.get(), "s", &xml);
    if (r < 0) throw_sd(r, "reading Introspect reply");
    return xml;
}

void BusClient::match_signal(const char* sender, const char* path, const char* interface,
                             const char* member, Handler handler) {
    matches_->push_back(Match{std::move(handler), nullptr});
    Match& m = matches_->back();
    auto trampoline = [](sd_bus_message* msg, void* userdata, sd_bus_error*) -> int {
        static_cast<Match*>(userdata)->handler(msg);
        return 0;
    };
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_match_signal(bus_.get(), &slot, sender, path, interface, member, trampoline, &m);
    m.slot.reset(slot);
    if (r < 0) {
        matches_->pop_back();
        throw_sd(r, std::string("AddMatch for ") + (member ? member : "*"));
    }
}

bool BusClient::process_until(const std::function<bool()>& done, const Deadline& deadline) {
    for (;;) {
        int r;
        // Drain everything already queued before checking (sd_bus_call may have queued
        // signals that arrived ahead of its reply).
        while ((r = sd_bus_process(bus_.get(), nullptr)) > 0) {
        }
        if (r < 0) throw_sd(r, "sd_bus_process");
        if (done()) return true;
        if (deadline.expired()) return false;
        r = sd_bus_wait(bus_.get(), deadline.remaining_usec());
        if (r < 0 && r != -EINTR) throw_sd(r, "sd_bus_wait");
    }
}

std::string unix_socket_path(const std::string& address) {
    // An address may list several transports separated by ';'; take the first unix:path=.
    std::size_t start = 0;
    while (start < address.size()) {
        auto end = address.find(';', start);
        if (end == std::string::npos) end = address.size();
        std::string transport = address.substr(start, end - start);
        if (transport.rfind("unix:", 0) == 0) {
            std::string kvs = transport.substr(5);
            std::size_t pos = 0;
            while (pos <= kvs.size()) {
                auto comma = kvs.find(',', pos);
                if (comma == std::string::npos) comma = kvs.size();
                std::string kv = kvs.substr(pos, comma - pos);
                if (kv.rfind("path=", 0) == 0) {
                    std::string raw = kv.substr(5), out;
                    for (std::size_t i = 0; i < raw.size(); ++i) {
                        if (raw[i] == '%' && i + 2 < raw.size()) {
                            out += static_cast<char>(std::stoi(raw.substr(i + 1, 2), nullptr, 16));
                            i += 2;
                        } else {
                            out += raw[i];
                        }
                    }
                    return out;
                }
                pos = comma + 1;
            }
        }
        start = end + 1;
    }
    return "";
}

}  // namespace offshoot::test

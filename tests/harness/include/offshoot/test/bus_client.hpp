// offshoot/test/bus_client.hpp — a raw sd-bus client for the tests: connects to a D-Bus address
// as a bus client (Hello included; works against dbus-daemon and against an instance's private
// socket), calls methods keeping the exact error name, reads properties, and waits for signals
// with a deadline. Raw sd-bus rather than a proxy so the tests see what goes over the wire.
//
// sd-bus objects are held in the product's own RAII types (offshoot/common/sd_ptr.hpp:
// offshoot::BusPtr, MessagePtr, SlotPtr, BusError), which code in offshoot::test names
// unqualified.
#pragma once

#include <offshoot/common/sd_ptr.hpp>
#include <offshoot/names.hpp>

#include <systemd/sd-bus.h>

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <stdexcept>
#include <string>

#include "offshoot/test/deadline.hpp"

namespace offshoot::test {

inline constexpr const char* kBusName = names::bus_name;
inline constexpr const char* kSupervisorPath = names::supervisor_path;
inline constexpr const char* kSupervisorInterface = names::supervisor_interface;
inline constexpr const char* kInstanceInterface = names::instance_interface;
inline constexpr const char* kObjectName = names::object_name;
inline constexpr const char* kObjectPath = names::object_path;
inline constexpr const char* kErrorPrefix = "org.offshoot1.Error.";

// A method call answered with an error (or failing locally: then the name is the errno's
// D-Bus mapping, e.g. org.freedesktop.DBus.Error.NoReply for a timeout).
class CallFailure : public std::runtime_error {
public:
    CallFailure(std::string name, std::string message);
    const std::string& name() const noexcept { return name_; }
    const std::string& message() const noexcept { return message_; }

private:
    std::string name_;
    std::string message_;
};

// The result of one method call: the reply, or the error's name and message.
struct Reply {
    MessagePtr message;
    std::string error_name;
    std::string error_message;
    bool ok() const noexcept { return message != nullptr; }
    sd_bus_message* get() const noexcept { return message.get(); }
    std::string describe() const;
};

class BusClient {
public:
    // Connects as a bus client and completes Hello. Throws std::system_error on failure.
    explicit BusClient(const std::string& address,
                       std::chrono::microseconds method_timeout = std::chrono::seconds(20));
    BusClient(BusClient&&) noexcept = default;
    BusClient& operator=(BusClient&&) noexcept = default;

    sd_bus* get() const noexcept { return bus_.get(); }

    using Append = std::function<int(sd_bus_message*)>;
    Reply call(const char* destination, const char* path, const char* interface,
               const char* member, const Append& append = {});
    // Like call(), but throws CallFailure on an error.
    MessagePtr call_checked(const char* destination, const char* path, const char* interface,
                            const char* member, const Append& append = {});

    // Properties through org.freedesktop.DBus.Properties.Get; throw CallFailure.
    std::string get_string_property(const char* destination, const char* path,
                                    const char* interface, const char* name);
    uint32_t get_u32_property(const char* destination, const char* path, const char* interface,
                              const char* name);
    int64_t get_i64_property(const char* destination, const char* path, const char* interface,
                             const char* name);
    uint64_t get_u64_property(const char* destination, const char* path, const char* interface,
                              const char* name);

    // org.freedesktop.DBus.Introspectable.Introspect.
    std::string introspect(const char* destination, const char* path);

    // Installs a signal match (synchronously: it is active when this returns). The handler
    // runs from process_until(). Matches live as long as the client.
    using Handler = std::function<void(sd_bus_message*)>;
    void match_signal(const char* sender, const char* path, const char* interface,
                      const char* member, Handler handler);
    // Dispatches incoming messages until done() holds (true) or the deadline passes (false).
    bool process_until(const std::function<bool()>& done, const Deadline& deadline);

private:
    struct Match {
        Handler handler;
        SlotPtr slot;  // the match is removed with it
    };
    BusPtr bus_;
    // Declared after bus_, so the matches go before the connection does. In a list behind a
    // pointer, so that each Match — the userdata of its slot — stays where it is when the
    // client moves.
    std::unique_ptr<std::list<Match>> matches_ = std::make_unique<std::list<Match>>();
};

// The socket path of a "unix:path=…" D-Bus address (unescaped), or "" if it has none.
std::string unix_socket_path(const std::string& address);

}  // namespace offshoot::test

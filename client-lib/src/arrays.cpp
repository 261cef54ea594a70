// arrays.cpp — whole-array marshalling of fixed-size element types (client/arrays.hpp).
#include "offshoot/client/arrays.hpp"

#include <systemd/sd-bus.h>

#include <cerrno>
#include <string>

#include <sdbus-c++/Error.h>
#include <sdbus-c++/TypeTraits.h>

namespace sdbus {
namespace {

// sdbus::Message keeps its sd_bus_message* in a protected member; a class derived from it may
// name the member, and a pointer to it reads the field of any Message.
struct MessageAccess : Message {
    static sd_bus_message* raw(Message& m) { return static_cast<sd_bus_message*>(m.*(&MessageAccess::msg_)); }
};

[[noreturn]] void fail(const char* what, int r) {
    throw sdbus::createError(-r, what);
}

template <class T>
Message& append(Message& msg, const std::vector<T>& items) {
    const char type = signature_of<T>::str()[0];
    const int r = sd_bus_message_append_array(MessageAccess::raw(msg), type, items.data(), items.size() * sizeof(T));
    if (r < 0) fail("Failed to serialize an array", r);
    return msg;
}

template <class T>
Message& read(Message& msg, std::vector<T>& items) {
    sd_bus_message* m = MessageAccess::raw(msg);
    // At the end of the enclosing container: let sdbus-c++ say so the way its own code does
    // (enterContainer turns the message's bool false), so arrays of these arrays end right.
    const int end = sd_bus_message_at_end(m, 0);
    if (end < 0) fail("Failed to deserialize an array", end);
    if (end > 0) {
        msg.enterContainer(signature_of<T>::str());
        return msg;
    }
    const void* data = nullptr;
    size_t size = 0;
    const int r = sd_bus_message_read_array(m, signature_of<T>::str()[0], &data, &size);
    if (r < 0) fail("Failed to deserialize an array", r);
    const auto* first = static_cast<const T*>(data);
    items.insert(items.end(), first, first + size / sizeof(T));
    return msg;
}

}  // namespace

#define OFFSHOOT_WHOLE_ARRAY(T)                                                                \
    Message& operator<<(Message& msg, const std::vector<T>& items) { return append(msg, items); } \
    Message& operator>>(Message& msg, std::vector<T>& items) { return read(msg, items); }

OFFSHOOT_WHOLE_ARRAY(uint8_t)
OFFSHOOT_WHOLE_ARRAY(int16_t)
OFFSHOOT_WHOLE_ARRAY(uint16_t)
OFFSHOOT_WHOLE_ARRAY(int32_t)
OFFSHOOT_WHOLE_ARRAY(uint32_t)
OFFSHOOT_WHOLE_ARRAY(int64_t)
OFFSHOOT_WHOLE_ARRAY(uint64_t)
OFFSHOOT_WHOLE_ARRAY(double)

#undef OFFSHOOT_WHOLE_ARRAY

}  // namespace sdbus

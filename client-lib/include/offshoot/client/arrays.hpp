// offshoot/client/arrays.hpp — arrays of fixed-size D-Bus types (ay, an, aq, ai, au, ax, at, ad)
// marshalled in one piece.
//
// sdbus-c++ 1.2 marshals a std::vector element by element (Message.h: one
// sd_bus_message_append_basic / read_basic per item), so a generated proxy moves a 64 KiB `ay`
// at a few MB/s. These non-template overloads, in sdbus's own namespace, are chosen over its
// templates by overload resolution wherever they are visible, and hand the whole array to sd-bus
// (sd_bus_message_append_array / read_array): two orders of magnitude faster for large arrays
// (bench/RESULTS.md, section 2). The wire format is the same either way.
//
// offshoot/client.hpp includes this header, and offshoot_add_proxy() puts it at the top of every
// proxy header it generates, so generated proxies use it without changes. A translation unit that
// sees neither simply keeps sdbus-c++'s element-wise code: the results are identical.
#pragma once

#include <cstdint>
#include <vector>

#include <sdbus-c++/Message.h>

namespace sdbus {

Message& operator<<(Message& msg, const std::vector<uint8_t>& items);
Message& operator<<(Message& msg, const std::vector<int16_t>& items);
Message& operator<<(Message& msg, const std::vector<uint16_t>& items);
Message& operator<<(Message& msg, const std::vector<int32_t>& items);
Message& operator<<(Message& msg, const std::vector<uint32_t>& items);
Message& operator<<(Message& msg, const std::vector<int64_t>& items);
Message& operator<<(Message& msg, const std::vector<uint64_t>& items);
Message& operator<<(Message& msg, const std::vector<double>& items);

// Like sdbus-c++'s: appends to `items`; at the end of the enclosing container the message's
// bool turns false (that is how an array of arrays ends); a type mismatch throws sdbus::Error.
Message& operator>>(Message& msg, std::vector<uint8_t>& items);
Message& operator>>(Message& msg, std::vector<int16_t>& items);
Message& operator>>(Message& msg, std::vector<uint16_t>& items);
Message& operator>>(Message& msg, std::vector<int32_t>& items);
Message& operator>>(Message& msg, std::vector<uint32_t>& items);
Message& operator>>(Message& msg, std::vector<int64_t>& items);
Message& operator>>(Message& msg, std::vector<uint64_t>& items);
Message& operator>>(Message& msg, std::vector<double>& items);

}  // namespace sdbus

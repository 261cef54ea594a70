// offshoot/variant.hpp — offshoot::Variant, a D-Bus 'v' for raw sd_bus_message marshalling.
//
// sdbus::Variant keeps its value in an sdbus-c++ message and cannot be used with a raw
// sd_bus_message, so the worker side has its own: the signature of the contained single
// complete type plus a small value tree (detail::Node). It is built from any C++ type that
// offshoot::marshal supports, read back with get<T>() (which checks the signature), and read
// from / appended to messages whatever it contains, nested variants included. Copying copies
// the tree (file descriptors are dup()ed).
#pragma once

#include <offshoot/error.hpp>

#include <sdbus-c++/Types.h>
#include <systemd/sd-bus.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace offshoot {

namespace detail {

// A file descriptor inside a value tree; equal when it is the same descriptor number.
struct FdBox {
    sdbus::UnixFd fd;
    bool operator==(const FdBox& o) const noexcept { return fd.get() == o.fd.get(); }
};

// One value of a known signature. Basic values sit in `value` ('s', 'o' and 'g' as
// std::string, 'h' as FdBox); arrays, structs and dict entries keep their elements in
// `children` (a dict is an array of two-child entries); a variant keeps the signature of its
// content in `variant_sig` and the content as its only child.
struct Node {
    std::variant<std::monostate, uint8_t, bool, int16_t, uint16_t, int32_t, uint32_t, int64_t,
                 uint64_t, double, std::string, FdBox>
        value;
    std::string variant_sig;
    std::vector<Node> children;

    bool operator==(const Node& o) const {
        return value == o.value && variant_sig == o.variant_sig && children == o.children;
    }
};

}  // namespace detail

class Variant {
public:
    // An empty variant: signature() is "", and it cannot be sent.
    Variant() = default;

    // Holds a copy of `value`; T is any type offshoot::marshal supports.
    template <class T>
        requires(!std::is_same_v<std::remove_cvref_t<T>, Variant> && !std::is_array_v<T>)
    Variant(const T& value);
    Variant(const char* value) : Variant(std::string(value)) {}

    // A variant whose content is the variant `inner` (signature "v").
    static Variant wrap(const Variant& inner);

    // The D-Bus signature of the content, e.g. "as"; empty for an empty variant.
    const std::string& signature() const noexcept { return sig_; }
    bool empty() const noexcept { return sig_.empty(); }

    // The content as T; throws offshoot::Error (InvalidArgs) when the signature differs.
    template <class T>
    T get() const;
    // Whether get<T>() would succeed.
    template <class T>
    bool contains() const;

    // Message I/O at the current position of `m` (a 'v' element); throws offshoot::Error.
    void append_to(sd_bus_message* m) const;
    void read_from(sd_bus_message* m);

    // The value tree, for offshoot::marshal.
    const detail::Node& node() const noexcept { return node_; }
    // Builds a variant from a signature and a tree that the caller guarantees match.
    static Variant from_parts(std::string signature, detail::Node node);

    bool operator==(const Variant& o) const { return sig_ == o.sig_ && node_ == o.node_; }

private:
    std::string sig_;
    detail::Node node_;
};

namespace detail {
// `value` as the datagram a task's worker sends offshootd (offshoot/wire/readiness.hpp, VALUE=);
// throws offshoot::Error (InvalidArgs) for a value that cannot be handed back: empty, holding a
// file descriptor, or larger than the datagram allows. Used by offshoot::Task.
std::string encode_return_value(const Variant& value);
}  // namespace detail

}  // namespace offshoot

// The template members above are defined in marshal.hpp, after the type mapping.
#include <offshoot/marshal.hpp>

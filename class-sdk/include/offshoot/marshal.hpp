// offshoot/marshal.hpp — typed marshalling between C++ values and raw sd_bus_message.
//
// The C++ types are those sdbus-c++-xml2cpp uses for proxies, so both sides of a connection
// read alike:
//   y uint8_t   b bool      n int16_t   q uint16_t  i int32_t   u uint32_t  x int64_t
//   t uint64_t  d double    s std::string           o sdbus::ObjectPath
//   g sdbus::Signature      h sdbus::UnixFd         v offshoot::Variant
//   aT std::vector<T>       a{KV} std::map<K,V>     (T...) sdbus::Struct<T...>
// Containers nest arbitrarily. Only header-only parts of sdbus-c++ are used; nothing here
// needs libsdbus-c++ at link time.
//
//   append(m, value)        appends at the current position of m
//   read(m, value)          reads the next element of m into value
//   signature_of<T>()       the D-Bus signature of T, e.g. "a{sv}"
// Failures throw offshoot::Error named org.freedesktop.DBus.Error.InvalidArgs, saying what
// was expected and what was found.
#pragma once

#include <offshoot/error.hpp>
#include <offshoot/variant.hpp>

#include <sdbus-c++/Types.h>
#include <systemd/sd-bus.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace offshoot::marshal {

namespace detail {
using offshoot::detail::Node;

// Non-template failure paths (src/marshal.cpp).
[[noreturn]] void throw_append_failed(int r, std::string_view signature);
[[noreturn]] void throw_read_failed(sd_bus_message* m, int r, std::string_view expected);
[[noreturn]] void throw_invalid_string(std::string_view what, std::string_view value);
[[noreturn]] void throw_node_mismatch();

inline void check_append(int r, std::string_view signature) {
    if (r < 0) throw_append_failed(r, signature);
}
// sd-bus read/enter calls return 0 at the end of the enclosing container: a missing value.
inline void check_read(sd_bus_message* m, int r, std::string_view expected) {
    if (r <= 0) throw_read_failed(m, r, expected);
}
inline void check_exit(sd_bus_message* m, int r, std::string_view expected) {
    if (r < 0) throw_read_failed(m, r, expected);
}

template <class T>
const T& node_get(const Node& n) {
    if (const T* p = std::get_if<T>(&n.value)) return *p;
    throw_node_mismatch();
}

template <class>
inline constexpr bool unsupported_type = false;

// Owns a message created while building a reply or signal.
struct MessageRef {
    sd_bus_message* m = nullptr;
    MessageRef() = default;
    MessageRef(const MessageRef&) = delete;
    MessageRef& operator=(const MessageRef&) = delete;
    ~MessageRef() { sd_bus_message_unref(m); }
};
}  // namespace detail

// Traits<T>: signature, append, read, and conversion to/from offshoot::Variant's tree.
template <class T>
struct Traits {
    static_assert(detail::unsupported_type<T>,
                  "this C++ type has no D-Bus mapping in offshoot::marshal (see marshal.hpp)");
};

template <class T>
std::string signature_of() {
    std::string s;
    Traits<T>::signature(s);
    return s;
}

template <class T>
void append(sd_bus_message* m, const T& value) {
    Traits<T>::append(m, value);
}

template <class T>
void read(sd_bus_message* m, T& value) {
    Traits<T>::read(m, value);
}

// Fixed-size numeric types, whose arrays are copied in one piece.
template <class T, char Code>
struct FixedTraits {
    static constexpr char code[2] = {Code, '\0'};
    static void signature(std::string& s) { s += Code; }
    static void append(sd_bus_message* m, const T& v) {
        detail::check_append(sd_bus_message_append_basic(m, Code, &v), code);
    }
    static void read(sd_bus_message* m, T& v) {
        detail::check_read(m, sd_bus_message_read_basic(m, Code, &v), code);
    }
    static detail::Node to_node(const T& v) {
        detail::Node n;
        n.value = v;
        return n;
    }
    static void from_node(const detail::Node& n, T& v) { v = detail::node_get<T>(n); }
};

template <> struct Traits<uint8_t> : FixedTraits<uint8_t, 'y'> {};
template <> struct Traits<int16_t> : FixedTraits<int16_t, 'n'> {};
template <> struct Traits<uint16_t> : FixedTraits<uint16_t, 'q'> {};
template <> struct Traits<int32_t> : FixedTraits<int32_t, 'i'> {};
template <> struct Traits<uint32_t> : FixedTraits<uint32_t, 'u'> {};
template <> struct Traits<int64_t> : FixedTraits<int64_t, 'x'> {};
template <> struct Traits<uint64_t> : FixedTraits<uint64_t, 't'> {};
template <> struct Traits<double> : FixedTraits<double, 'd'> {};

template <class T>
inline constexpr bool is_fixed_v =
    std::is_same_v<T, uint8_t> || std::is_same_v<T, int16_t> || std::is_same_v<T, uint16_t> ||
    std::is_same_v<T, int32_t> || std::is_same_v<T, uint32_t> || std::is_same_v<T, int64_t> ||
    std::is_same_v<T, uint64_t> || std::is_same_v<T, double>;

template <>
struct Traits<bool> {
    static void signature(std::string& s) { s += 'b'; }
    static void append(sd_bus_message* m, const bool& v) {
        const int i = v;  // D-Bus booleans are 32 bits wide
        detail::check_append(sd_bus_message_append_basic(m, 'b', &i), "b");
    }
    static void read(sd_bus_message* m, bool& v) {
        int i = 0;
        detail::check_read(m, sd_bus_message_read_basic(m, 'b', &i), "b");
        v = i != 0;
    }
    static detail::Node to_node(const bool& v) {
        detail::Node n;
        n.value = v;
        return n;
    }
    static void from_node(const detail::Node& n, bool& v) { v = detail::node_get<bool>(n); }
};

// Strings: 's', 'o' and 'g' share one shape; sd-bus validates object paths and signatures,
// but not embedded NULs (it would cut the string short), so those are refused here.
template <class T, char Code>
struct StringTraits {
    static constexpr char code[2] = {Code, '\0'};
    static void signature(std::string& s) { s += Code; }
    static void append(sd_bus_message* m, const T& v) {
        if (v.find('\0') != std::string::npos) detail::throw_invalid_string(code, v);
        detail::check_append(sd_bus_message_append_basic(m, Code, v.c_str()), code);
    }
    static void read(sd_bus_message* m, T& v) {
        const char* s = nullptr;
        detail::check_read(m, sd_bus_message_read_basic(m, Code, &s), code);
        v = T(std::string(s));
    }
    static detail::Node to_node(const T& v) {
        detail::Node n;
        n.value = static_cast<const std::string&>(v);
        return n;
    }
    static void from_node(const detail::Node& n, T& v) {
        v = T(detail::node_get<std::string>(n));
    }
};

template <> struct Traits<std::string> : StringTraits<std::string, 's'> {};
template <> struct Traits<sdbus::ObjectPath> : StringTraits<sdbus::ObjectPath, 'o'> {};
template <> struct Traits<sdbus::Signature> : StringTraits<sdbus::Signature, 'g'> {};

template <>
struct Traits<sdbus::UnixFd> {
    static void signature(std::string& s) { s += 'h'; }
    static void append(sd_bus_message* m, const sdbus::UnixFd& v) {
        const int fd = v.get();  // sd-bus duplicates it
        detail::check_append(sd_bus_message_append_basic(m, 'h', &fd), "h");
    }
    static void read(sd_bus_message* m, sdbus::UnixFd& v) {
        int fd = -1;  // owned by the message: keep a duplicate
        detail::check_read(m, sd_bus_message_read_basic(m, 'h', &fd), "h");
        v = sdbus::UnixFd(fd);
        if (!v.isValid()) detail::throw_read_failed(m, -errno, "h");
    }
    static detail::Node to_node(const sdbus::UnixFd& v) {
        detail::Node n;
        n.value = offshoot::detail::FdBox{v};
        return n;
    }
    static void from_node(const detail::Node& n, sdbus::UnixFd& v) {
        v = detail::node_get<offshoot::detail::FdBox>(n).fd;
    }
};

template <class T, class A>
struct Traits<std::vector<T, A>> {
    static void signature(std::string& s) {
        s += 'a';
        Traits<T>::signature(s);
    }
    static void append(sd_bus_message* m, const std::vector<T, A>& v) {
        if constexpr (is_fixed_v<T>) {
            detail::check_append(
                sd_bus_message_append_array(m, Traits<T>::code[0], v.data(), v.size() * sizeof(T)),
                signature_of<std::vector<T, A>>());
        } else {
            const std::string element = signature_of<T>();
            detail::check_append(sd_bus_message_open_container(m, 'a', element.c_str()),
                                 "a" + element);
            for (const auto& e : v) Traits<T>::append(m, static_cast<const T&>(e));
            detail::check_append(sd_bus_message_close_container(m), "a" + element);
        }
    }
    static void read(sd_bus_message* m, std::vector<T, A>& v) {
        v.clear();
        if constexpr (is_fixed_v<T>) {
            const void* p = nullptr;
            size_t size = 0;
            detail::check_read(m, sd_bus_message_read_array(m, Traits<T>::code[0], &p, &size),
                               signature_of<std::vector<T, A>>());
            const T* first = static_cast<const T*>(p);
            v.assign(first, first + size / sizeof(T));
        } else {
            const std::string element = signature_of<T>();
            detail::check_read(m, sd_bus_message_enter_container(m, 'a', element.c_str()),
                               "a" + element);
            int r;
            while ((r = sd_bus_message_at_end(m, 0)) == 0) {
                T e{};
                Traits<T>::read(m, e);
                v.push_back(std::move(e));
            }
            detail::check_exit(m, r, "a" + element);
            detail::check_exit(m, sd_bus_message_exit_container(m), "a" + element);
        }
    }
    static detail::Node to_node(const std::vector<T, A>& v) {
        detail::Node n;
        n.children.reserve(v.size());
        for (const auto& e : v) n.children.push_back(Traits<T>::to_node(static_cast<const T&>(e)));
        return n;
    }
    static void from_node(const detail::Node& n, std::vector<T, A>& v) {
        v.clear();
        v.reserve(n.children.size());
        for (const auto& c : n.children) {
            T e{};
            Traits<T>::from_node(c, e);
            v.push_back(std::move(e));
        }
    }
};

template <class K, class V, class C, class A>
struct Traits<std::map<K, V, C, A>> {
    using Map = std::map<K, V, C, A>;
    static void entry_signature(std::string& s) {
        Traits<K>::signature(s);
        Traits<V>::signature(s);
    }
    static void signature(std::string& s) {
        s += "a{";
        entry_signature(s);
        s += '}';
    }
    static void append(sd_bus_message* m, const Map& v) {
        std::string entry;
        entry_signature(entry);
        const std::string array = "{" + entry + "}";
        detail::check_append(sd_bus_message_open_container(m, 'a', array.c_str()), "a" + array);
        for (const auto& [key, value] : v) {
            detail::check_append(sd_bus_message_open_container(m, 'e', entry.c_str()), array);
            Traits<K>::append(m, key);
            Traits<V>::append(m, value);
            detail::check_append(sd_bus_message_close_container(m), array);
        }
        detail::check_append(sd_bus_message_close_container(m), "a" + array);
    }
    static void read(sd_bus_message* m, Map& v) {
        v.clear();
        std::string entry;
        entry_signature(entry);
        const std::string array = "{" + entry + "}";
        detail::check_read(m, sd_bus_message_enter_container(m, 'a', array.c_str()), "a" + array);
        for (;;) {
            const int r = sd_bus_message_enter_container(m, 'e', entry.c_str());
            detail::check_exit(m, r, array);
            if (r == 0) break;  // end of the array
            K key{};
            V value{};
            Traits<K>::read(m, key);
            Traits<V>::read(m, value);
            detail::check_exit(m, sd_bus_message_exit_container(m), array);
            v.insert_or_assign(std::move(key), std::move(value));
        }
        detail::check_exit(m, sd_bus_message_exit_container(m), "a" + array);
    }
    static detail::Node to_node(const Map& v) {
        detail::Node n;
        n.children.reserve(v.size());
        for (const auto& [key, value] : v) {
            detail::Node e;
            e.children.push_back(Traits<K>::to_node(key));
            e.children.push_back(Traits<V>::to_node(value));
            n.children.push_back(std::move(e));
        }
        return n;
    }
    static void from_node(const detail::Node& n, Map& v) {
        v.clear();
        for (const auto& e : n.children) {
            if (e.children.size() != 2) detail::throw_node_mismatch();
            K key{};
            V value{};
            Traits<K>::from_node(e.children[0], key);
            Traits<V>::from_node(e.children[1], value);
            v.insert_or_assign(std::move(key), std::move(value));
        }
    }
};

template <class... T>
struct Traits<sdbus::Struct<T...>> {
    static_assert(sizeof...(T) > 0, "D-Bus structs need at least one member");
    using Struct = sdbus::Struct<T...>;
    static std::string contents() {
        std::string s;
        (Traits<T>::signature(s), ...);
        return s;
    }
    static void signature(std::string& s) { s += "(" + contents() + ")"; }
    static void append(sd_bus_message* m, const Struct& v) {
        const std::string inner = contents();
        detail::check_append(sd_bus_message_open_container(m, 'r', inner.c_str()), "(" + inner + ")");
        std::apply([m](const T&... e) { (Traits<T>::append(m, e), ...); },
                   static_cast<const std::tuple<T...>&>(v));
        detail::check_append(sd_bus_message_close_container(m), "(" + inner + ")");
    }
    static void read(sd_bus_message* m, Struct& v) {
        const std::string inner = contents();
        detail::check_read(m, sd_bus_message_enter_container(m, 'r', inner.c_str()), "(" + inner + ")");
        std::apply([m](T&... e) { (Traits<T>::read(m, e), ...); }, static_cast<std::tuple<T...>&>(v));
        detail::check_exit(m, sd_bus_message_exit_container(m), "(" + inner + ")");
    }
    static detail::Node to_node(const Struct& v) {
        detail::Node n;
        std::apply([&n](const T&... e) { (n.children.push_back(Traits<T>::to_node(e)), ...); },
                   static_cast<const std::tuple<T...>&>(v));
        return n;
    }
    static void from_node(const detail::Node& n, Struct& v) {
        if (n.children.size() != sizeof...(T)) detail::throw_node_mismatch();
        size_t i = 0;
        std::apply([&](T&... e) { (Traits<T>::from_node(n.children[i++], e), ...); },
                   static_cast<std::tuple<T...>&>(v));
    }
};

template <>
struct Traits<Variant> {
    static void signature(std::string& s) { s += 'v'; }
    static void append(sd_bus_message* m, const Variant& v) { v.append_to(m); }
    static void read(sd_bus_message* m, Variant& v) { v.read_from(m); }
    static detail::Node to_node(const Variant& v) {
        if (v.empty()) throw Error(error_name::invalid_args, "an empty variant cannot be nested");
        detail::Node n;
        n.variant_sig = v.signature();
        n.children.push_back(v.node());
        return n;
    }
    static void from_node(const detail::Node& n, Variant& v) {
        if (n.children.size() != 1) detail::throw_node_mismatch();
        v = Variant::from_parts(n.variant_sig, n.children[0]);
    }
};

// Sends the reply to `call` carrying `values` (nothing when the caller asked for no reply).
template <class... T>
void reply(sd_bus_message* call, const T&... values) {
    if (sd_bus_message_get_expect_reply(call) <= 0) return;
    detail::MessageRef r;
    detail::check_append(sd_bus_message_new_method_return(call, &r.m), "");
    (append(r.m, values), ...);
    const int sent = sd_bus_send(nullptr, r.m, nullptr);
    if (sent < 0) throw Error(error_name::failed, "cannot send the reply: " + errno_text(sent));
}

template <class... T>
void reply_tuple(sd_bus_message* call, const std::tuple<T...>& values) {
    std::apply([call](const T&... v) { reply(call, v...); }, values);
}

}  // namespace offshoot::marshal

namespace offshoot {

template <class T>
    requires(!std::is_same_v<std::remove_cvref_t<T>, Variant> && !std::is_array_v<T>)
Variant::Variant(const T& value)
    : sig_(marshal::signature_of<T>()), node_(marshal::Traits<T>::to_node(value)) {}

template <class T>
T Variant::get() const {
    if (!contains<T>())
        throw Error(error_name::invalid_args, "the variant holds '" + sig_ + "', not '" +
                                                  marshal::signature_of<T>() + "'");
    T out{};
    marshal::Traits<T>::from_node(node_, out);
    return out;
}

template <class T>
bool Variant::contains() const {
    return !sig_.empty() && sig_ == marshal::signature_of<T>();
}

}  // namespace offshoot

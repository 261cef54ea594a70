// variant.cpp — offshoot::Variant's message I/O for any signature, driven by the signature
// (appending) or by what the message holds (reading).
#include <offshoot/variant.hpp>
#include <offshoot/wire/readiness.hpp>

#include <charconv>
#include <cstring>
#include <string>
#include <string_view>

namespace offshoot {

namespace {
using detail::Node;
using marshal::detail::node_get;
using marshal::detail::throw_node_mismatch;

// D-Bus allows 32 levels of arrays plus 32 of structs; sd-bus checks too, this keeps a
// hostile message from exhausting the stack here first.
constexpr int max_depth = 64;

// Length of the single complete type at the start of `sig`.
size_t single_type_length(std::string_view sig) {
    if (sig.empty()) throw_node_mismatch();
    switch (sig[0]) {
    case SD_BUS_TYPE_ARRAY: return 1 + single_type_length(sig.substr(1));
    case SD_BUS_TYPE_STRUCT_BEGIN:
    case SD_BUS_TYPE_DICT_ENTRY_BEGIN: {
        const char close = sig[0] == SD_BUS_TYPE_STRUCT_BEGIN ? SD_BUS_TYPE_STRUCT_END : SD_BUS_TYPE_DICT_ENTRY_END;
        size_t i = 1;
        while (i < sig.size() && sig[i] != close) i += single_type_length(sig.substr(i));
        if (i >= sig.size()) throw_node_mismatch();
        return i + 1;
    }
    default: return 1;
    }
}

template <class T>
void append_basic(sd_bus_message* m, char type, const T& v) {
    marshal::detail::check_append(sd_bus_message_append_basic(m, type, &v), std::string(1, type));
}

void append_node(sd_bus_message* m, std::string_view sig, const Node& n, int depth);

// A 'v' element holding `content` of type `sig`.
void append_variant(sd_bus_message* m, const std::string& sig, const Node& content, int depth) {
    if (sig.empty()) throw_node_mismatch();
    marshal::detail::check_append(sd_bus_message_open_container(m, 'v', sig.c_str()), "v");
    append_node(m, sig, content, depth + 1);
    marshal::detail::check_append(sd_bus_message_close_container(m), "v");
}

void append_node(sd_bus_message* m, std::string_view sig, const Node& n, int depth) {
    if (depth > max_depth) throw Error(error_name::invalid_args, "variant nested too deeply");
    const std::string type(sig);
    switch (sig[0]) {
    case 'y': return append_basic(m, 'y', node_get<uint8_t>(n));
    case 'b': return append_basic(m, 'b', static_cast<int>(node_get<bool>(n)));
    case 'n': return append_basic(m, 'n', node_get<int16_t>(n));
    case 'q': return append_basic(m, 'q', node_get<uint16_t>(n));
    case 'i': return append_basic(m, 'i', node_get<int32_t>(n));
    case 'u': return append_basic(m, 'u', node_get<uint32_t>(n));
    case 'x': return append_basic(m, 'x', node_get<int64_t>(n));
    case 't': return append_basic(m, 't', node_get<uint64_t>(n));
    case 'd': return append_basic(m, 'd', node_get<double>(n));
    case 'h': return append_basic(m, 'h', node_get<detail::FdBox>(n).fd.get());
    case 's':
    case 'o':
    case 'g': {
        const std::string& s = node_get<std::string>(n);
        if (s.find('\0') != std::string::npos) marshal::detail::throw_invalid_string(type, s);
        marshal::detail::check_append(sd_bus_message_append_basic(m, sig[0], s.c_str()), type);
        return;
    }
    case 'a': {
        const std::string element(sig.substr(1));
        marshal::detail::check_append(sd_bus_message_open_container(m, 'a', element.c_str()), type);
        for (const Node& c : n.children) append_node(m, element, c, depth + 1);
        marshal::detail::check_append(sd_bus_message_close_container(m), type);
        return;
    }
    case '(':
    case '{': {
        const std::string inner(sig.substr(1, sig.size() - 2));
        const char container = sig[0] == '(' ? SD_BUS_TYPE_STRUCT : SD_BUS_TYPE_DICT_ENTRY;
        marshal::detail::check_append(sd_bus_message_open_container(m, container, inner.c_str()), type);
        std::string_view rest = inner;
        for (const Node& c : n.children) {
            if (rest.empty()) throw_node_mismatch();
            const size_t len = single_type_length(rest);
            append_node(m, rest.substr(0, len), c, depth + 1);
            rest.remove_prefix(len);
        }
        if (!rest.empty()) throw_node_mismatch();
        marshal::detail::check_append(sd_bus_message_close_container(m), type);
        return;
    }
    case 'v': {
        if (n.children.size() != 1) throw_node_mismatch();
        return append_variant(m, n.variant_sig, n.children[0], depth);
    }
    default: throw_node_mismatch();
    }
}

template <class T, class Wire = T>
Node read_basic(sd_bus_message* m, char type) {
    Wire v{};
    marshal::detail::check_read(m, sd_bus_message_read_basic(m, type, &v), std::string(1, type));
    Node n;
    n.value = static_cast<T>(v);
    return n;
}

Node read_node(sd_bus_message* m, int depth) {
    char type = 0;
    const char* contents_ptr = nullptr;
    const int r = sd_bus_message_peek_type(m, &type, &contents_ptr);
    if (r <= 0) marshal::detail::throw_read_failed(m, r, "any value");
    if (depth > max_depth) throw Error(error_name::invalid_args, "value nested too deeply");
    const std::string contents = contents_ptr ? contents_ptr : "";
    switch (type) {
    case 'y': return read_basic<uint8_t>(m, type);
    case 'b': return read_basic<bool, int>(m, type);
    case 'n': return read_basic<int16_t>(m, type);
    case 'q': return read_basic<uint16_t>(m, type);
    case 'i': return read_basic<int32_t>(m, type);
    case 'u': return read_basic<uint32_t>(m, type);
    case 'x': return read_basic<int64_t>(m, type);
    case 't': return read_basic<uint64_t>(m, type);
    case 'd': return read_basic<double>(m, type);
    case 's':
    case 'o':
    case 'g': {
        const char* s = nullptr;
        marshal::detail::check_read(m, sd_bus_message_read_basic(m, type, &s), std::string(1, type));
        Node n;
        n.value = std::string(s);
        return n;
    }
    case 'h': {
        int fd = -1;
        marshal::detail::check_read(m, sd_bus_message_read_basic(m, type, &fd), "h");
        Node n;
        detail::FdBox box{sdbus::UnixFd(fd)};
        if (!box.fd.isValid()) marshal::detail::throw_read_failed(m, -errno, "h");
        n.value = std::move(box);
        return n;
    }
    case SD_BUS_TYPE_ARRAY:
    case SD_BUS_TYPE_STRUCT:
    case SD_BUS_TYPE_DICT_ENTRY:
    case SD_BUS_TYPE_VARIANT: {
        const std::string expected = type == 'a' ? "a" + contents
                                     : type == 'r' ? "(" + contents + ")"
                                     : type == 'e' ? "{" + contents + "}"
                                                   : std::string("v");
        marshal::detail::check_read(m, sd_bus_message_enter_container(m, type, contents.c_str()), expected);
        Node n;
        if (type == SD_BUS_TYPE_VARIANT) n.variant_sig = contents;
        int end;
        while ((end = sd_bus_message_at_end(m, 0)) == 0) n.children.push_back(read_node(m, depth + 1));
        marshal::detail::check_exit(m, end, expected);
        marshal::detail::check_exit(m, sd_bus_message_exit_container(m), expected);
        if (type == SD_BUS_TYPE_VARIANT && n.children.size() != 1) throw_node_mismatch();
        return n;
    }
    default: marshal::detail::throw_read_failed(m, -EBADMSG, "any value");
    }
}
// One value in the readiness channel's token notation (offshoot/wire/readiness.hpp): depth
// first, each token followed by a NUL.
void encode_node(std::string& out, std::string_view sig, const Node& n, int depth) {
    if (depth > max_depth) throw Error(error_name::invalid_args, "return value nested too deeply");
    auto token = [&out](std::string_view t) {
        out.append(t);
        out += '\0';
    };
    auto number = [&token](auto v) { token(std::to_string(v)); };
    switch (sig[0]) {
    case 'y': return number(static_cast<unsigned>(node_get<uint8_t>(n)));
    case 'b': return token(node_get<bool>(n) ? "1" : "0");
    case 'n': return number(node_get<int16_t>(n));
    case 'q': return number(node_get<uint16_t>(n));
    case 'i': return number(node_get<int32_t>(n));
    case 'u': return number(node_get<uint32_t>(n));
    case 'x': return number(node_get<int64_t>(n));
    case 't': return number(node_get<uint64_t>(n));
    case 'd': {
        char buf[64];
        const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, node_get<double>(n), std::chars_format::hex);
        if (ec != std::errc()) throw_node_mismatch();
        return token({buf, static_cast<size_t>(end - buf)});
    }
    case 's':
    case 'o':
    case 'g': {
        const std::string& v = node_get<std::string>(n);
        if (v.find('\0') != std::string::npos) marshal::detail::throw_invalid_string(std::string(1, sig[0]), v);
        return token(v);
    }
    case 'h':
        throw Error(error_name::invalid_args, "a return value cannot hold a file descriptor (type 'h')");
    case 'a': {
        number(n.children.size());
        for (const Node& c : n.children) encode_node(out, sig.substr(1), c, depth + 1);
        return;
    }
    case '(':
    case '{': {
        std::string_view rest = sig.substr(1, sig.size() - 2);
        for (const Node& c : n.children) {
            if (rest.empty()) throw_node_mismatch();
            const size_t len = single_type_length(rest);
            encode_node(out, rest.substr(0, len), c, depth + 1);
            rest.remove_prefix(len);
        }
        if (!rest.empty()) throw_node_mismatch();
        return;
    }
    case 'v': {
        if (n.children.size() != 1 || n.variant_sig.empty()) throw_node_mismatch();
        token(n.variant_sig);
        return encode_node(out, n.variant_sig, n.children[0], depth + 1);
    }
    default: throw_node_mismatch();
    }
}

}  // namespace

std::string detail::encode_return_value(const Variant& value) {
    if (value.empty()) throw Error(error_name::invalid_args, "an empty variant cannot be handed back");
    if (value.signature().find('h') != std::string::npos)
        throw Error(error_name::invalid_args, "a return value cannot hold a file descriptor (type 'h')");
    if (value.signature().size() > wire::max_value_signature)
        throw Error(error_name::invalid_args, "the return value's signature is longer than 255 characters");
    std::string out = std::string(wire::value_prefix) + value.signature() + "\n";
    encode_node(out, value.signature(), value.node(), 0);
    if (out.size() > wire::max_value_message)
        throw Error(error_name::invalid_args, "a return value may take " + std::to_string(wire::max_value_message) +
                                                  " bytes at most, and this one takes " + std::to_string(out.size()) +
                                                  " (hand back a file name instead)");
    return out;
}

Variant Variant::wrap(const Variant& inner) {
    return from_parts("v", marshal::Traits<Variant>::to_node(inner));
}

Variant Variant::from_parts(std::string signature, detail::Node node) {
    Variant v;
    v.sig_ = std::move(signature);
    v.node_ = std::move(node);
    return v;
}

void Variant::append_to(sd_bus_message* m) const {
    if (sig_.empty()) throw Error(error_name::invalid_args, "cannot send an empty variant");
    append_variant(m, sig_, node_, 0);
}

void Variant::read_from(sd_bus_message* m) {
    char type = 0;
    const char* contents = nullptr;
    const int r = sd_bus_message_peek_type(m, &type, &contents);
    if (r <= 0 || type != SD_BUS_TYPE_VARIANT) marshal::detail::throw_read_failed(m, r, "v");
    Node outer = read_node(m, 0);
    sig_ = std::move(outer.variant_sig);
    node_ = std::move(outer.children.at(0));
}

}  // namespace offshoot

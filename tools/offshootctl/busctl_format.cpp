// busctl_format.cpp — busctl's command-line notation for D-Bus values (see the header), on
// top of sd-bus's own typed append/read so sd-bus validates every value it takes.
#include "busctl_format.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "context.hpp"

namespace offshootctl {
namespace {

using Args = std::vector<std::string>;

[[noreturn]] void bad(const std::string& what) { throw UsageError(what); }

void check(int r, const char* what) {
    if (r < 0) throw std::system_error(-r, std::generic_category(), what);
}

// Length of the single complete type at the start of `s` (D-Bus signature grammar).
std::size_t complete_type_length(std::string_view s, std::string_view whole) {
    if (s.empty()) bad("signature '" + std::string(whole) + "' ends where a type was expected");
    const char c = s.front();
    if (c == 'a') return 1 + complete_type_length(s.substr(1), whole);
    if (c == '(' || c == '{') {
        const char close = c == '(' ? ')' : '}';
        std::size_t i = 1;
        while (i < s.size() && s[i] != close) i += complete_type_length(s.substr(i), whole);
        if (i >= s.size() || i == 1) bad("signature '" + std::string(whole) + "' has an unclosed or empty '" + c + "'");
        return i + 1;
    }
    if (std::strchr("ybnqiuxtdsogvh", c) == nullptr || c == '\0')
        bad("signature '" + std::string(whole) + "' has an unknown type '" + c + "'");
    return 1;
}

template <class T>
T parse_integer(const std::string& text, char type) {
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        bad("'" + text + "' is not a valid value of type '" + type + "'");
    return value;
}

bool parse_boolean(const std::string& text) {
    for (const char* yes : {"1", "yes", "y", "true", "t", "on"})
        if (strcasecmp(text.c_str(), yes) == 0) return true;
    for (const char* no : {"0", "no", "n", "false", "f", "off"})
        if (strcasecmp(text.c_str(), no) == 0) return false;
    bad("'" + text + "' is not a boolean (true/false, yes/no, on/off, 1/0)");
}

class Appender {
public:
    Appender(sd_bus_message* m, const Args& args) : m_(m), args_(args) {}

    // Appends values for every complete type in `signature`.
    void sequence(std::string_view signature) {
        while (!signature.empty()) {
            const std::size_t n = complete_type_length(signature, signature);
            one(signature.substr(0, n));
            signature.remove_prefix(n);
        }
    }

    bool all_used() const noexcept { return next_ == args_.size(); }

private:
    const std::string& take(std::string_view type) {
        if (next_ >= args_.size())
            bad("too few arguments for the signature: a value of type '" + std::string(type) + "' is missing");
        return args_[next_++];
    }

    void appended(int r, const std::string& text, char type) {
        if (r < 0) bad("'" + text + "' is not a valid value of type '" + type + "': " + std::strerror(-r));
    }

    void one(std::string_view type) {
        const char c = type.front();
        const std::string contents(type.substr(1));
        switch (c) {
        case 'a': {
            const std::string& count_text = take(type);
            const auto count = parse_integer<uint32_t>(count_text, 'u');
            check(sd_bus_message_open_container(m_, 'a', contents.c_str()), "open array");
            for (uint32_t i = 0; i < count; ++i) one(contents);
            check(sd_bus_message_close_container(m_), "close array");
            return;
        }
        case '(':
        case '{': {
            const std::string inner(type.substr(1, type.size() - 2));
            check(sd_bus_message_open_container(m_, c == '(' ? 'r' : 'e', inner.c_str()), "open struct");
            sequence(inner);
            check(sd_bus_message_close_container(m_), "close struct");
            return;
        }
        case 'v': {
            const std::string inner = take(type);
            if (inner.empty() || complete_type_length(inner, inner) != inner.size())
                bad("a variant needs exactly one complete type, not '" + inner + "'");
            check(sd_bus_message_open_container(m_, 'v', inner.c_str()), "open variant");
            one(inner);
            check(sd_bus_message_close_container(m_), "close variant");
            return;
        }
        case 'h': bad("file descriptors (type 'h') cannot be passed from the command line");
        default: break;
        }
        const std::string& text = take(type);
        int r = 0;
        switch (c) {
        case 'y': { auto v = parse_integer<uint8_t>(text, c); r = sd_bus_message_append_basic(m_, c, &v); break; }
        case 'n': { auto v = parse_integer<int16_t>(text, c); r = sd_bus_message_append_basic(m_, c, &v); break; }
        case 'q': { auto v = parse_integer<uint16_t>(text, c); r = sd_bus_message_append_basic(m_, c, &v); break; }
        case 'i': { auto v = parse_integer<int32_t>(text, c); r = sd_bus_message_append_basic(m_, c, &v); break; }
        case 'u': { auto v = parse_integer<uint32_t>(text, c); r = sd_bus_message_append_basic(m_, c, &v); break; }
        case 'x': { auto v = parse_integer<int64_t>(text, c); r = sd_bus_message_append_basic(m_, c, &v); break; }
        case 't': { auto v = parse_integer<uint64_t>(text, c); r = sd_bus_message_append_basic(m_, c, &v); break; }
        case 'b': { int v = parse_boolean(text); r = sd_bus_message_append_basic(m_, c, &v); break; }
        case 'd': {
            char* end = nullptr;
            errno = 0;
            const double v = std::strtod(text.c_str(), &end);
            if (text.empty() || *end != '\0' || errno == ERANGE) bad("'" + text + "' is not a valid value of type 'd'");
            r = sd_bus_message_append_basic(m_, c, &v);
            break;
        }
        default:  // s, o, g: sd-bus validates object paths and signatures
            r = sd_bus_message_append_basic(m_, c, text.c_str());
            break;
        }
        appended(r, text, c);
    }

    sd_bus_message* m_;
    const Args& args_;
    std::size_t next_ = 0;
};

// busctl's quoting: C escapes; printable UTF-8 is left as it is.
std::string quoted(const char* s) {
    std::string out = "\"";
    for (const char* p = s; *p; ++p) {
        const auto c = static_cast<unsigned char>(*p);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\%03o", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out + "\"";
}

bool is_container(char type) { return type == 'a' || type == 'r' || type == 'e' || type == 'v'; }

union Basic {
    uint8_t u8;
    int16_t s16;
    uint16_t u16;
    int32_t s32;
    uint32_t u32;
    int64_t s64;
    uint64_t u64;
    double d;
    int b;
    const char* str;
};

// Prints every value left at the current level; returns whether anything was printed.
void print_level(sd_bus_message* m, std::string& out) {
    for (;;) {
        char type = 0;
        const char* contents = nullptr;
        int r = sd_bus_message_peek_type(m, &type, &contents);
        check(r, "read reply");
        if (r == 0) return;
        if (is_container(type)) {
            check(sd_bus_message_enter_container(m, type, contents), "read reply");
            if (type == 'a') {
                unsigned n = 0;
                while ((r = sd_bus_message_skip(m, contents)) > 0) ++n;
                check(r, "read reply");
                check(sd_bus_message_rewind(m, 0), "read reply");
                out += ' ' + std::to_string(n);
            } else if (type == 'v') {
                out += ' ' + std::string(contents);
            }
            print_level(m, out);
            check(sd_bus_message_exit_container(m), "read reply");
            continue;
        }
        Basic v{};
        check(sd_bus_message_read_basic(m, type, &v), "read reply");
        out += ' ';
        char buf[64];
        switch (type) {
        case 'y': out += std::to_string(v.u8); break;
        case 'n': out += std::to_string(v.s16); break;
        case 'q': out += std::to_string(v.u16); break;
        case 'i': out += std::to_string(v.s32); break;
        case 'u': out += std::to_string(v.u32); break;
        case 'x': out += std::to_string(v.s64); break;
        case 't': out += std::to_string(v.u64); break;
        case 'h': out += std::to_string(v.s32); break;
        case 'b': out += v.b ? "true" : "false"; break;
        case 'd': std::snprintf(buf, sizeof buf, "%g", v.d); out += buf; break;
        default: out += quoted(v.str); break;
        }
    }
}

nlohmann::ordered_json json_one(sd_bus_message* m, char type, const char* contents);

nlohmann::ordered_json json_level_array(sd_bus_message* m) {
    auto arr = nlohmann::ordered_json::array();
    for (;;) {
        char type = 0;
        const char* contents = nullptr;
        int r = sd_bus_message_peek_type(m, &type, &contents);
        check(r, "read reply");
        if (r == 0) return arr;
        arr.push_back(json_one(m, type, contents));
    }
}

std::string json_key(const nlohmann::ordered_json& key) { return key.is_string() ? key.get<std::string>() : key.dump(); }

nlohmann::ordered_json json_one(sd_bus_message* m, char type, const char* contents) {
    if (is_container(type)) {
        check(sd_bus_message_enter_container(m, type, contents), "read reply");
        nlohmann::ordered_json v;
        if (type == 'a' && contents[0] == '{') {
            // A dictionary becomes an object; keys are basic types, numbers become their text.
            v = nlohmann::ordered_json::object();
            for (;;) {
                char et = 0;
                const char* ec = nullptr;
                int r = sd_bus_message_peek_type(m, &et, &ec);
                check(r, "read reply");
                if (r == 0) break;
                check(sd_bus_message_enter_container(m, et, ec), "read reply");
                auto pair = json_level_array(m);
                check(sd_bus_message_exit_container(m), "read reply");
                v[json_key(pair.at(0))] = pair.at(1);
            }
        } else if (type == 'v') {
            v = {{"type", contents}, {"data", json_level_array(m).at(0)}};
        } else {
            v = json_level_array(m);
        }
        check(sd_bus_message_exit_container(m), "read reply");
        return v;
    }
    Basic b{};
    check(sd_bus_message_read_basic(m, type, &b), "read reply");
    switch (type) {
    case 'y': return b.u8;
    case 'n': return b.s16;
    case 'q': return b.u16;
    case 'i': case 'h': return b.s32;
    case 'u': return b.u32;
    case 'x': return b.s64;
    case 't': return b.u64;
    case 'b': return static_cast<bool>(b.b);
    case 'd': return std::isfinite(b.d) ? nlohmann::ordered_json(b.d) : nlohmann::ordered_json(nullptr);
    default: return b.str;
    }
}

}  // namespace

void append_cmdline(sd_bus_message* m, std::string_view signature, const std::vector<std::string>& args) {
    Appender appender(m, args);
    appender.sequence(signature);
    if (!appender.all_used()) bad("too many arguments for the signature '" + std::string(signature) + "'");
}

std::string format_cmdline(sd_bus_message* m) {
    const char* signature = sd_bus_message_get_signature(m, 1);
    if (signature == nullptr || *signature == '\0') return {};
    std::string out = signature;
    print_level(m, out);
    return out;
}

nlohmann::ordered_json format_json(sd_bus_message* m) {
    const char* signature = sd_bus_message_get_signature(m, 1);
    return {{"type", signature ? signature : ""}, {"data", json_level_array(m)}};
}

std::string format_variant_cmdline(sd_bus_message* m) {
    const char* contents = nullptr;
    check(sd_bus_message_peek_type(m, nullptr, &contents), "read reply");
    check(sd_bus_message_enter_container(m, 'v', contents), "read reply");
    std::string out = contents;
    print_level(m, out);
    check(sd_bus_message_exit_container(m), "read reply");
    return out;
}

nlohmann::ordered_json format_variant_json(sd_bus_message* m) {
    const char* contents = nullptr;
    check(sd_bus_message_peek_type(m, nullptr, &contents), "read reply");
    return json_one(m, 'v', contents);
}

}  // namespace offshootctl

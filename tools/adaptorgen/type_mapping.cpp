// type_mapping.cpp — see type_mapping.hpp.
#include "type_mapping.hpp"

#include <set>
#include <stdexcept>

namespace adaptorgen {

namespace {

bool is_name_char(char c, bool first) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    return first ? alpha : alpha || (c >= '0' && c <= '9');
}

bool is_basic(char c) {
    return std::string_view("ybnqiuxtdsogh").find(c) != std::string_view::npos;
}

// Parses one complete type at `pos`; returns false with `why` on error.
bool parse_one(std::string_view sig, size_t& pos, int arrays, int structs, std::string& why) {
    if (pos >= sig.size()) {
        why = "a type is missing at the end";
        return false;
    }
    const char c = sig[pos++];
    if (is_basic(c) || c == 'v') return true;
    if (c == 'a') {
        if (arrays >= 32) {
            why = "arrays nested deeper than 32";
            return false;
        }
        if (pos < sig.size() && sig[pos] == '{') {
            ++pos;
            if (pos >= sig.size() || !is_basic(sig[pos])) {
                why = "a dict key must be a basic type";
                return false;
            }
            ++pos;
            if (!parse_one(sig, pos, arrays + 1, structs, why)) return false;
            if (pos >= sig.size() || sig[pos] != '}') {
                why = "a dict entry holds exactly one key and one value";
                return false;
            }
            ++pos;
            return true;
        }
        return parse_one(sig, pos, arrays + 1, structs, why);
    }
    if (c == '(') {
        if (structs >= 32) {
            why = "structs nested deeper than 32";
            return false;
        }
        if (pos < sig.size() && sig[pos] == ')') {
            why = "empty struct";
            return false;
        }
        while (pos < sig.size() && sig[pos] != ')')
            if (!parse_one(sig, pos, arrays, structs + 1, why)) return false;
        if (pos >= sig.size()) {
            why = "unterminated struct";
            return false;
        }
        ++pos;
        return true;
    }
    why = c == '{' ? "a dict entry outside an array" : std::string("unknown type code '") + c + "'";
    return false;
}

std::string cpp_one(std::string_view sig, size_t& pos) {
    const char c = sig[pos++];
    switch (c) {
    case 'y': return "uint8_t";
    case 'b': return "bool";
    case 'n': return "int16_t";
    case 'q': return "uint16_t";
    case 'i': return "int32_t";
    case 'u': return "uint32_t";
    case 'x': return "int64_t";
    case 't': return "uint64_t";
    case 'd': return "double";
    case 's': return "std::string";
    case 'o': return "sdbus::ObjectPath";
    case 'g': return "sdbus::Signature";
    case 'h': return "sdbus::UnixFd";
    case 'v': return "offshoot::Variant";
    case 'a':
        if (sig[pos] == '{') {
            ++pos;
            std::string key = cpp_one(sig, pos);
            std::string value = cpp_one(sig, pos);
            ++pos;  // '}'
            return "std::map<" + key + ", " + value + ">";
        }
        return "std::vector<" + cpp_one(sig, pos) + ">";
    case '(': {
        std::string out = "sdbus::Struct<";
        bool first = true;
        while (sig[pos] != ')') {
            if (!first) out += ", ";
            out += cpp_one(sig, pos);
            first = false;
        }
        ++pos;
        return out + ">";
    }
    default: throw std::logic_error("cpp_type on an unchecked signature");
    }
}

const std::set<std::string, std::less<>>& keywords() {
    static const std::set<std::string, std::less<>> words = {
        "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
        "case", "catch", "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept",
        "const", "consteval", "constexpr", "constinit", "const_cast", "continue", "co_await",
        "co_return", "co_yield", "decltype", "default", "delete", "do", "double", "dynamic_cast",
        "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
        "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
        "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
        "reinterpret_cast", "requires", "return", "short", "signed", "sizeof", "static",
        "static_assert", "static_cast", "struct", "switch", "template", "this", "thread_local",
        "throw", "true", "try", "typedef", "typeid", "typename", "union", "unsigned", "using",
        "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq"};
    return words;
}

}  // namespace

bool is_valid_interface_name(std::string_view name) {
    if (name.empty() || name.size() > 255) return false;
    int elements = 0;
    bool start = true;
    for (char c : name) {
        if (c == '.') {
            if (start) return false;
            start = true;
            continue;
        }
        if (!is_name_char(c, start)) return false;
        if (start) ++elements;
        start = false;
    }
    return !start && elements >= 2;
}

bool is_valid_member_name(std::string_view name) {
    if (name.empty() || name.size() > 255) return false;
    for (size_t i = 0; i < name.size(); ++i)
        if (!is_name_char(name[i], i == 0)) return false;
    return true;
}

bool is_single_complete_type(std::string_view sig, std::string& why) {
    if (sig.empty()) {
        why = "empty";
        return false;
    }
    size_t pos = 0;
    if (!parse_one(sig, pos, 0, 0, why)) return false;
    if (pos != sig.size()) {
        why = "more than one complete type";
        return false;
    }
    return true;
}

std::string cpp_type(std::string_view sig) {
    size_t pos = 0;
    return cpp_one(sig, pos);
}

std::string cpp_identifier(std::string_view name, const std::string& fallback) {
    if (name.empty()) return fallback;
    std::string out;
    for (size_t i = 0; i < name.size(); ++i) out += is_name_char(name[i], false) ? name[i] : '_';
    if (out[0] >= '0' && out[0] <= '9') out.insert(out.begin(), '_');
    if (keywords().count(out)) out += '_';
    return out;
}

std::string cpp_string_literal(std::string_view s) {
    std::string out = "\"";
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20 || c >= 0x7f) {
            // Octal escapes have at most three digits, so they cannot swallow what follows.
            out += '\\';
            out += static_cast<char>('0' + ((c >> 6) & 7));
            out += static_cast<char>('0' + ((c >> 3) & 7));
            out += static_cast<char>('0' + (c & 7));
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

std::vector<std::string> namespace_of(const std::string& interface) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        const size_t dot = interface.find('.', start);
        if (dot == std::string::npos) break;
        parts.push_back(cpp_identifier(interface.substr(start, dot - start), "_"));
        start = dot + 1;
    }
    return parts;
}

std::string class_base_name(const std::string& interface) {
    const size_t dot = interface.rfind('.');
    return cpp_identifier(dot == std::string::npos ? interface : interface.substr(dot + 1), "Interface");
}

}  // namespace adaptorgen

// return_value.cpp — see return_value.hpp. The token notation is offshoot/wire/readiness.hpp's.
#include "instance/return_value.hpp"

#include "offshoot/common/errors.hpp"
#include "offshoot/common/sd_ptr.hpp"

#include <fmt/format.h>
#include <offshoot/wire/readiness.hpp>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

namespace offshoot {
namespace {

class TokenAppender {
public:
    TokenAppender(sd_bus_message* m, const std::vector<std::string_view>& tokens, std::string& error)
        : m_(m), tokens_(tokens), error_(error) {}

    // One complete type's value; sd-bus's result, or -EBADMSG with error_ set.
    int one(std::string_view type, int depth) {
        if (depth > wire::max_value_depth) return bad("nested more than " + std::to_string(wire::max_value_depth) + " deep");
        const char c = type[0];
        switch (c) {
        case 'a': return array(type, depth);
        case '(':
        case '{': return members(type, depth);
        case 'v': return variant(depth);
        default: return basic(c);
        }
    }

    bool all_used() const noexcept { return next_ == tokens_.size(); }

private:
    int bad(std::string why) {
        error_ = std::move(why);
        return -EBADMSG;
    }

    bool take(std::string_view& token) {
        if (next_ >= tokens_.size()) return false;
        token = tokens_[next_++];
        return true;
    }

    template <class T>
    int integer(char type, std::string_view token) {
        T v{};
        const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
        if (ec != std::errc() || end != token.data() + token.size() || token.empty() || token[0] == '+')
            return bad(fmt::format("'{}' is not a value of type '{}'", token.substr(0, 32), type));
        return sd_bus_message_append_basic(m_, type, &v);
    }

    int basic(char c) {
        std::string_view token;
        if (!take(token)) return bad(std::string("a value of type '") + c + "' is missing");
        switch (c) {
        case 'y': return integer<uint8_t>(c, token);
        case 'n': return integer<int16_t>(c, token);
        case 'q': return integer<uint16_t>(c, token);
        case 'i': return integer<int32_t>(c, token);
        case 'u': return integer<uint32_t>(c, token);
        case 'x': return integer<int64_t>(c, token);
        case 't': return integer<uint64_t>(c, token);
        case 'b': {
            if (token != "0" && token != "1") return bad("a boolean is 0 or 1");
            const int v = token == "1";
            return sd_bus_message_append_basic(m_, c, &v);
        }
        case 'd': {
            double v = 0;
            const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), v, std::chars_format::hex);
            if (ec != std::errc() || end != token.data() + token.size())
                return bad(fmt::format("'{}' is not a hexadecimal double", token.substr(0, 32)));
            return sd_bus_message_append_basic(m_, c, &v);
        }
        case 's':
        case 'o':
        case 'g':
            // Each token is followed by its NUL in the datagram: data() is a C string. sd-bus
            // checks UTF-8, object path and signature syntax.
            return sd_bus_message_append_basic(m_, c, token.data());
        default: return bad(std::string("type '") + c + "' cannot be handed back");
        }
    }

    int array(std::string_view type, int depth) {
        std::string_view token;
        uint32_t count = 0;
        if (!take(token)) return bad("an array's element count is missing");
        const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), count);
        // Every element takes a token at least: a count beyond what is left is a lie.
        if (ec != std::errc() || end != token.data() + token.size() || count > tokens_.size() - next_)
            return bad(fmt::format("'{}' is not an element count", token.substr(0, 32)));  // (fmt: GCC 12 -Wrestrict)
        const std::string element(type.substr(1));
        int r = sd_bus_message_open_container(m_, 'a', element.c_str());
        for (uint32_t i = 0; r >= 0 && i < count; ++i) r = one(element, depth + 1);
        return r < 0 ? r : sd_bus_message_close_container(m_);
    }

    int members(std::string_view type, int depth) {
        const std::string inner(type.substr(1, type.size() - 2));
        int r = sd_bus_message_open_container(m_, type[0] == '(' ? 'r' : 'e', inner.c_str());
        for (std::string_view rest = inner; r >= 0 && !rest.empty();) {
            const size_t n = wire::complete_type_length(rest);
            r = one(rest.substr(0, n), depth + 1);
            rest.remove_prefix(n);
        }
        return r < 0 ? r : sd_bus_message_close_container(m_);
    }

    int variant(int depth) {
        std::string_view inner;
        if (!take(inner)) return bad("a variant's signature is missing");
        if (inner.empty() || inner.size() > wire::max_value_signature || wire::complete_type_length(inner) != inner.size() ||
            inner.find('h') != std::string_view::npos)
            return bad(fmt::format("'{}' is not one complete type without 'h'", inner.substr(0, 32)));
        int r = sd_bus_message_open_container(m_, 'v', inner.data());
        if (r >= 0) r = one(inner, depth + 1);
        return r < 0 ? r : sd_bus_message_close_container(m_);
    }

    sd_bus_message* m_;
    const std::vector<std::string_view>& tokens_;
    std::string& error_;
    size_t next_ = 0;
};

}  // namespace

int append_value_datagram(sd_bus_message* m, std::string_view datagram, std::string& error) {
    std::string_view signature;
    std::vector<std::string_view> tokens;
    if (!wire::split_value(datagram, signature, tokens, error)) return -EBADMSG;
    if (wire::complete_type_length(signature) != signature.size() || signature.find('h') != std::string_view::npos) {
        error = fmt::format("'{}' is not one complete type without 'h'", signature.substr(0, 32));
        return -EBADMSG;
    }
    // The signature is followed by '\n' in the datagram, not NUL: copy it.
    const std::string sig(signature);
    int r = sd_bus_message_open_container(m, 'v', sig.c_str());
    TokenAppender appender(m, tokens, error);
    if (r >= 0) r = appender.one(sig, 0);
    if (r >= 0) r = sd_bus_message_close_container(m);
    if (r >= 0 && !appender.all_used()) {
        error = "more tokens than the signature takes";
        return -EBADMSG;
    }
    if (r < 0 && error.empty()) error = "sd-bus refused a value: " + errno_text(r);
    return r;
}

std::optional<ReturnValue> ReturnValue::from_datagram(sd_bus* bus, std::string_view datagram, std::string& error) {
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus, &raw, nullptr, "/", "org.offshoot1.Scratch", "Value");
    MessagePtr scratch(raw);
    if (r < 0) {
        error = "cannot make a message to check it in: " + errno_text(r);
        return std::nullopt;
    }
    if (append_value_datagram(scratch.get(), datagram, error) < 0) return std::nullopt;
    ReturnValue v;
    v.datagram_ = datagram;
    const size_t nl = datagram.find('\n');
    v.signature_ = datagram.substr(std::strlen(wire::value_prefix), nl - std::strlen(wire::value_prefix));
    return v;
}

int ReturnValue::append_variant(sd_bus_message* m) const {
    std::string error;
    return append_value_datagram(m, datagram_, error);
}

}  // namespace offshoot

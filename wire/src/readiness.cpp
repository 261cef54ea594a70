// readiness.cpp — see offshoot/wire/readiness.hpp.
#include <offshoot/wire/readiness.hpp>

#include <charconv>
#include <string>

namespace offshoot::wire {
namespace {

// Appends s to buf[pos…] without passing cap − 1; returns the new position. `newline_to_space`
// for a MESSAGE= value.
size_t put(char* buf, size_t pos, size_t cap, std::string_view s, bool newline_to_space = false) noexcept {
    for (char c : s) {
        if (pos + 1 >= cap) break;
        buf[pos++] = newline_to_space && (c == '\n' || c == '\r') ? ' ' : c;
    }
    buf[pos] = '\0';
    return pos;
}

size_t put_number(char* buf, size_t pos, size_t cap, unsigned long v) noexcept {
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof digits);
    while (n && pos + 1 < cap) buf[pos++] = digits[--n];
    buf[pos] = '\0';
    return pos;
}

}  // namespace

size_t format_failure(char* buf, size_t cap, std::string_view step, int err, std::string_view message) noexcept {
    if (cap == 0) return 0;
    size_t p = put(buf, 0, cap, "ERROR=");
    p = put(buf, p, cap, step, true);
    p = put(buf, p, cap, "\nERRNO=");
    p = put_number(buf, p, cap, static_cast<unsigned long>(err < 0 ? -err : err));
    if (!message.empty()) {
        p = put(buf, p, cap, "\nMESSAGE=");
        p = put(buf, p, cap, message, true);
    }
    return p;
}

size_t format_listen_pid(char* buf, size_t cap, long pid) noexcept {
    if (cap == 0) return 0;
    return put_number(buf, put(buf, 0, cap, "LISTEN_PID="), cap, static_cast<unsigned long>(pid));
}

size_t complete_type_length(std::string_view sig) noexcept {
    if (sig.empty()) return 0;
    switch (sig[0]) {
    case 'a': {
        const size_t n = complete_type_length(sig.substr(1));
        return n ? n + 1 : 0;
    }
    case '(':
    case '{': {
        const char close = sig[0] == '(' ? ')' : '}';
        size_t i = 1, members = 0;
        while (i < sig.size() && sig[i] != close) {
            const size_t n = complete_type_length(sig.substr(i));
            if (n == 0) return 0;
            i += n;
            ++members;
        }
        if (i >= sig.size() || members == 0 || (close == '}' && members != 2)) return 0;
        return i + 1;
    }
    default:
        return std::string_view("ybnqiuxtdsogvh").find(sig[0]) != std::string_view::npos ? 1 : 0;
    }
}

bool split_value(std::string_view datagram, std::string_view& signature, std::vector<std::string_view>& tokens,
                 std::string& error) {
    tokens.clear();
    const std::string_view prefix = value_prefix;
    if (datagram.size() > max_value_message) {
        error = "larger than " + std::to_string(max_value_message) + " bytes";
        return false;
    }
    const size_t nl = datagram.find('\n');
    if (!datagram.starts_with(prefix) || nl == std::string_view::npos) {
        error = "not a VALUE= datagram";
        return false;
    }
    signature = datagram.substr(prefix.size(), nl - prefix.size());
    if (signature.empty() || signature.size() > max_value_signature) {
        error = "a signature of 1 to " + std::to_string(max_value_signature) + " characters is needed";
        return false;
    }
    std::string_view rest = datagram.substr(nl + 1);
    while (!rest.empty()) {
        const size_t end = rest.find('\0');
        if (end == std::string_view::npos) {
            error = "the last token has no terminating NUL";
            return false;
        }
        tokens.push_back(rest.substr(0, end));
        rest.remove_prefix(end + 1);
    }
    return true;
}

void Readiness::read(std::string_view datagram) {
    size_t pos = 0;
    while (pos < datagram.size()) {
        const size_t nl = datagram.find('\n', pos);
        const std::string_view line = datagram.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? datagram.size() : nl + 1;
        if (line == ready_message) ready = true;
        else if (line.starts_with("ERROR=")) step = line.substr(6, 64);
        else if (line.starts_with("ERRNO=")) {
            const auto v = line.substr(6, 12);
            int e = 0;
            if (std::from_chars(v.data(), v.data() + v.size(), e).ec == std::errc()) err = e;
        } else if (line.starts_with("MESSAGE=")) message = line.substr(8, 1024);
    }
}

}  // namespace offshoot::wire

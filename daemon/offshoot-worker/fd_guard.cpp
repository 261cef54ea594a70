// fd_guard.cpp — see fd_guard.hpp. The rules mirrored here are those of libsystemd 252's
// bus-socket.c (framing, the SASL exchange's end) and bus-message.c (message_from_header,
// message_parse_fields); where this code is stricter than sd-bus, the only effect is that a
// connection sending an unusual message *with descriptors* is closed.
#include "fd_guard.hpp"

#include "offshoot/common/log.hpp"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <vector>

namespace offshoot::worker::fd_guard {
namespace {

constexpr int max_watched_fd = 65536;
// Header fields longer than this are not followed; such a message may not carry descriptors.
constexpr uint64_t max_fields = 64 * 1024;
// sd-bus's BUS_MESSAGE_SIZE_MAX.
constexpr uint64_t max_message = 128ull << 20;
constexpr size_t fixed_header = 16;

struct Stream {
    enum class Phase { first_byte, auth, messages, broken } phase = Phase::first_byte;
    // The SASL exchange: the current line, as far as it may still be "BEGIN".
    char line[6]{};
    size_t line_len = 0;
    bool after_cr = false;
    // The message being read: its fixed header and header fields, how much of it has been
    // seen, its length once known, and the descriptors that came with it (held back).
    std::vector<uint8_t> header;
    uint64_t seen = 0;
    uint64_t total = 0;
    uint64_t keep = fixed_header;
    bool fields_too_long = false;
    std::vector<int> held;
};

std::atomic<Stream*> streams[max_watched_fd];

ssize_t raw_recvmsg(int fd, msghdr* msg, int flags) {
    return static_cast<ssize_t>(::syscall(SYS_recvmsg, fd, msg, flags));
}

void close_all(std::vector<int>& fds) {
    for (int fd : fds) (void)::close(fd);
    fds.clear();
}

uint64_t align8(uint64_t v) { return (v + 7) & ~uint64_t{7}; }

// ---- the header rules of sd-bus 252 (bus-internal.c, bus-signature.c, bus-message.c) -----

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool object_path_ok(std::string_view p) {
    if (p.empty() || p[0] != '/' || p.size() > 4096) return false;
    if (p.size() == 1) return true;
    bool slash = true;
    for (char c : p.substr(1)) {
        if (c == '/') {
            if (slash) return false;
            slash = true;
        } else {
            if (!is_alpha(c) && !is_digit(c) && c != '_') return false;
            slash = false;
        }
    }
    return !slash;
}

// Interface and error names; bus names when `bus_name` (unique names may start elements with
// digits; '-' allowed).
bool dotted_name_ok(std::string_view p, bool bus_name) {
    if (p.empty() || p.size() > 255) return false;
    const bool unique = bus_name && p[0] == ':';
    bool dot = true, found_dot = false;
    for (char c : unique ? p.substr(1) : p) {
        if (c == '.') {
            if (dot) return false;
            found_dot = dot = true;
            continue;
        }
        const bool good = is_alpha(c) || c == '_' || (bus_name && c == '-') ||
                          (is_digit(c) && (!dot || unique));
        if (!good) return false;
        dot = false;
    }
    return !dot && found_dot;
}

bool member_ok(std::string_view p) {
    if (p.empty() || p.size() > 255) return false;
    if (is_digit(p[0])) return false;
    return std::all_of(p.begin(), p.end(), [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; });
}

bool basic_type(char c) { return c && std::strchr("ybnqiuxtdhsog", c) != nullptr; }

// The length of the complete type at s[0], or 0 if it is none (signature_element_length).
size_t complete_type(std::string_view s, bool in_array, unsigned arrays, unsigned structs) {
    if (s.empty()) return 0;
    const char c = s[0];
    if (basic_type(c) || c == 'v') return 1;
    if (c == 'a') {
        if (arrays >= 32) return 0;
        const size_t t = complete_type(s.substr(1), true, arrays + 1, structs);
        return t ? t + 1 : 0;
    }
    if (c == '(' || (c == '{' && in_array)) {
        if (structs >= 32) return 0;
        const char end = c == '(' ? ')' : '}';
        size_t p = 1, n = 0;
        while (p < s.size() && s[p] != end) {
            if (c == '{' && n == 0 && !basic_type(s[p])) return 0;
            const size_t t = complete_type(s.substr(p), false, arrays, structs + 1);
            if (!t) return 0;
            p += t;
            ++n;
        }
        if (p >= s.size() || n == 0 || (c == '{' && n != 2)) return 0;
        return p + 1;
    }
    return 0;
}

// A body signature: complete types only, no dict entry outside an array (sd-bus would allow
// one at the top of a header field; stricter is fine), at most 255 characters.
bool signature_ok(std::string_view s) {
    if (s.size() > 255) return false;
    for (size_t p = 0; p < s.size();) {
        const size_t t = complete_type(s.substr(p), false, 0, 0);
        if (!t) return false;
        p += t;
    }
    return true;
}

class FieldReader {
public:
    FieldReader(std::span<const uint8_t> header, bool big_endian) : h_(header), big_(big_endian) {}
    bool at_end() const { return pos_ >= h_.size(); }
    // Alignment counts from the start of the message, as the fields start at offset 16; the
    // padding must be zeros (message_peek_fields).
    bool align(size_t a) {
        const size_t to = (pos_ + a - 1) / a * a;
        if (to > h_.size()) return false;
        for (; pos_ < to; ++pos_)
            if (h_[pos_] != 0) return false;
        return true;
    }
    size_t pos() const { return pos_; }
    bool u8(uint8_t& v) {
        if (pos_ + 1 > h_.size()) return false;
        v = h_[pos_++];
        return true;
    }
    bool u32(uint32_t& v) {
        if (!align(4) || pos_ + 4 > h_.size()) return false;
        v = big_ ? (uint32_t{h_[pos_]} << 24 | uint32_t{h_[pos_ + 1]} << 16 | uint32_t{h_[pos_ + 2]} << 8 | h_[pos_ + 3])
                 : (uint32_t{h_[pos_ + 3]} << 24 | uint32_t{h_[pos_ + 2]} << 16 | uint32_t{h_[pos_ + 1]} << 8 | h_[pos_]);
        pos_ += 4;
        return true;
    }
    // `len` bytes then a NUL, with no NUL inside.
    bool text(size_t len, std::string_view& out) {
        if (pos_ + len + 1 > h_.size() || h_[pos_ + len] != 0) return false;
        out = {reinterpret_cast<const char*>(h_.data() + pos_), len};
        if (out.find('\0') != std::string_view::npos) return false;
        pos_ += len + 1;
        return true;
    }
    bool string(std::string_view& out) {
        uint32_t len = 0;
        return u32(len) && len < h_.size() && text(len, out);
    }
    bool signature(std::string_view& out) {
        uint8_t len = 0;
        return u8(len) && len != 0xff && text(len, out);
    }
    void start_at(size_t p) { pos_ = p; }

private:
    std::span<const uint8_t> h_;
    bool big_;
    size_t pos_ = 0;
};

enum Field : uint8_t { path = 1, interface, member, error_name, reply_serial, destination, sender, body_signature, unix_fds };

struct ParsedHeader {
    bool readable = false;    // the fields could be walked
    bool acceptable = false;  // and sd-bus is certain to accept them
    uint32_t unix_fds = 0;
};

ParsedHeader parse_header(std::span<const uint8_t> h) {
    ParsedHeader out;
    if (h.size() < fixed_header || (h[0] != 'l' && h[0] != 'B')) return out;
    const bool big = h[0] == 'B';
    const uint8_t type = h[1], version = h[3];
    FieldReader r(h, big);
    uint32_t body = 0, serial = 0, fields = 0;
    r.start_at(4);
    if (!r.u32(body) || !r.u32(serial) || !r.u32(fields) || fixed_header + uint64_t{fields} != h.size()) return out;
    r.start_at(fixed_header);
    bool seen[10] = {};
    std::string_view path_value, interface_value, sender_value;
    uint32_t reply = 0;
    bool strict = version == 1 && type >= 1 && type <= 4 && serial != 0;
    while (!r.at_end()) {
        uint8_t code = 0;
        std::string_view sig;
        // A field must start inside the array (sd-bus refuses trailing padding).
        if (!r.align(8) || r.at_end()) return out;
        if (!r.u8(code) || !r.signature(sig) || sig.size() != 1) return out;
        const char t = sig[0];
        std::string_view s;
        uint32_t u = 0;
        bool ok = false;
        switch (t) {
        case 'o': case 's': ok = r.string(s); break;
        case 'g': ok = r.signature(s); break;
        case 'u': ok = r.u32(u); break;
        default: return out;  // a field of another type: not followed
        }
        if (!ok) return out;
        if (code == unix_fds && t == 'u') out.unix_fds = u;
        if (code == 0 || code > unix_fds || seen[code]) {
            strict = false;
            continue;
        }
        seen[code] = true;
        switch (code) {
        case path: strict &= t == 'o' && object_path_ok(s); path_value = s; break;
        case interface: strict &= t == 's' && dotted_name_ok(s, false); interface_value = s; break;
        case member: strict &= t == 's' && member_ok(s); break;
        case error_name: strict &= t == 's' && dotted_name_ok(s, false); break;
        case reply_serial: strict &= t == 'u' && u != 0; reply = u; break;
        case destination: strict &= t == 's' && dotted_name_ok(s, true); break;
        case sender: strict &= t == 's' && dotted_name_ok(s, true); sender_value = s; break;
        case body_signature: strict &= t == 'g' && signature_ok(s); break;
        case unix_fds: strict &= t == 'u'; break;
        default: break;
        }
    }
    out.readable = true;
    switch (type) {
    case 1: strict &= seen[path] && seen[member] && reply == 0; break;                       // method call
    case 2: strict &= reply != 0; break;                                                        // return
    case 3: strict &= reply != 0 && seen[error_name]; break;                                    // error
    case 4: strict &= seen[path] && seen[interface] && seen[member] && reply == 0; break;      // signal
    default: strict = false;
    }
    strict &= path_value != "/org/freedesktop/DBus/Local" && interface_value != "org.freedesktop.DBus.Local" &&
              sender_value != "org.freedesktop.DBus.Local";
    out.acceptable = strict;
    return out;
}

// ---- following one connection's byte stream ------------------------------------------------

uint32_t read_u32(const std::vector<uint8_t>& h, size_t at) {
    return h[0] == 'B' ? (uint32_t{h[at]} << 24 | uint32_t{h[at + 1]} << 16 | uint32_t{h[at + 2]} << 8 | h[at + 3])
                       : (uint32_t{h[at + 3]} << 24 | uint32_t{h[at + 2]} << 16 | uint32_t{h[at + 1]} << 8 | h[at]);
}

// The fixed header is in: the message's length and how much of it to keep.
const char* start_message(Stream& s) {
    if (s.header[0] != 'l' && s.header[0] != 'B') return "a message with an invalid byte-order mark";
    const uint64_t body = read_u32(s.header, 4), fields = read_u32(s.header, 12);
    s.total = fixed_header + align8(fields) + body;
    if (s.total >= max_message) return "a message larger than 128 MiB";
    s.fields_too_long = fields > max_fields;
    s.keep = fixed_header + (s.fields_too_long ? 0 : fields);
    return nullptr;
}

// The message is complete: nullptr when its descriptors (if any) may go to sd-bus, else why not.
const char* finish_message(Stream& s) {
    const ParsedHeader h = s.fields_too_long ? ParsedHeader{} : parse_header(s.header);
    if (s.held.empty())
        // Nothing can leak. A message that declares descriptors without any is dropped by sd-bus
        // without a reply; the connection that sent it is closed instead.
        return h.readable && h.unix_fds > 0 ? "a message declaring descriptors that did not come" : nullptr;
    if (!h.acceptable) return "descriptors with a message sd-bus would drop";
    if (h.unix_fds != s.held.size()) return "a message whose descriptors differ from its UNIX_FDS count";
    return nullptr;
}

void next_message(Stream& s) {
    s.header.clear();
    s.seen = s.total = 0;
    s.keep = fixed_header;
    s.fields_too_long = false;
}

// The SASL exchange ends after the line "BEGIN" (bus_socket_auth_verify_server); returns how
// many of `len` bytes were still part of it.
size_t follow_auth(Stream& s, const uint8_t* p, size_t len) {
    size_t i = 0;
    if (s.phase == Stream::Phase::first_byte && len > 0) {
        s.phase = Stream::Phase::auth;  // sd-bus insists on a NUL and fails the connection otherwise
        ++i;
    }
    for (; i < len && s.phase == Stream::Phase::auth; ++i) {
        const char c = static_cast<char>(p[i]);
        if (s.after_cr && c == '\n') {
            const bool begin = s.line_len == 5 && std::memcmp(s.line, "BEGIN", 5) == 0;
            s.line_len = 0;
            s.after_cr = false;
            if (begin) s.phase = Stream::Phase::messages;
            continue;
        }
        if (s.after_cr) {  // a lone CR belongs to the line
            if (s.line_len < sizeof s.line) s.line[s.line_len] = '\r';
            ++s.line_len;
        }
        s.after_cr = c == '\r';
        if (!s.after_cr) {
            if (s.line_len < sizeof s.line) s.line[s.line_len] = c;
            ++s.line_len;
        }
        if (s.line_len > sizeof s.line) s.line_len = sizeof s.line;
    }
    return i;
}

struct Chunk {
    const char* violation = nullptr;
    bool deliver = false;  // the held descriptors go with this chunk
};

// Follows `len` message bytes. A chunk that completes a message and goes on into the next one
// while descriptors are involved is ambiguous (sd-bus never reads across a message's end unless
// the message is shorter than any valid one): refused.
Chunk follow_messages(Stream& s, const uint8_t* p, size_t len, bool more_after) {
    Chunk c;
    while (len > 0) {
        const uint64_t want = s.total ? s.total - s.seen : fixed_header - s.seen;
        const size_t take = static_cast<size_t>(std::min<uint64_t>(len, want));
        const uint64_t keep_room = s.keep > s.header.size() ? s.keep - s.header.size() : 0;
        const size_t kept = static_cast<size_t>(std::min<uint64_t>(take, keep_room));
        s.header.insert(s.header.end(), p, p + kept);
        s.seen += take;
        p += take;
        len -= take;
        if (!s.total && s.seen == fixed_header) {
            if ((c.violation = start_message(s))) return c;
        }
        if (s.total && s.seen == s.total) {
            if (!s.held.empty() && (len > 0 || more_after)) {
                c.violation = "descriptors with a message that ends inside a read";
                return c;
            }
            if ((c.violation = finish_message(s))) return c;
            c.deliver = !s.held.empty();
            next_message(s);
        }
    }
    return c;
}

std::vector<int> take_descriptors(msghdr* msg) {
    std::vector<int> fds;
    if (!msg->msg_control || msg->msg_controllen == 0) return fds;
    for (cmsghdr* c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        const size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const auto* data = reinterpret_cast<const int*>(CMSG_DATA(c));
        for (size_t i = 0; i < n; ++i) {
            int fd;
            std::memcpy(&fd, data + i, sizeof fd);
            fds.push_back(fd);
        }
    }
    return fds;
}

// Writes `fds` as the only control message, if the caller's buffer has room.
bool put_descriptors(msghdr* msg, size_t capacity, const std::vector<int>& fds) {
    const size_t need = CMSG_SPACE(fds.size() * sizeof(int));
    if (!msg->msg_control || capacity < need) return false;
    std::memset(msg->msg_control, 0, need);
    msg->msg_controllen = need;
    cmsghdr* c = CMSG_FIRSTHDR(msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
    return true;
}

ssize_t refuse(Stream& s, int fd, const char* why) {
    log::notice("closing connection on fd {}: {} ({} descriptor{} closed)", fd, why, s.held.size(),
                s.held.size() == 1 ? "" : "s");
    close_all(s.held);
    s.phase = Stream::Phase::broken;
    errno = EBADMSG;
    return -1;
}

ssize_t guarded_recvmsg(Stream& s, int fd, msghdr* msg, int flags) {
    if (s.phase == Stream::Phase::broken) {
        errno = EBADMSG;
        return -1;
    }
    const size_t capacity = msg->msg_control ? msg->msg_controllen : 0;
    const ssize_t n = raw_recvmsg(fd, msg, flags);
    if (n < 0 || (flags & MSG_PEEK)) return n;
    std::vector<int> got = take_descriptors(msg);
    if (n == 0) {  // end of file: nothing more comes with these
        close_all(got);
        msg->msg_controllen = 0;
        return 0;
    }
    const bool in_auth = s.phase != Stream::Phase::messages;
    // During the SASL exchange sd-bus closes any descriptor itself and fails the connection:
    // those are left as they came.
    if (!in_auth) {
        s.held.insert(s.held.end(), got.begin(), got.end());
        got.clear();
        msg->msg_controllen = 0;
    }
    size_t left = static_cast<size_t>(n);
    bool deliver = false;
    for (size_t i = 0; i < msg->msg_iovlen && left > 0; ++i) {
        const auto* base = static_cast<const uint8_t*>(msg->msg_iov[i].iov_base);
        size_t len = std::min(left, msg->msg_iov[i].iov_len);
        left -= len;
        if (s.phase != Stream::Phase::messages) {
            const size_t used = follow_auth(s, base, len);
            base += used;
            len -= used;
        }
        if (len == 0) continue;
        const Chunk c = follow_messages(s, base, len, left > 0);
        if (c.violation) {
            close_all(got);
            return refuse(s, fd, c.violation);
        }
        deliver |= c.deliver;
    }
    if (in_auth) return n;
    msg->msg_flags &= ~MSG_CTRUNC;
    if (!deliver) return n;
    if (!put_descriptors(msg, capacity, s.held)) return refuse(s, fd, "more descriptors than sd-bus can take");
    s.held.clear();  // sd-bus owns them now
    return n;
}

}  // namespace

std::optional<uint32_t> accepted_unix_fds(std::span<const uint8_t> header) noexcept {
    try {
        const ParsedHeader h = parse_header(header);
        if (!h.acceptable) return std::nullopt;
        return h.unix_fds;
    } catch (...) {
        return std::nullopt;
    }
}

bool watch(int fd) noexcept {
    if (fd < 0 || fd >= max_watched_fd) return false;
    Stream* s = new (std::nothrow) Stream;
    if (!s) return false;
    delete streams[fd].exchange(s, std::memory_order_acq_rel);
    return true;
}

void unwatch(int fd) noexcept {
    if (fd < 0 || fd >= max_watched_fd) return;
    Stream* s = streams[fd].exchange(nullptr, std::memory_order_acq_rel);
    if (!s) return;
    close_all(s->held);
    delete s;
}

}  // namespace offshoot::worker::fd_guard

// The interposer. offshoot-worker defines recvmsg(), so the dynamic linker binds libsystemd's
// calls (and everyone else's) to this one; descriptors the guard does not watch go straight to
// the kernel.
extern "C" ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
    using namespace offshoot::worker::fd_guard;
    Stream* s = fd >= 0 && fd < max_watched_fd ? streams[fd].load(std::memory_order_acquire) : nullptr;
    if (!s) return raw_recvmsg(fd, msg, flags);
    try {
        return guarded_recvmsg(*s, fd, msg, flags);
    } catch (...) {  // out of memory: fail the read, which closes the connection
        errno = ENOMEM;
        return -1;
    }
}

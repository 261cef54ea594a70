// wire.cpp — the raw end of the fuzz targets' D-Bus connection: hand-written SASL, message
// headers marshalled here, replies counted as they come back.
#include "wire.hpp"

#include <systemd/sd-id128.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

namespace offshoot::fuzz {

bool valid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        const unsigned c = *p;
        const int len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (len == 0 || c == 0 || end - p < len) return false;
        uint32_t cp = len == 1 ? c : c & (0x7fu >> len);
        for (int k = 1; k < len; ++k) {
            if ((p[k] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (p[k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += len;
    }
    return true;
}

void finding(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::fputs("offshoot fuzz finding: ", stderr);
    std::vfprintf(stderr, fmt, ap);
    std::fputc('\n', stderr);
    va_end(ap);
    std::abort();
}

namespace {

[[noreturn]] void setup_failed(const char* what, int r) {
    std::fprintf(stderr, "offshoot fuzz: %s: %s\n", what, std::strerror(r < 0 ? -r : r));
    std::exit(2);
}

void check(int r, const char* what) {
    if (r < 0) setup_failed(what, r);
}

constexpr size_t align8(size_t n) { return (n + 7) & ~size_t{7}; }

// D-Bus message types and header fields (the specification's numbers).
constexpr uint8_t type_method_call = 1, type_method_return = 2, type_error = 3;
constexpr uint8_t flag_no_reply_expected = 0x1;
constexpr uint8_t field_path = 1, field_interface = 2, field_member = 3, field_signature = 8,
                  field_unix_fds = 9;

// Length of the single complete type at the start of `sig` (sig is assumed valid).
size_t complete_type_length(std::string_view sig) {
    if (sig.empty()) return 0;
    switch (sig[0]) {
    case 'a': return 1 + complete_type_length(sig.substr(1));
    case '(':
    case '{': {
        const char close = sig[0] == '(' ? ')' : '}';
        size_t k = 1;
        while (k < sig.size() && sig[k] != close) k += complete_type_length(sig.substr(k));
        return k + 1;
    }
    default: return 1;
    }
}

void sample_one(Writer& w, std::string_view type, int flavour, int depth) {
    switch (type[0]) {
    case 'y': return w.y(flavour == 2 ? 255 : 7);
    case 'b': return w.b(flavour != 0);
    case 'n': return w.n(flavour == 2 ? std::numeric_limits<int16_t>::min() : -3);
    case 'q': return w.q(flavour == 2 ? 65535 : 3);
    case 'i': return w.i(flavour == 2 ? std::numeric_limits<int32_t>::min() : -42);
    case 'u': return w.u(flavour == 2 ? UINT32_MAX : 1000);
    case 'x': return w.x(flavour == 2 ? std::numeric_limits<int64_t>::min() : -5);
    case 't': return w.t(flavour == 2 ? UINT64_MAX : 5);
    case 'd': return w.d(flavour == 2 ? std::nan("") : 1.5);
    case 'h': return w.h(0);
    case 's': return w.s(flavour == 0 ? "hello" : flavour == 1 ? "gr\xc3\xbc\xc3\x9f" "e, welt" : "");
    case 'o': return w.s(flavour == 0 ? "/" : "/org/offshoot1/object");
    case 'g': return w.g(flavour == 0 ? "" : "a{sv}(i(s(bd)))");
    case 'a': {
        const std::string_view element = type.substr(1, complete_type_length(type.substr(1)));
        const int count = flavour == 0 ? 1 : flavour == 1 ? 3 : 0;
        auto a = w.begin_array(alignment_of(element[0]));
        for (int k = 0; k < count; ++k) sample_one(w, element, flavour, depth + 1);
        w.end_array(a);
        return;
    }
    case '(':
    case '{': {
        w.align(8);
        std::string_view inner = type.substr(1, type.size() - 2);
        while (!inner.empty()) {
            const size_t len = complete_type_length(inner);
            sample_one(w, inner.substr(0, len), flavour, depth + 1);
            inner.remove_prefix(len);
        }
        return;
    }
    case 'v': {
        // Small: a string. Larger: a dictionary of variants, three levels down. Edge: a
        // variant of a variant of … of an empty array.
        const char* content = flavour == 0 ? "s" : flavour == 1 ? (depth < 3 ? "a{sv}" : "(ias)")
                                                                : (depth < 8 ? "v" : "aay");
        w.v(content);
        sample_one(w, content, flavour, depth + 1);
        return;
    }
    default: return;
    }
}

// OFFSHOOT_FUZZ_VERBOSE=1: print each reply (for reviewing seeds).
bool verbose() {
    static const bool on = std::getenv("OFFSHOOT_FUZZ_VERBOSE") != nullptr;
    return on;
}

struct ErrorReply {
    std::string name, message;
};

// The error name and message of one whole little-endian error reply (sd-bus writes its own
// byte order).
ErrorReply parse_error(std::string_view m) {
    auto u32 = [&m](size_t at) {
        uint32_t v = 0;
        for (int k = 3; k >= 0; --k) v = v << 8 | static_cast<unsigned char>(m[at + static_cast<size_t>(k)]);
        return v;
    };
    ErrorReply e;
    const size_t fields_end = 16 + u32(12);
    for (size_t at = 16; at < fields_end;) {
        at = (at + 7) & ~size_t{7};
        const char code = m[at];
        const size_t sig_len = static_cast<unsigned char>(m[at + 1]);
        const char type = m[at + 2];
        at += 3 + sig_len;
        if (type == 's' || type == 'o') {
            at = (at + 3) & ~size_t{3};
            const uint32_t len = u32(at);
            if (code == 4) e.name.assign(m.substr(at + 4, len));
            at += 4 + len + 1;
        } else if (type == 'g') {
            at += 1 + static_cast<unsigned char>(m[at]) + 1;
        } else {
            at = ((at + 3) & ~size_t{3}) + 4;
        }
    }
    const size_t body = align8(fields_end);
    if (m.size() >= body + 4) e.message.assign(m.substr(body + 4, u32(body)));
    return e;
}

// D-Bus error names follow the interface-name rules: 2+ elements of [A-Za-z_][A-Za-z0-9_]*,
// at most 255 bytes. A client's sd-bus drops a reply whose name breaks them.
bool valid_error_name(std::string_view n) {
    if (n.empty() || n.size() > 255) return false;
    int elements = 0;
    size_t start = 0;
    for (;;) {
        const size_t dot = n.find('.', start);
        const std::string_view e = n.substr(start, dot == std::string_view::npos ? n.npos : dot - start);
        if (e.empty() || std::isdigit(static_cast<unsigned char>(e[0]))) return false;
        for (char c : e)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
        ++elements;
        if (dot == std::string_view::npos) return elements >= 2;
        start = dot + 1;
    }
}

void check_reply(std::string_view m) {
    if (m[0] != 'l' || m[1] != type_error) {
        if (verbose()) std::fprintf(stderr, "reply: return\n");
        return;
    }
    const ErrorReply e = parse_error(m);
    if (verbose()) std::fprintf(stderr, "reply: error %s: %.200s\n", e.name.c_str(), e.message.c_str());
    if (!valid_error_name(e.name)) finding("an error reply is named '%.300s', which is not a valid D-Bus error name", e.name.c_str());
    if (!valid_utf8(e.message)) finding("an error reply's message is not UTF-8");
}

}  // namespace

// --- Writer -------------------------------------------------------------------------------

void Writer::align(size_t n) {
    while (buf_.size() % n) buf_ += '\0';
}

void Writer::put(uint64_t v, int width) {
    align(static_cast<size_t>(width));
    for (int k = 0; k < width; ++k) {
        const int shift = 8 * (big_endian_ ? width - 1 - k : k);
        buf_ += static_cast<char>((v >> shift) & 0xff);
    }
}

void Writer::d(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    t(bits);
}

void Writer::s(std::string_view v) {
    u(static_cast<uint32_t>(v.size()));
    buf_ += v;
    buf_ += '\0';
}

void Writer::g(std::string_view v) {
    y(static_cast<uint8_t>(v.size()));
    buf_ += v;
    buf_ += '\0';
}

Writer::Array Writer::begin_array(size_t element_alignment) {
    u(0);
    Array a{buf_.size() - 4, 0};
    align(element_alignment);
    a.first = buf_.size();
    return a;
}

void Writer::end_array(Array a) {
    const auto length = static_cast<uint32_t>(buf_.size() - a.first);
    for (int k = 0; k < 4; ++k) {
        const int shift = 8 * (big_endian_ ? 3 - k : k);
        buf_[a.length_at + static_cast<size_t>(k)] = static_cast<char>((length >> shift) & 0xff);
    }
}

size_t alignment_of(char type) {
    switch (type) {
    case 'n':
    case 'q': return 2;
    case 'b':
    case 'i':
    case 'u':
    case 'h':
    case 's':
    case 'o':
    case 'a': return 4;
    case 'x':
    case 't':
    case 'd':
    case '(':
    case '{': return 8;
    default: return 1;  // y, g, v
    }
}

void write_sample(Writer& w, std::string_view signature, int flavour) {
    while (!signature.empty()) {
        const size_t len = complete_type_length(signature);
        sample_one(w, signature.substr(0, len), flavour, 0);
        signature.remove_prefix(len);
    }
}

// --- Peer ---------------------------------------------------------------------------------

Peer::Peer(std::function<void(sd_bus*)> attach) : attach_(std::move(attach)) {
    null_fd_ = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd_ < 0) setup_failed("open /dev/null", errno);
    connect();
}

Peer::~Peer() {
    if (dropped_)
        std::fprintf(stderr, "offshoot fuzz: %llu of %llu calls made sd-bus give up the connection\n",
                     static_cast<unsigned long long>(dropped_), static_cast<unsigned long long>(serial_));
    disconnect();
    if (null_fd_ >= 0) ::close(null_fd_);
}

void Peer::connect() {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
        setup_failed("socketpair", errno);
    raw_ = sv[1];
    sd_id128_t id;
    check(sd_id128_randomize(&id), "sd_id128_randomize");
    check(sd_bus_new(&server_), "sd_bus_new");
    check(sd_bus_set_fd(server_, sv[0], sv[0]), "sd_bus_set_fd");
    check(sd_bus_set_server(server_, 1, id), "sd_bus_set_server");
    check(sd_bus_negotiate_fds(server_, 1), "sd_bus_negotiate_fds");
    attach_(server_);
    check(sd_bus_start(server_), "sd_bus_start");
    authenticate();
}

void Peer::disconnect() {
    server_ = sd_bus_close_unref(server_);
    if (raw_ >= 0) ::close(raw_);
    raw_ = -1;
    inbox_.clear();
}

void Peer::authenticate() {
    // SASL EXTERNAL as ourselves (the server checks it against SO_PEERCRED), then ask for
    // descriptor passing so that 'h' arguments can be sent.
    const std::string uid = std::to_string(::getuid());
    std::string auth(1, '\0');
    auth += "AUTH EXTERNAL ";
    for (unsigned char c : uid) {
        static constexpr char hex[] = "0123456789abcdef";
        auth += hex[c >> 4];
        auth += hex[c & 0xf];
    }
    auth += "\r\n";

    auto exchange = [this](const std::string& line, const char* expect) {
        if (::send(raw_, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
            setup_failed("SASL send", errno);
        std::string got;
        for (int round = 0; round < 1000; ++round) {
            const int r = sd_bus_process(server_, nullptr);
            if (r < 0) setup_failed("sd_bus_process during SASL", r);
            char buf[256];
            const ssize_t n = ::read(raw_, buf, sizeof buf);
            if (n > 0) got.append(buf, static_cast<size_t>(n));
            if (got.find("\r\n") != std::string::npos) {
                if (got.rfind(expect, 0) != 0) {
                    std::fprintf(stderr, "offshoot fuzz: SASL: expected %s, got %s\n", expect, got.c_str());
                    std::exit(2);
                }
                return;
            }
            if (r == 0) {
                pollfd p{raw_, POLLIN, 0};
                ::poll(&p, 1, 10);
            }
        }
        setup_failed("SASL: no answer", ETIMEDOUT);
    };
    exchange(auth, "OK ");
    exchange("NEGOTIATE_UNIX_FD\r\n", "AGREE_UNIX_FD");
    static constexpr char begin[] = "BEGIN\r\n";
    if (::send(raw_, begin, sizeof begin - 1, MSG_NOSIGNAL) != sizeof begin - 1) setup_failed("SASL send", errno);
    for (int round = 0; round < 1000 && sd_bus_is_ready(server_) <= 0; ++round) {
        const int r = sd_bus_process(server_, nullptr);
        if (r < 0) setup_failed("sd_bus_process after BEGIN", r);
        if (r == 0) {
            pollfd p{raw_, POLLIN, 0};
            ::poll(&p, 1, 1);
        }
    }
    if (sd_bus_is_ready(server_) <= 0) setup_failed("the server connection never became ready", ETIMEDOUT);
}

bool Peer::write_all(const std::string& message, unsigned n_fds) {
    size_t off = 0;
    bool fds_sent = n_fds == 0;
    while (off < message.size()) {
        ssize_t n;
        if (!fds_sent) {
            int fds[4] = {null_fd_, null_fd_, null_fd_, null_fd_};
            alignas(cmsghdr) char control[CMSG_SPACE(sizeof fds)] = {};
            iovec iov{const_cast<char*>(message.data() + off), message.size() - off};
            msghdr mh{};
            mh.msg_iov = &iov;
            mh.msg_iovlen = 1;
            mh.msg_control = control;
            mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
            cmsghdr* c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
            std::memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
            n = ::sendmsg(raw_, &mh, MSG_NOSIGNAL);
            if (n > 0) fds_sent = true;
        } else {
            n = ::send(raw_, message.data() + off, message.size() - off, MSG_NOSIGNAL);
        }
        if (n > 0) {
            off += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) finding("cannot write to the server: %s", std::strerror(errno));
        // The socket is full: let the server read (and answer) before writing on.
        if (!pump()) return false;
        pollfd p{raw_, POLLOUT, 0};
        ::poll(&p, 1, 100);
    }
    return true;
}

bool Peer::pump() {
    for (int round = 0;; ++round) {
        int r;
        while ((r = sd_bus_process(server_, nullptr)) > 0) {
        }
        replies_pending_ += drain();
        if (r < 0) {
            // sd-bus itself refused the message (sd_bus_process fails: under sd-event, as in
            // offshoot-worker, the connection is then closed). sd-bus 252 does this for a
            // Properties.Set whose variant is malformed, before any offshoot code runs.
            if (verbose()) std::fprintf(stderr, "sd-bus dropped the connection: %s\n", std::strerror(-r));
            return false;
        }
        const int events = sd_bus_get_events(server_);
        if (events < 0) finding("sd_bus_get_events: %s", std::strerror(-events));
        if (!(events & POLLOUT)) return true;  // nothing left to write
        if (round > 10000) finding("the server cannot flush its replies");
        pollfd p{raw_, POLLIN, 0};
        ::poll(&p, 1, 1);
    }
}

unsigned Peer::drain() {
    unsigned count = 0;
    for (;;) {
        char buf[65536];
        const ssize_t n = ::read(raw_, buf, sizeof buf);
        if (n > 0) {
            inbox_.append(buf, static_cast<size_t>(n));
            continue;
        }
        if (n == 0) finding("the server closed the connection");
        if (errno == EINTR) continue;
        if (errno != EAGAIN) finding("cannot read from the server: %s", std::strerror(errno));
        break;
    }
    size_t off = 0;
    while (inbox_.size() - off >= 16) {
        const auto* p = reinterpret_cast<const unsigned char*>(inbox_.data() + off);
        const bool be = p[0] == 'B';
        auto u32 = [&](size_t at) {
            return be ? (uint32_t{p[at]} << 24 | uint32_t{p[at + 1]} << 16 | uint32_t{p[at + 2]} << 8 | p[at + 3])
                      : (uint32_t{p[at + 3]} << 24 | uint32_t{p[at + 2]} << 16 | uint32_t{p[at + 1]} << 8 | p[at]);
        };
        const size_t total = 16 + align8(u32(12)) + u32(4);
        if (inbox_.size() - off < total) break;
        if (p[1] == type_method_return || p[1] == type_error) {
            ++count;
            check_reply(std::string_view(inbox_).substr(off, total));
        }
        off += total;
    }
    inbox_.erase(0, off);
    return count;
}

void Peer::deliver(const Call& call, std::string_view body) {
    Writer w(call.big_endian);
    w.y(call.big_endian ? 'B' : 'l');
    w.y(type_method_call);
    w.y(call.expect_reply ? 0 : flag_no_reply_expected);
    w.y(1);  // protocol version
    w.u(static_cast<uint32_t>(body.size()));
    if (++serial_ == 0) serial_ = 1;
    w.u(serial_);
    auto fields = w.begin_array(8);
    auto field = [&w](uint8_t code, const char* type) {
        w.align(8);
        w.y(code);
        w.v(type);
    };
    field(field_path, "o");
    w.s(call.path);
    if (call.interface) {
        field(field_interface, "s");
        w.s(call.interface);
    }
    field(field_member, "s");
    w.s(call.member);
    if (!call.signature.empty()) {
        field(field_signature, "g");
        w.g(call.signature);
    }
    if (call.n_fds) {
        field(field_unix_fds, "u");
        w.u(call.n_fds);
    }
    w.end_array(fields);
    w.align(8);
    w.raw(body);

    if (call.n_fds > 4) finding("at most 4 descriptors per call");
    replies_pending_ = 0;
    if (!write_all(w.bytes(), call.n_fds) || !pump()) {
        ++dropped_;
        disconnect();
        connect();
        return;
    }
    const unsigned expected = call.expect_reply ? 1 : 0;
    if (replies_pending_ != expected)
        finding("%s.%s(%.*s): %u replies, expected %u (a caller would %s)", call.interface ? call.interface : "",
                call.member, static_cast<int>(call.signature.size()), call.signature.data(), replies_pending_,
                expected, replies_pending_ < expected ? "wait until its timeout" : "see a stray reply");
    replies_ += replies_pending_;
}

// --- seeds --------------------------------------------------------------------------------

const char* seed_dir() { return std::getenv("OFFSHOOT_FUZZ_WRITE_SEEDS"); }

void write_seed(std::string_view name_hint, std::string_view bytes) {
    std::string path = seed_dir();
    path += '/';
    for (char c : name_hint) path += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0)
        setup_failed(path.c_str(), errno);
}

}  // namespace offshoot::fuzz

// log.cpp — leveled logging to the journal (native protocol, structured fields) or to stderr.
#include "offshoot/common/log.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace offshoot::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::atomic<const char*> g_ident{"offshoot"};

// JOURNAL_STREAM="<dev>:<inode>" is set by systemd when it connects stdout/stderr to journald;
// it only means something if stderr is still that very stream (not redirected since).
bool stderr_is_journal_stream() noexcept {
    const char* e = ::getenv("JOURNAL_STREAM");
    if (!e) return false;
    unsigned long long dev = 0, ino = 0;
    const char* end = e + std::strlen(e);
    auto [p, ec] = std::from_chars(e, end, dev);
    if (ec != std::errc() || p == end || *p != ':') return false;
    auto [q, ec2] = std::from_chars(p + 1, end, ino);
    if (ec2 != std::errc() || q != end) return false;
    struct stat st {};
    if (::fstat(STDERR_FILENO, &st) < 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

struct Sink {
    bool journal = false;       // native journal protocol
    bool stderr_prefix = false;  // stderr is a journal stream: "<N>" prefixes carry the level
};

const Sink& sink() noexcept {
    static const Sink s = [] {
        Sink r;
        r.stderr_prefix = stderr_is_journal_stream();
        // A service started by systemd (INVOCATION_ID) on a systemd system logs natively even
        // if its stderr was pointed elsewhere (StandardError=null, a tty, a file).
        r.journal = r.stderr_prefix || (sd_booted() > 0 && ::getenv("INVOCATION_ID") != nullptr);
        // systemd's own override: SYSTEMD_LOG_TARGET=console (stderr) or journal.
        if (const char* t = ::getenv("SYSTEMD_LOG_TARGET")) {
            const std::string_view target{t};
            if (target == "console") r.journal = false;
            else if (target == "journal" || target == "journal-or-kmsg") r.journal = true;
        }
        return r;
    }();
    return s;
}

void write_stderr(Level l, std::string_view raw) noexcept {
    try {
        const std::string message = escape(raw);
        std::string line = sink().stderr_prefix
            ? fmt::format("<{}>{}: {}\n", static_cast<int>(l), g_ident.load(), message)
            : fmt::format("{}: {}\n", g_ident.load(), message);
        (void)!::write(STDERR_FILENO, line.data(), line.size());
    } catch (...) {
    }
}

// Sends one entry with the native protocol. False if journald could not take it.
bool send_journal(Level l, const char* message_id, std::span<const Field> fields, std::string_view message) noexcept {
    try {
        std::vector<std::string> items;
        items.reserve(4 + fields.size());
        items.push_back("MESSAGE=" + escape(message));
        items.push_back(fmt::format("PRIORITY={}", static_cast<int>(l)));
        items.push_back(fmt::format("SYSLOG_IDENTIFIER={}", g_ident.load()));
        if (message_id) items.push_back(fmt::format("MESSAGE_ID={}", message_id));
        for (auto& f : fields) items.push_back(fmt::format("{}={}", f.name, f.value));
        std::vector<iovec> iov;
        iov.reserve(items.size());
        for (auto& s : items) iov.push_back({s.data(), s.size()});
        return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0;
    } catch (...) {
        return false;
    }
}

}  // namespace

std::string escape(std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                out += "\\x";
                out += hex[c >> 4];
                out += hex[c & 15];
            } else {
                out += ch;
            }
        }
    }
    return out;
}

void set_level(Level l) noexcept { g_level = static_cast<int>(l); }
Level level() noexcept { return static_cast<Level>(g_level.load()); }
void set_identifier(const char* ident) noexcept { g_ident = ident; }
bool to_journal() noexcept { return sink().journal; }

bool parse_level(std::string_view t, Level& out) noexcept {
    struct { std::string_view name; Level l; } const names[] = {
        {"emerg", Level::err}, {"alert", Level::err}, {"crit", Level::err},
        {"err", Level::err}, {"error", Level::err}, {"warning", Level::warning},
        {"notice", Level::notice}, {"info", Level::info}, {"debug", Level::debug}};
    for (auto& n : names)
        if (t == n.name) { out = n.l; return true; }
    int v = -1;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || p != t.data() + t.size() || v < 0 || v > 7) return false;
    // The daemon never logs above "err"; stricter settings mean "errors only".
    out = static_cast<Level>(v < 3 ? 3 : v);
    return true;
}

void write(Level l, std::string_view message) noexcept { write_event(l, nullptr, {}, message); }

void write_event(Level l, const char* message_id, std::span<const Field> fields, std::string_view message) noexcept {
    if (sink().journal && send_journal(l, message_id, fields, message)) return;
    write_stderr(l, message);
}

Fd open_journal_stream(const std::string& identifier, Level priority) noexcept {
    if (!sink().journal) return {};
    int fd = sd_journal_stream_fd(identifier.c_str(), static_cast<int>(priority), /* level_prefix= */ 1);
    return fd < 0 ? Fd{} : Fd{fd};
}

}  // namespace offshoot::log

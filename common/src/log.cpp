// log.cpp — leveled logging to stderr with sd-daemon priority prefixes.
#include "offshoot/common/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <charconv>
#include <string>

namespace offshoot::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};
const char* g_ident = "offshoot";
}  // namespace

void set_level(Level l) noexcept { g_level = static_cast<int>(l); }
Level level() noexcept { return static_cast<Level>(g_level.load()); }
void set_identifier(const char* ident) noexcept { g_ident = ident; }

bool parse_level(std::string_view t, Level& out) noexcept {
    struct { std::string_view name; Level l; } const names[] = {
        {"err", Level::err}, {"error", Level::err}, {"warning", Level::warning},
        {"notice", Level::notice}, {"info", Level::info}, {"debug", Level::debug}};
    for (auto& n : names)
        if (t == n.name) { out = n.l; return true; }
    int v = -1;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || p != t.data() + t.size() || v < 0 || v > 7) return false;
    out = static_cast<Level>(v < 3 ? 3 : v);
    return true;
}

void write(Level l, std::string_view message) noexcept {
    try {
        // The "<N>" priority prefix only means something to journald (JOURNAL_STREAM is set
        // when stderr is connected to it); a person reading a terminal gets plain lines.
        static const bool to_journal = ::getenv("JOURNAL_STREAM") != nullptr;
        std::string line = to_journal
            ? fmt::format("<{}>{}: {}\n", static_cast<int>(l), g_ident, message)
            : fmt::format("{}: {}\n", g_ident, message);
        (void)!::write(STDERR_FILENO, line.data(), line.size());
    } catch (...) {
    }
}

}  // namespace offshoot::log

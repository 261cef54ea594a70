// offshoot/common/log.hpp — leveled logging for offshootd and offshoot-worker.
//
// Lines go to stderr as "offshootd: message"; when stderr is journald's (JOURNAL_STREAM),
// with sd-daemon's "<level>" prefix so journald assigns the priority.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace offshoot::log {

enum class Level { err = 3, warning = 4, notice = 5, info = 6, debug = 7 };

void set_level(Level level) noexcept;
Level level() noexcept;
// Parses "err", "warning", "notice", "info", "debug" or a number 0..7.
bool parse_level(std::string_view text, Level& out) noexcept;
void set_identifier(const char* ident) noexcept;

void write(Level level, std::string_view message) noexcept;

template <class... A>
void at(Level l, fmt::format_string<A...> f, A&&... args) {
    if (static_cast<int>(l) <= static_cast<int>(level()))
        write(l, fmt::format(f, std::forward<A>(args)...));
}
template <class... A>
void error(fmt::format_string<A...> f, A&&... args) { at(Level::err, f, std::forward<A>(args)...); }
template <class... A>
void warning(fmt::format_string<A...> f, A&&... args) { at(Level::warning, f, std::forward<A>(args)...); }
template <class... A>
void notice(fmt::format_string<A...> f, A&&... args) { at(Level::notice, f, std::forward<A>(args)...); }
template <class... A>
void info(fmt::format_string<A...> f, A&&... args) { at(Level::info, f, std::forward<A>(args)...); }
template <class... A>
void debug(fmt::format_string<A...> f, A&&... args) { at(Level::debug, f, std::forward<A>(args)...); }

}  // namespace offshoot::log

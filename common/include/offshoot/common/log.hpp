// offshoot/common/log.hpp — leveled, structured logging for offshootd and offshoot-worker.
//
// Where lines go is decided once, at the first message:
// - the journal's native protocol (sd_journal_sendv), when the process runs under systemd:
//   stderr is journald's (JOURNAL_STREAM names stderr's device and inode), or the system was
//   booted by systemd and the service manager started us (INVOCATION_ID is set). Each entry
//   carries PRIORITY=, SYSLOG_IDENTIFIER=, and for events MESSAGE_ID= and OFFSHOOT_* fields;
// - stderr otherwise, as "offshootd: message" (with sd-daemon's "<N>" prefix if stderr is a
//   journal stream after all, so journald still gets the priority).
// SYSTEMD_LOG_TARGET=console forces stderr, =journal the journal (systemd's own convention).
// A journal that cannot be reached falls back to stderr for that entry.
#pragma once

#include "offshoot/common/fd.hpp"

#include <fmt/format.h>

#include <concepts>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace offshoot::log {

enum class Level { err = 3, warning = 4, notice = 5, info = 6, debug = 7 };

void set_level(Level level) noexcept;
Level level() noexcept;
inline bool enabled(Level l) noexcept { return static_cast<int>(l) <= static_cast<int>(level()); }
// Parses "err", "warning", "notice", "info", "debug" or a number 0..7.
bool parse_level(std::string_view text, Level& out) noexcept;
void set_identifier(const char* ident) noexcept;
// True when entries go to the journal (see the top of this file).
bool to_journal() noexcept;

// MESSAGE_ID= values of the supervisor's events (`journalctl MESSAGE_ID=…`). Fixed forever:
// tools and alerts match on them. Listed in docs/system-service.md.
namespace message_id {
// An instance's worker reported ready: the object is callable.
inline constexpr const char* spawn = "dfac995c18f04e429c101e6c9517d180";
// An instance's process ended (OFFSHOOT_RESULT=, OFFSHOOT_EXIT_CODE=/OFFSHOOT_EXIT_SIGNAL=).
inline constexpr const char* exit = "2933407afb0f4669976441ba101cb335";
// A request was refused with org.offshoot1.Error.AccessDenied (OFFSHOOT_CALLER_UID=).
inline constexpr const char* deny = "ab5457fd91554362ba27187ab7b29e96";
// A launch failed before the worker was ready (OFFSHOOT_SPAWN_ERROR=).
inline constexpr const char* spawn_failed = "e645b4fb7b404d0eb54cfeb75b679c4d";
// offshootd asked an instance to stop (Stop, Release, the owner leaving, or shutdown).
inline constexpr const char* stop = "6129d2aac97648fa937ed642dfda2734";
// A class configuration file gives no usable class (OFFSHOOT_CLASS_CONFIG=, OFFSHOOT_CLASS_PROBLEM=).
inline constexpr const char* class_broken = "d049a6de434f4b829d105dc8dc2f13b1";
// An instance is restarted by its policy, or no longer (Restart=; OFFSHOOT_RESULT= is why:
// the end that caused the restart, or start-limit-hit).
inline constexpr const char* restart = "9799115eceed40dd8aaa6ce877a22565";
}  // namespace message_id

// One journal field, e.g. {"OFFSHOOT_INSTANCE", id}. Names follow journald's rules
// (upper-case letters, digits, underscores; not starting with an underscore).
struct Field {
    std::string_view name;
    std::string value;
    Field(std::string_view n, std::string_view v) : name(n), value(v) {}
    Field(std::string_view n, const std::string& v) : name(n), value(v) {}
    Field(std::string_view n, const char* v) : name(n), value(v ? v : "") {}
    template <std::integral T>
    Field(std::string_view n, T v) : name(n), value(std::to_string(v)) {}
};
using Fields = std::initializer_list<Field>;
// Fields built up in code (a common set plus extras, e.g. Instance::fields()).
using FieldList = std::vector<Field>;

// A caller's string may hold control characters; written raw, a "\n" would start a line
// that looks like one of ours. So every message is escaped before it is written, on stderr
// and in the journal's MESSAGE= alike: control characters (and DEL) become \n, \r, \t or
// \xNN, a backslash becomes \\ (so an escape can't be forged either). Structured fields
// (OFFSHOOT_*) go to the journal unchanged: journald stores them length-delimited.
std::string escape(std::string_view text);

void write(Level level, std::string_view message) noexcept;
// An entry with MESSAGE_ID= (may be null) and extra fields. On stderr only the message shows.
void write_event(Level level, const char* message_id, std::span<const Field> fields, std::string_view message) noexcept;

// A journal stream for a child's stdout/stderr (sd_journal_stream_fd): lines it writes become
// entries with SYSLOG_IDENTIFIER=`identifier` at `priority`, or at the "<N>" level a line
// starts with. An empty Fd when entries do not go to the journal or journald can't be reached.
Fd open_journal_stream(const std::string& identifier, Level priority) noexcept;

template <class... A>
void at(Level l, fmt::format_string<A...> f, A&&... args) {
    if (enabled(l)) write(l, fmt::format(f, std::forward<A>(args)...));
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

// A structured event:
//   log::event(log::Level::info, log::message_id::spawn,
//              {{"OFFSHOOT_INSTANCE", id}, {"OFFSHOOT_CLASS", "Counter"}, {"OFFSHOOT_UID", 65534}},
//              "instance {} ({}) ready", id, "Counter");
template <class... A>
void event(Level l, const char* message_id, Fields fields, fmt::format_string<A...> f, A&&... args) {
    if (enabled(l))
        write_event(l, message_id, std::span<const Field>(fields.begin(), fields.size()), fmt::format(f, std::forward<A>(args)...));
}
template <class... A>
void event(Level l, const char* message_id, const FieldList& fields, fmt::format_string<A...> f, A&&... args) {
    if (enabled(l)) write_event(l, message_id, fields, fmt::format(f, std::forward<A>(args)...));
}

}  // namespace offshoot::log

// offshoot/wire/readiness.hpp — how a worker comes into the world, the descriptor half of the
// contract between offshootd and the worker (worker_command.hpp is the argv half).
//
// offshootd binds the instance's listening socket, forks, applies the credentials and execs
// offshoot-worker with:
//   fd 3  the listening socket (LISTEN_FDS=1, LISTEN_PID=<worker pid>: systemd's
//         socket-activation convention, so the worker needs no access to the runtime dir)
//   fd 4  the readiness channel, an AF_UNIX SOCK_SEQPACKET socket (OFFSHOOT_NOTIFY_FD=4)
//
// Over the readiness channel the worker — or the spawn child before exec — sends one datagram
// of sd_notify-style KEY=VALUE lines:
//   READY=1                                    the object is registered and callable
//   ERROR=<step>\nERRNO=<n>\nMESSAGE=<text>    start-up failed at <step> (MESSAGE= optional);
//                                              the process exits
// End of file without either means the process died before it got that far. A plain object's
// or a loop's worker closes the channel after READY=1. A task's keeps it open and, when run()
// has handed a value back (offshoot::Task::set_return_value), sends one more datagram just
// before it exits, the value in a token notation of its own (values may hold newlines, never
// NUL: D-Bus strings cannot):
//   VALUE=<signature>\n<token>\0<token>\0…     at most max_value_message bytes in all
// <signature> is one complete D-Bus type without 'h'; the tokens follow it depth first: a
// basic value is one token (integers in decimal, b as 0/1, d in std::to_chars' hexadecimal
// form — exact —, s/o/g as they are); an array is its element count, then its elements; a
// struct or dict entry its members; a variant the contained signature, then its value.
// offshootd takes at most one VALUE datagram per process and then closes the channel.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace offshoot::wire {

inline constexpr int listen_fd = 3;
inline constexpr int notify_fd = 4;
inline constexpr const char* notify_fd_env = "OFFSHOOT_NOTIFY_FD";
inline constexpr const char* ready_message = "READY=1";
inline constexpr size_t max_message = 4096;
inline constexpr const char* value_prefix = "VALUE=";
inline constexpr size_t max_value_message = 64 * 1024;
// D-Bus allows 255 bytes of signature and 64 levels of nesting; the notation no more.
inline constexpr size_t max_value_signature = 255;
inline constexpr int max_value_depth = 64;

// Writes the failure datagram into `buf` (at most `cap` bytes, NUL-terminated) and returns its
// length. No allocation and no locale: the spawn child calls it between fork and exec. A
// newline in `message` would read as a key of its own: it becomes a space.
size_t format_failure(char* buf, size_t cap, std::string_view step, int err, std::string_view message = {}) noexcept;

// Writes "LISTEN_PID=<pid>" into `buf` (NUL-terminated), the variable that names the worker as
// the socket's receiver; returns its length. No allocation: the spawn child calls it once it
// knows its own pid.
size_t format_listen_pid(char* buf, size_t cap, long pid) noexcept;

// The length of the single complete D-Bus type at the start of `signature`, 0 when there is
// none (an unknown type code, an unclosed or empty struct, a dict entry that is not two
// types). Recursion is bounded by the signature's length.
size_t complete_type_length(std::string_view signature) noexcept;

// A VALUE datagram split into its signature and tokens (views into `datagram`). False, with a
// message, when it is not one: no VALUE= line, a signature longer than max_value_signature, a
// datagram longer than max_value_message, or a last token without its NUL. Whether the tokens
// fit the signature is for whoever appends them to a message to find out.
bool split_value(std::string_view datagram, std::string_view& signature, std::vector<std::string_view>& tokens,
                 std::string& error);

// What a datagram (or several, read in turn) said.
struct Readiness {
    bool ready = false;
    std::string step;     // the failed step, empty if none
    int err = 0;          // its errno, 0 when not a system error
    std::string message;  // its text, if any
    // Reads one datagram's lines into this.
    void read(std::string_view datagram);
};

}  // namespace offshoot::wire

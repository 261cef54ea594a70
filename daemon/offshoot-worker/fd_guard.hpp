// fd_guard.hpp — no descriptor a peer sends may stay open in the worker.
//
// sd-bus (libsystemd 252) collects the descriptors that arrive with a message (SCM_RIGHTS) and,
// once the message is complete, builds the message from the bytes and those descriptors. When
// that fails (EBADMSG: the header's UNIX_FDS count differs from the number that came, or any
// header field is invalid), bus_socket_make_message() drops the message and forgets the
// descriptors without closing them (bus-socket.c, "Received invalid message … dropping").
// Repeated, a peer fills the worker's descriptor table. The bug is in the system library, so
// the guard sits in front of it: it interposes recvmsg() for the connections it watches,
// follows the D-Bus framing of their byte stream, holds back every descriptor until the
// message it came with is complete, and then either hands them to sd-bus with the message's
// last bytes — only when the message is one sd-bus is certain to accept — or closes them and
// fails the read (EBADMSG), which makes sd-bus close the connection.
//
// Only connections that negotiate descriptor passing are watched (a class whose interface has
// an `h` argument); on the others sd-bus itself closes stray descriptors and the connection.
// The interposed recvmsg() passes every descriptor it does not watch straight to the kernel,
// so class code calling recvmsg() on its own sockets is unaffected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace offshoot::worker::fd_guard {

// Starts watching an accepted connection's socket: from now on recvmsg() on it goes through
// the guard. Call before sd-bus reads from it. False when the descriptor number is beyond the
// guard's table (the caller then refuses the connection).
bool watch(int fd) noexcept;
// Stops watching `fd`, closing any descriptors still held back. Call before the socket is
// closed (sd_bus_close), on the loop thread.
void unwatch(int fd) noexcept;

// The number of descriptors the header of a complete D-Bus message (fixed header and header
// fields, `header` = its first 16 + fields-length bytes) declares in UNIX_FDS, if the header is
// one that sd-bus 252 is certain to accept; nullopt otherwise. Strict: anything sd-bus might
// refuse (unknown header fields, version 2, a malformed name or signature, a missing required
// field) is refused here. Exposed for the unit tests.
std::optional<uint32_t> accepted_unix_fds(std::span<const uint8_t> header) noexcept;

}  // namespace offshoot::worker::fd_guard

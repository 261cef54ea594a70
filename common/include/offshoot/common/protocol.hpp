// offshoot/common/protocol.hpp — the contract between offshootd and offshoot-worker.
//
// offshootd binds the instance's listening socket, forks, applies the credentials and execs
// offshoot-worker with:
//   fd 3  the listening socket (LISTEN_FDS=1, LISTEN_PID=<worker pid>: systemd's
//         socket-activation convention, so the worker needs no access to the runtime dir)
//   fd 4  the readiness channel, an AF_UNIX SOCK_SEQPACKET socket (OFFSHOOT_NOTIFY_FD=4)
//   argv  offshoot-worker --class=NAME --plugin=PATH --instance=ID --owner-uid=UID
//                         [--stop-mode=terminate|wait] -- [ARGUMENT…]
//
// Over the readiness channel the worker (or the forked child before exec) sends exactly one
// datagram, sd_notify-style "KEY=VALUE" lines:
//   READY=1                                    the object is registered and callable
//   ERROR=<step>\nERRNO=<n>\nMESSAGE=<text>    start-up failed at <step>; the process exits
// End of file without either means the process died before it got that far.
#pragma once

namespace offshoot::protocol {

inline constexpr int listen_fd = 3;
inline constexpr int notify_fd = 4;
inline constexpr const char* notify_fd_env = "OFFSHOOT_NOTIFY_FD";
inline constexpr const char* ready_message = "READY=1";
inline constexpr int max_message = 4096;

}  // namespace offshoot::protocol

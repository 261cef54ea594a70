// readiness.cpp — see readiness.hpp.
#include "readiness.hpp"

#include "offshoot/common/log.hpp"
#include "offshoot/common/protocol.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>

namespace offshoot::worker {

Readiness Readiness::from_environment() {
    const char* value = ::getenv(protocol::notify_fd_env);
    if (!value) return {};
    std::string_view text = value;
    int fd = -1;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), fd);
    ::unsetenv(protocol::notify_fd_env);
    if (ec != std::errc() || p != text.data() + text.size() || fd < 3 ||
        ::fcntl(fd, F_GETFD) < 0) {
        log::warning("{}={} is not an open descriptor; readiness goes to the log only",
                     protocol::notify_fd_env, value);
        return {};
    }
    // Class code must not inherit the channel into anything it execs.
    (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
    return Readiness(Fd(fd));
}

void Readiness::ready() { send(protocol::ready_message); }

void Readiness::fail(std::string_view step, int errno_value, std::string_view message) {
    log::error("start-up failed at {}: {}{}{}", step, message, errno_value ? ": " : "",
               errno_value ? std::strerror(errno_value) : "");
    std::string datagram = "ERROR=";
    datagram += step;
    datagram += "\nERRNO=";
    datagram += std::to_string(errno_value);
    datagram += "\nMESSAGE=";
    // One line per key: a newline inside the message would read as a new key.
    for (char c : message) datagram += (c == '\n' || c == '\r') ? ' ' : c;
    if (datagram.size() > static_cast<size_t>(protocol::max_message))
        datagram.resize(protocol::max_message);
    send(datagram);
}

void Readiness::send(std::string_view datagram) {
    if (!fd_) return;
    // MSG_NOSIGNAL: a supervisor that went away must not kill us with SIGPIPE.
    if (::send(fd_.get(), datagram.data(), datagram.size(), MSG_NOSIGNAL) < 0)
        log::warning("cannot write to the readiness channel: {}", std::strerror(errno));
    fd_.reset();
}

}  // namespace offshoot::worker

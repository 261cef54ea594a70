// readiness.cpp — see readiness.hpp.
#include "readiness.hpp"

#include "offshoot/common/errors.hpp"
#include "offshoot/common/log.hpp"
#include <offshoot/wire/readiness.hpp>

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>

namespace offshoot::worker {

Readiness Readiness::from_environment() {
    const char* value = ::getenv(wire::notify_fd_env);
    if (!value) return {};
    std::string_view text = value;
    int fd = -1;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), fd);
    ::unsetenv(wire::notify_fd_env);
    if (ec != std::errc() || p != text.data() + text.size() || fd < 3 ||
        ::fcntl(fd, F_GETFD) < 0) {
        log::warning("{}={} is not an open descriptor; readiness goes to the log only",
                     wire::notify_fd_env, value);
        return {};
    }
    // Class code must not inherit the channel into anything it execs.
    (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
    return Readiness(Fd(fd));
}

void Readiness::ready(bool keep_open) { send(wire::ready_message, keep_open); }

void Readiness::send_value(std::string_view datagram) { send(datagram); }

void Readiness::fail(std::string_view step, int errno_value, std::string_view message) {
    log::error("start-up failed at {}: {}{}{}", step, message, errno_value ? ": " : "",
               errno_value ? errno_text(errno_value) : std::string());
    char datagram[wire::max_message];
    const size_t n = wire::format_failure(datagram, sizeof datagram, step, errno_value, message);
    send({datagram, n});
}

void Readiness::send(std::string_view datagram, bool keep_open) {
    if (!fd_) return;
    // MSG_NOSIGNAL: a supervisor that went away must not kill us with SIGPIPE.
    if (::send(fd_.get(), datagram.data(), datagram.size(), MSG_NOSIGNAL) < 0)
        log::warning("cannot write to the readiness channel: {}", errno_text(errno));
    if (!keep_open) fd_.reset();
}

}  // namespace offshoot::worker

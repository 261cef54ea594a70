// socket_file.cpp — see socket_file.hpp.
#include "instance/socket_file.hpp"

#include "spawn/fd_table.hpp"

#include "offshoot/common/errors.hpp"
#include "offshoot/wire/address.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace offshoot {

SocketFile SocketFile::listen(std::string path, uid_t owner) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path)
        fail(errors::spawn_failed, "socket: runtime directory path too long for a socket ({} bytes)", path.size());
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    (void)::unlink(path.c_str());

    SocketFile s;
    s.fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s.fd_) fail(errors::spawn_failed, "socket: {}", errno_text(errno));
    if (::bind(s.fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
        fail(errors::spawn_failed, "bind {}: {}", path, errno_text(errno));
    s.path_ = std::move(path);  // from here on the file is ours to remove
    if (::chmod(s.path_.c_str(), 0600) < 0 || (geteuid() == 0 && ::chown(s.path_.c_str(), owner, 0) < 0))
        fail(errors::spawn_failed, "socket permissions: {}", errno_text(errno));
    if (::listen(s.fd_.get(), SOMAXCONN) < 0) fail(errors::spawn_failed, "listen: {}", errno_text(errno));
    return s;
}

SocketFile::SocketFile(SocketFile&& other) noexcept
    : path_(std::exchange(other.path_, {})), fd_(std::move(other.fd_)) {}

SocketFile& SocketFile::operator=(SocketFile&& other) noexcept {
    if (this != &other) {
        unlink();
        path_ = std::exchange(other.path_, {});
        fd_ = std::move(other.fd_);
    }
    return *this;
}

SocketFile::~SocketFile() { unlink(); }

void SocketFile::unlink() noexcept {
    if (!path_.empty()) (void)::unlink(path_.c_str());
    path_.clear();
}

void SocketFile::keep_listening() { fd_ = keep_long_lived(std::move(fd_)); }

std::string SocketFile::address() const { return "unix:path=" + wire::escape_address_value(path_); }

}  // namespace offshoot

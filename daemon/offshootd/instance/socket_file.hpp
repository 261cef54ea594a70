// socket_file.hpp — an instance's listening socket and the file it is bound to: created 0600
// (offshootd's umask is 0077) and owned by the instance's owner, so only they and root can
// connect, in a directory only offshootd can write. The file goes when the object does,
// whichever way the launch or the instance ends.
#pragma once

#include "offshoot/common/fd.hpp"

#include <sys/types.h>

#include <string>

namespace offshoot {

class SocketFile {
public:
    SocketFile() = default;
    // Binds and listens at `path` (a stale file there is replaced); throws SpawnFailed with the
    // step that failed ("socket", "bind", "socket permissions", "listen").
    static SocketFile listen(std::string path, uid_t owner);
    SocketFile(SocketFile&& other) noexcept;
    SocketFile& operator=(SocketFile&& other) noexcept;
    SocketFile(const SocketFile&) = delete;
    SocketFile& operator=(const SocketFile&) = delete;
    ~SocketFile();  // unlinks the file

    explicit operator bool() const noexcept { return !path_.empty(); }
    int fd() const noexcept { return fd_.get(); }
    // The listening socket is the worker's once it runs: offshootd lets go of its copy…
    void close_socket() noexcept { fd_.reset(); }
    // …or keeps it (above the descriptors a spawn child inherits), for the next worker of an
    // instance that restarts.
    void keep_listening();
    bool listening() const noexcept { return static_cast<bool>(fd_); }
    // The D-Bus address of the file: unix:path=<path, escaped>.
    std::string address() const;

private:
    void unlink() noexcept;
    std::string path_;
    Fd fd_;
};

}  // namespace offshoot

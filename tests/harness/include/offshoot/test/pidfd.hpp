// offshoot/test/pidfd.hpp — pidfd system calls. glibc 2.36's <sys/pidfd.h> lacks extern "C"
// for C++ callers, so the calls are made directly.
#pragma once

#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

namespace offshoot::test {

inline int open_pidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

inline int send_signal_pidfd(int pidfd, int signal) {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0));
}

}  // namespace offshoot::test

// fd_table.hpp — where offshootd keeps the descriptors an instance holds for its whole life.
//
// A spawn child copies offshootd's descriptor table only below kLongLivedFdBase (spawn.hpp:
// close_range(…, CLOSE_RANGE_UNSHARE) as its first step), so what every live instance keeps —
// its pidfd, its output pipe, its OOM counter — lives at or above it, and a spawn costs the
// same however many instances there are.
#pragma once

#include "offshoot/common/fd.hpp"

#include <fcntl.h>

#include <utility>

namespace offshoot {

constexpr int kLongLivedFdBase = 1024;

// `fd` moved to the lowest free number at or above kLongLivedFdBase (close-on-exec). Where the
// descriptor limit does not allow that, `fd` stays where it is: a spawn then copies it.
inline Fd keep_long_lived(Fd fd) {
    if (!fd || fd.get() >= kLongLivedFdBase) return fd;
    const int high = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, kLongLivedFdBase);
    return high < 0 ? std::move(fd) : Fd(high);
}

}  // namespace offshoot

// payload_fd.hpp — what SealedMemfd and SharedBuffer (offshoot/sealed_memfd.hpp,
// offshoot/shared_buffer.hpp) share: their errors and the check of a received descriptor.
// Internal to the two libraries that compile them in; not installed.
#pragma once

#include <cstddef>
#include <string>

#include <sdbus-c++/Types.h>

namespace offshoot::payload {

// org.offshoot1.Error.InvalidArgument "payload descriptor: <what>".
[[noreturn]] void invalid(const std::string& what);
// org.offshoot1.Error.Failed "<what>: <strerror(err)>".
[[noreturn]] void system_failure(const char* what, int err);

// A new memfd that can be sealed (close-on-exec).
sdbus::UnixFd new_memfd(const char* name);

// Checks a received descriptor by what the kernel says about it — F_GET_SEALS (asked first: it
// asks no file system): answers only for memfd/shmem/hugetlbfs files, and must hold every seal
// in `required` (`required_text` names them in the refusal); fstat: a regular file — and that
// its size is at most `max_size`. Returns the size; anything else is invalid().
size_t checked_memfd_size(const sdbus::UnixFd& fd, unsigned required, const char* required_text,
                          size_t max_size);

}  // namespace offshoot::payload

// payload_fd.cpp — payload_fd.hpp: shared by SealedMemfd and SharedBuffer.
#include "payload_fd.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include <sdbus-c++/Error.h>

#include "offshoot/names.hpp"

namespace offshoot::payload {

void invalid(const std::string& what) {
    throw sdbus::Error(errors::invalid_argument, "payload descriptor: " + what);
}

void system_failure(const char* what, int err) {
    throw sdbus::Error(errors::failed, std::string(what) + ": " + std::strerror(err));
}

sdbus::UnixFd new_memfd(const char* name) {
    sdbus::UnixFd fd(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING), sdbus::adopt_fd);
    if (!fd.isValid()) system_failure("memfd_create", errno);
    return fd;
}

size_t checked_memfd_size(const sdbus::UnixFd& fd, unsigned required, const char* required_text,
                          size_t max_size) {
    if (!fd.isValid()) invalid("no descriptor");
    // F_GET_SEALS first: it does no I/O and answers only for memfd/shmem (and hugetlbfs) files,
    // where fstat on a file of a FUSE server that never answers would block.
    const int seals = ::fcntl(fd.get(), F_GET_SEALS);
    if (seals < 0) invalid("not a memfd (the kernel knows no seals on it: " + std::string(std::strerror(errno)) + ")");
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0) system_failure("fstat of a payload descriptor", errno);
    if (!S_ISREG(st.st_mode)) invalid("not a memfd (not a regular file)");
    if ((static_cast<unsigned>(seals) & required) != required)
        invalid(std::string("the memfd is not sealed against ") + required_text + "; seal it before sending");
    if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > max_size)
        invalid(std::to_string(st.st_size) + " bytes, more than the " + std::to_string(max_size) +
                " this receiver takes");
    return static_cast<size_t>(st.st_size);
}

}  // namespace offshoot::payload

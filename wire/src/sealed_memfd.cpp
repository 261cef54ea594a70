// sealed_memfd.cpp — SealedMemfd (offshoot/sealed_memfd.hpp), compiled into both the SDK and
// liboffshoot-client.
#include "offshoot/sealed_memfd.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include <sdbus-c++/Error.h>

#include "offshoot/names.hpp"
#include "payload_fd.hpp"

namespace offshoot {

static_assert(SealedMemfd::required_seals == (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW));

namespace {

using payload::invalid;
using payload::system_failure;

// mmap refuses a length of 0; an empty payload has no mapping and no bytes.
const uint8_t* map_read_only(int fd, size_t size) {
    if (size == 0) return nullptr;
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) system_failure("mmap of a sealed memfd", errno);
    return static_cast<const uint8_t*>(p);
}

}  // namespace

SealedMemfd::SealedMemfd(sdbus::UnixFd fd, const uint8_t* data, size_t size) noexcept
    : fd_(std::move(fd)), data_(data), size_(size) {}

SealedMemfd::SealedMemfd(SealedMemfd&& other) noexcept
    : fd_(std::move(other.fd_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

SealedMemfd& SealedMemfd::operator=(SealedMemfd&& other) noexcept {
    if (this != &other) {
        unmap();
        fd_ = std::move(other.fd_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

SealedMemfd::~SealedMemfd() { unmap(); }

void SealedMemfd::unmap() noexcept {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
    data_ = nullptr;
    size_ = 0;
}

using payload::new_memfd;

SealedMemfd SealedMemfd::seal_and_map(sdbus::UnixFd fd, size_t size) {
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
        system_failure("sealing a memfd", errno);
    const uint8_t* data = map_read_only(fd.get(), size);
    return SealedMemfd(std::move(fd), data, size);
}

SealedMemfd SealedMemfd::create(size_t size, const std::function<void(std::span<uint8_t>)>& fill,
                                const char* name) {
    auto fd = new_memfd(name);
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) < 0) system_failure("ftruncate of a memfd", errno);
    if (size > 0) {
        void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
        if (p == MAP_FAILED) system_failure("mmap of a new memfd", errno);
        try {
            fill(std::span<uint8_t>(static_cast<uint8_t*>(p), size));
        } catch (...) {
            ::munmap(p, size);
            throw;
        }
        // F_SEAL_WRITE is refused while a writable mapping exists: unmap first.
        ::munmap(p, size);
    }
    return seal_and_map(std::move(fd), size);
}

// write(2) rather than create()'s mapping: the kernel copies into the pages it allocates, with
// no page fault per 4 KiB and no zeroing of pages that are then overwritten — about twice as
// fast at 64 KiB to 16 MiB on this VM (docs/payloads.md, "How fast").
SealedMemfd SealedMemfd::copy_of(std::span<const uint8_t> data, const char* name) {
    auto fd = new_memfd(name);
    size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::pwrite(fd.get(), data.data() + done, data.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) system_failure("writing a memfd", errno);
        if (n == 0) system_failure("writing a memfd", EIO);
        done += static_cast<size_t>(n);
    }
    return seal_and_map(std::move(fd), data.size());
}

SealedMemfd SealedMemfd::adopt(sdbus::UnixFd fd, size_t max_size) {
    const size_t size = payload::checked_memfd_size(
        fd, required_seals, "writing, shrinking and growing (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)", max_size);
    const uint8_t* data = map_read_only(fd.get(), size);
    return SealedMemfd(std::move(fd), data, size);
}

}  // namespace offshoot

// shared_buffer.cpp — SharedBuffer (offshoot/shared_buffer.hpp), compiled into both the SDK and
// liboffshoot-client.
#include "offshoot/shared_buffer.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "payload_fd.hpp"

namespace offshoot {

static_assert(SharedBuffer::required_seals == (F_SEAL_SHRINK | F_SEAL_GROW));

using payload::invalid;
using payload::system_failure;

SharedBuffer::SharedBuffer(sdbus::UnixFd fd, uint8_t* data, size_t size) noexcept
    : fd_(std::move(fd)), data_(data), size_(size) {}

SharedBuffer::SharedBuffer(SharedBuffer&& other) noexcept
    : fd_(std::move(other.fd_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

SharedBuffer& SharedBuffer::operator=(SharedBuffer&& other) noexcept {
    if (this != &other) {
        release();
        fd_ = std::move(other.fd_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

SharedBuffer::~SharedBuffer() { release(); }

void SharedBuffer::release() noexcept {
    if (data_) {
        // The owner's pages go with the owner's buffer, even where a peer kept the descriptor
        // (which would otherwise keep them alive, charged to us): a hole reads as zeros.
        (void)::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(size_));
        ::munmap(data_, size_);
    }
    data_ = nullptr;
    size_ = 0;
    fd_ = sdbus::UnixFd();
}

SharedBuffer SharedBuffer::create(size_t size, const char* name) {
    auto fd = payload::new_memfd(name);
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) < 0) system_failure("ftruncate of a memfd", errno);
    // Fixed size: a peer can then neither fault our mapping (SIGBUS past a shrunk end) nor grow
    // the file; F_SEAL_SEAL keeps anyone from adding F_SEAL_WRITE under our writers.
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
        system_failure("sealing a memfd", errno);
    uint8_t* data = nullptr;
    if (size > 0) {  // mmap refuses a length of 0
        void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
        if (p == MAP_FAILED) system_failure("mmap of a new memfd", errno);
        data = static_cast<uint8_t*>(p);
    }
    return SharedBuffer(std::move(fd), data, size);
}

SharedBuffer SharedBuffer::adopt(sdbus::UnixFd fd, size_t max_size) {
    const size_t size = payload::checked_memfd_size(
        fd, required_seals, "shrinking and growing (F_SEAL_SHRINK | F_SEAL_GROW)", max_size);
    return SharedBuffer(std::move(fd), nullptr, size);
}

void SharedBuffer::check_range(size_t offset, size_t length) const {
    if (offset > size_ || length > size_ - offset)
        invalid(std::to_string(length) + " bytes at offset " + std::to_string(offset) + " do not fit in a buffer of " +
                std::to_string(size_));
}

std::span<uint8_t> SharedBuffer::bytes(size_t offset, size_t length) const {
    check_range(offset, length);
    if (!data_ && length > 0) invalid("an adopted buffer has no mapping: use read() and write()");
    return {data_ + offset, length};
}

// The owner reads and writes through its mapping; the receiver with pread/pwrite. Not the
// owner's descriptor: its open file description is the one the peer got, whose flags the peer
// can change (F_SETFL O_APPEND would turn every pwrite into an append the size seal refuses).
void SharedBuffer::read(size_t offset, std::span<uint8_t> into) const {
    check_range(offset, into.size());
    if (data_) {
        std::memcpy(into.data(), data_ + offset, into.size());
        return;
    }
    size_t done = 0;
    while (done < into.size()) {
        const ssize_t n = ::pread(fd_.get(), into.data() + done, into.size() - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EBADF) invalid("not open for reading");
        if (n < 0) system_failure("reading a shared buffer", errno);
        if (n == 0) system_failure("reading a shared buffer", EIO);  // cannot happen: its size is sealed
        done += static_cast<size_t>(n);
    }
}

std::vector<uint8_t> SharedBuffer::read(size_t offset, size_t length) const {
    check_range(offset, length);
    std::vector<uint8_t> out(length);
    read(offset, out);
    return out;
}

void SharedBuffer::write(size_t offset, std::span<const uint8_t> from) const {
    check_range(offset, from.size());
    if (data_) {
        std::memcpy(data_ + offset, from.data(), from.size());
        return;
    }
    size_t done = 0;
    while (done < from.size()) {
        const ssize_t n = ::pwrite(fd_.get(), from.data() + done, from.size() - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EBADF) invalid("not open for writing");
        if (n < 0 && errno == EPERM) {
            const int flags = ::fcntl(fd_.get(), F_GETFL);
            if (flags >= 0 && (flags & O_APPEND)) invalid("open for appending (O_APPEND), which its size seal refuses");
            invalid("sealed against writing (F_SEAL_WRITE or F_SEAL_FUTURE_WRITE)");
        }
        // hugetlbfs (MFD_HUGETLB) has seals but no write(2).
        if (n < 0 && errno == EINVAL) invalid("cannot be written with pwrite(2) (a hugetlbfs memfd?)");
        if (n < 0) system_failure("writing a shared buffer", errno);
        if (n == 0) system_failure("writing a shared buffer", EIO);
        done += static_cast<size_t>(n);
    }
}

}  // namespace offshoot

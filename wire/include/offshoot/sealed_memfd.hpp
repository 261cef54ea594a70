// offshoot/sealed_memfd.hpp — big payloads as a sealed memfd passed as a D-Bus 'h': the bytes
// are written once into anonymous shared memory, sealed against any change, and the receiver
// maps them — no copy through the socket, no marshalling (docs/payloads.md).
//
//     // sender (client or class):               // receiver (class or client):
//     auto blob = offshoot::SealedMemfd::copy_of(data);   auto in = offshoot::SealedMemfd::adopt(fd);
//     proxy->EchoMemfd(blob.fd());                       use(in.bytes());  // read-only, immutable
//
// Both the SDK (offshoot/worker.hpp) and liboffshoot-client ship this one definition.
//
// What adopt() checks, since the descriptor comes from another process: that the kernel says it
// is a memfd (fstat: a regular file; F_GET_SEALS answers only for memfd/shmem files) sealed
// against writing, shrinking and growing (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW). A sealed
// memfd cannot change while it is read (the sender can no longer write it, even through a
// mapping: F_SEAL_WRITE is refused while a writable mapping exists), nor shrink under the
// mapping (no SIGBUS). Anything else, or a size over the limit, is
// org.offshoot1.Error.InvalidArgument with a message that says what was wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include <sdbus-c++/Types.h>  // sdbus::UnixFd: what 'h' is on both sides

namespace offshoot {

class SealedMemfd {
public:
    // The seals adopt() requires and create() applies (create adds F_SEAL_SEAL).
    static constexpr unsigned required_seals = 0x0008 | 0x0002 | 0x0004;  // WRITE | SHRINK | GROW
    // adopt()'s default bound: what a receiver maps without being asked to take more.
    static constexpr size_t default_max_size = size_t{1} << 30;  // 1 GiB

    SealedMemfd() noexcept = default;
    SealedMemfd(SealedMemfd&& other) noexcept;
    SealedMemfd& operator=(SealedMemfd&& other) noexcept;
    SealedMemfd(const SealedMemfd&) = delete;
    SealedMemfd& operator=(const SealedMemfd&) = delete;
    ~SealedMemfd();

    // A new sealed memfd of `size` bytes that fill() writes in place (a writable mapping that
    // is gone before the seals are applied): the zero-copy way for a producer.
    static SealedMemfd create(size_t size, const std::function<void(std::span<uint8_t>)>& fill,
                              const char* name = "offshoot-payload");
    // A new sealed memfd holding a copy of `data` (written with write(2): faster than fill()).
    static SealedMemfd copy_of(std::span<const uint8_t> data, const char* name = "offshoot-payload");
    // Takes a received descriptor: checks it (see above) and maps it read-only. Throws
    // offshoot::Error (org.offshoot1.Error.InvalidArgument) if it is not a sealed memfd or is
    // larger than max_size.
    static SealedMemfd adopt(sdbus::UnixFd fd, size_t max_size = default_max_size);

    // The descriptor to send as 'h' (sdbus-c++ duplicates it into the message).
    const sdbus::UnixFd& fd() const noexcept { return fd_; }
    // The contents, read-only; valid while this object lives.
    std::span<const uint8_t> bytes() const noexcept { return {data_, size_}; }
    size_t size() const noexcept { return size_; }
    explicit operator bool() const noexcept { return fd_.isValid(); }

private:
    SealedMemfd(sdbus::UnixFd fd, const uint8_t* data, size_t size) noexcept;
    // Seals a memfd that holds its final bytes and maps it read-only.
    static SealedMemfd seal_and_map(sdbus::UnixFd fd, size_t size);
    void unmap() noexcept;

    sdbus::UnixFd fd_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace offshoot

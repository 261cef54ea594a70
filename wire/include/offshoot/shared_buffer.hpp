// offshoot/shared_buffer.hpp — big payloads in a memfd that is kept and reused from call to
// call, passed as a D-Bus 'h': the caller owns two buffers (what it sends, where the answer
// goes), and each call moves only bytes — no new shared memory per call (docs/payloads.md).
//
//     // caller, once:                                // class (receiver), every call:
//     auto in = offshoot::SharedBuffer::create(size);  auto src = offshoot::SharedBuffer::adopt(in_fd);
//     auto out = offshoot::SharedBuffer::create(size); auto data = src.read(0, length);  // one copy out
//     // every call:                                    offshoot::SharedBuffer::adopt(out_fd).write(0, result);
//     std::copy(data.begin(), data.end(), in.bytes().begin());
//     auto n = proxy->EchoShared(in.fd(), data.size(), out.fd());
//     use(out.bytes(0, n));  // checked: n is the peer's word
//
// Where SealedMemfd (offshoot/sealed_memfd.hpp) makes new shared memory for every payload and
// seals it immutable, a SharedBuffer has a fixed size (sealed against shrinking and growing,
// and against further seals) but stays writable: the kernel allocates its pages once, and a
// payload costs a copy in and a copy out. Allocating and freeing fresh pages is what a
// SealedMemfd pays per call, and on some hosts (a VM whose balloon reports free pages to the
// hypervisor, like this project's CI) that is most of the time (docs/payloads.md, "How fast").
//
// What that changes for safety, since the other side can write the same bytes at any time:
// - read() copies out with pread(2); take the bytes out once and look only at the copy (a
//   value checked in shared memory can change before it is used). Nothing a peer does to the
//   file can fault the reader: it cannot shrink it (F_SEAL_SHRINK, checked on adopt) and the
//   receiver does not map it at all.
// - The owner's mapping (bytes()) is safe from SIGBUS for the same reason; what it reads there
//   after a call is whatever the peer wrote — untrusted, like any answer.
// - A peer may keep the descriptor and see what the owner writes into the buffer later: give a
//   buffer to one peer only (one per proxy), never to two that must not see each other's data.
//   When the owner's SharedBuffer goes, its pages go too (a hole is punched), kept descriptor
//   or not.
// - The owner reads and writes through its mapping, never through the descriptor, whose open
//   file description the peer shares (and could set O_APPEND on).
// - A receiver bounds what it takes (adopt's max_size) and copies big buffers in pieces: what
//   a caller's buffer costs it, a hole-filled memfd of 1 GiB, costs the receiver that much.
//
// adopt() judges the descriptor by what the kernel says (F_GET_SEALS, asked first, since it
// does no I/O: answers only for memfd/shmem/hugetlbfs files, and must include F_SEAL_SHRINK |
// F_SEAL_GROW; fstat: a regular file), so a pipe, a socket, a device, a file on disk or on
// FUSE, a plain tmpfs file (its seals are F_SEAL_SEAL alone) — anything a read could block on
// or that is not anonymous memory — is org.offshoot1.Error.InvalidArgument, as is a size over
// the receiver's bound or a range outside the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <sdbus-c++/Types.h>  // sdbus::UnixFd: what 'h' is on both sides

namespace offshoot {

class SharedBuffer {
public:
    // The seals adopt() requires (create() adds F_SEAL_SEAL: nobody can add F_SEAL_WRITE later).
    static constexpr unsigned required_seals = 0x0002 | 0x0004;  // SHRINK | GROW
    // adopt()'s default bound.
    static constexpr size_t default_max_size = size_t{1} << 30;  // 1 GiB

    SharedBuffer() noexcept = default;
    SharedBuffer(SharedBuffer&& other) noexcept;
    SharedBuffer& operator=(SharedBuffer&& other) noexcept;
    SharedBuffer(const SharedBuffer&) = delete;
    SharedBuffer& operator=(const SharedBuffer&) = delete;
    ~SharedBuffer();

    // The owner's side: a new memfd of `size` bytes (zeros), its size sealed, mapped read-write
    // for as long as this object lives.
    static SharedBuffer create(size_t size, const char* name = "offshoot-buffer");
    // The receiver's side: checks a received descriptor (see above); no mapping. Throws
    // offshoot::Error (org.offshoot1.Error.InvalidArgument) if it is not a memfd sealed against
    // shrinking and growing, or is larger than max_size.
    static SharedBuffer adopt(sdbus::UnixFd fd, size_t max_size = default_max_size);

    // The descriptor to send as 'h' (sdbus-c++ duplicates it into the message).
    const sdbus::UnixFd& fd() const noexcept { return fd_; }
    size_t size() const noexcept { return size_; }
    // The owner's mapping (empty for an adopted buffer).
    std::span<uint8_t> bytes() const noexcept { return {data_, data_ ? size_ : 0}; }
    // `length` bytes of the owner's mapping from `offset`, checked: use it for a length the
    // peer answered (InvalidArgument if it does not fit, or if this buffer was adopted).
    std::span<uint8_t> bytes(size_t offset, size_t length) const;

    // Copies `into.size()` bytes from `offset` out of the buffer (the owner: from its mapping;
    // a receiver: pread). Throws InvalidArgument if the range is outside the buffer.
    void read(size_t offset, std::span<uint8_t> into) const;
    std::vector<uint8_t> read(size_t offset, size_t length) const;
    // Copies `from` into the buffer at `offset` (the owner: into its mapping; a receiver:
    // pwrite). Throws InvalidArgument if the range is outside the buffer or the descriptor does
    // not take writes (not open for writing, sealed against it, O_APPEND, hugetlbfs).
    void write(size_t offset, std::span<const uint8_t> from) const;

    explicit operator bool() const noexcept { return fd_.isValid(); }

private:
    SharedBuffer(sdbus::UnixFd fd, uint8_t* data, size_t size) noexcept;
    void check_range(size_t offset, size_t length) const;
    // Frees the owner's pages (a hole: a peer that kept the descriptor keeps none of them), unmaps.
    void release() noexcept;

    sdbus::UnixFd fd_;
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace offshoot

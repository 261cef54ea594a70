// shared_buffer_test.cpp — offshoot::SharedBuffer (offshoot/shared_buffer.hpp), no daemon: a
// buffer keeps its size whoever holds it, both sides see each other's bytes, and adopt() takes
// only a memfd sealed against shrinking and growing, within its bound — judged by what the
// kernel says about the descriptor.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <offshoot/client.hpp>

namespace offshoot {
namespace {

template <typename F>
std::string refusal_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.getName() + ": " + e.getMessage();
    }
    return "(accepted)";
}

std::string adopt_refusal(sdbus::UnixFd fd, size_t max_size = SharedBuffer::default_max_size) {
    return refusal_of([&] { (void)SharedBuffer::adopt(std::move(fd), max_size); });
}

sdbus::UnixFd memfd_of(size_t size, unsigned seals) {
    sdbus::UnixFd fd(::memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING), sdbus::adopt_fd);
    EXPECT_TRUE(fd.isValid());
    EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
    if (seals) {
        EXPECT_EQ(::fcntl(fd.get(), F_ADD_SEALS, seals), 0);
    }
    return fd;
}

const std::string invalid = std::string(errors::invalid_argument) + ": ";

TEST(ASharedBuffer, KeepsItsSizeButStaysWritable) {
    auto buffer = SharedBuffer::create(8192);
    ASSERT_EQ(buffer.size(), 8192u);
    ASSERT_EQ(buffer.bytes().size(), 8192u);
    EXPECT_TRUE(std::all_of(buffer.bytes().begin(), buffer.bytes().end(), [](uint8_t b) { return b == 0; }));
    const int seals = ::fcntl(buffer.fd().get(), F_GET_SEALS);
    EXPECT_EQ(seals, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    // What a peer holding the descriptor might try: none of it changes the size or the seals,
    // so the owner's mapping can never fault.
    EXPECT_EQ(::ftruncate(buffer.fd().get(), 0), -1);
    EXPECT_EQ(errno, EPERM);
    EXPECT_EQ(::ftruncate(buffer.fd().get(), 16384), -1);
    EXPECT_EQ(::pwrite(buffer.fd().get(), "x", 1, 8192), -1) << "a write past the end grew it";
    EXPECT_EQ(::fcntl(buffer.fd().get(), F_ADD_SEALS, F_SEAL_WRITE), -1) << "a peer could freeze the owner's writes";
    buffer.bytes()[8191] = 7;  // and the owner still writes through its mapping
    EXPECT_EQ(buffer.read(8191, 1), std::vector<uint8_t>{7});
}

TEST(ASharedBuffer, ShowsEachSideWhatTheOtherWrote) {
    auto owner = SharedBuffer::create((size_t{3} << 20) + 5);
    auto peer = SharedBuffer::adopt(owner.fd());  // a duplicate, as a receiver gets it
    ASSERT_EQ(peer.size(), owner.size());
    EXPECT_TRUE(peer.bytes().empty()) << "a receiver has no mapping";

    std::vector<uint8_t> data(owner.size());
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + 7);
    std::copy(data.begin(), data.end(), owner.bytes().begin());
    EXPECT_EQ(peer.read(0, data.size()), data);
    std::vector<uint8_t> tail(5);
    peer.read(data.size() - 5, tail);
    EXPECT_TRUE(std::equal(tail.begin(), tail.end(), data.end() - 5));

    // And back, in pieces, at an offset.
    const std::vector<uint8_t> answer{9, 8, 7};
    peer.write(100, answer);
    EXPECT_EQ(owner.bytes()[100], 9);
    EXPECT_EQ(owner.bytes()[102], 7);
    EXPECT_EQ(owner.bytes()[103], data[103]);

    auto empty = SharedBuffer::create(0);
    EXPECT_EQ(SharedBuffer::adopt(empty.fd()).read(0, 0).size(), 0u);
}

TEST(ASharedBuffer, RefusesARangeOutsideItWithInvalidArgument) {
    auto buffer = SharedBuffer::adopt(SharedBuffer::create(4096).fd());
    EXPECT_EQ(refusal_of([&] { (void)buffer.read(4000, 97); }),
              invalid + "payload descriptor: 97 bytes at offset 4000 do not fit in a buffer of 4096");
    EXPECT_EQ(refusal_of([&] { (void)buffer.read(SIZE_MAX, 2); }).rfind(invalid, 0), 0u) << "offset + length wrapped";
    const std::vector<uint8_t> one{1};
    EXPECT_EQ(refusal_of([&] { buffer.write(4096, one); }).rfind(invalid, 0), 0u);
    EXPECT_EQ(refusal_of([&] { buffer.write(4095, one); }), "(accepted)");
}

TEST(ASharedBuffer, RefusesAnythingButAMemfdOfFixedSizeWithInvalidArgument) {
    EXPECT_EQ(adopt_refusal(memfd_of(4096, 0)),
              invalid + "payload descriptor: the memfd is not sealed against shrinking and growing "
                        "(F_SEAL_SHRINK | F_SEAL_GROW); seal it before sending");
    EXPECT_EQ(adopt_refusal(memfd_of(4096, F_SEAL_SHRINK)).rfind(invalid, 0), 0u) << "it could still grow";
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    ::close(fds[1]);
    EXPECT_EQ(adopt_refusal(sdbus::UnixFd(fds[0], sdbus::adopt_fd)).rfind(invalid + "payload descriptor: not a memfd", 0),
              0u);
    // A file, whatever it is called and wherever it is: on disk F_GET_SEALS does not answer; on
    // tmpfs (/tmp on many hosts, /dev/shm) it answers F_SEAL_SEAL alone.
    for (std::string dir : {"/tmp", "/dev/shm"}) {
        if (::access(dir.c_str(), W_OK) != 0) continue;  // no /dev/shm: the other case still ran
        std::string path = dir + "/offshoot-buffer-XXXXXX";
        sdbus::UnixFd file(::mkstemp(path.data()), sdbus::adopt_fd);
        ASSERT_TRUE(file.isValid()) << path;
        ::unlink(path.c_str());
        ASSERT_EQ(::ftruncate(file.get(), 4096), 0);
        EXPECT_EQ(adopt_refusal(std::move(file)).rfind(invalid, 0), 0u) << dir;
    }
    EXPECT_EQ(adopt_refusal(sdbus::UnixFd()).rfind(invalid, 0), 0u);
    EXPECT_EQ(adopt_refusal(memfd_of(4096, F_SEAL_SHRINK | F_SEAL_GROW), 4096), "(accepted)");
    EXPECT_NE(adopt_refusal(memfd_of(4097, F_SEAL_SHRINK | F_SEAL_GROW), 4096).find("4097 bytes, more than the 4096"),
              std::string::npos);
}

TEST(ASharedBuffer, SaysWhyItCannotWriteWhereTheDescriptorForbidsIt) {
    const std::vector<uint8_t> one{1};
    // Frozen by its sender: adopted (its size is fixed), but not a place for an answer.
    auto frozen = SharedBuffer::adopt(memfd_of(4096, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE));
    EXPECT_EQ(refusal_of([&] { frozen.write(0, one); }),
              invalid + "payload descriptor: sealed against writing (F_SEAL_WRITE or F_SEAL_FUTURE_WRITE)");
    // Opened read-only (a sender may hand out such a descriptor to the same memfd).
    auto owner = SharedBuffer::create(4096);
    const std::string self = "/proc/self/fd/" + std::to_string(owner.fd().get());
    auto read_only = SharedBuffer::adopt(sdbus::UnixFd(::open(self.c_str(), O_RDONLY | O_CLOEXEC), sdbus::adopt_fd));
    EXPECT_EQ(refusal_of([&] { read_only.write(0, one); }), invalid + "payload descriptor: not open for writing");
    owner.bytes()[0] = 42;
    EXPECT_EQ(read_only.read(0, 1), std::vector<uint8_t>{42});
}

// The peer shares the owner's open file description and can set O_APPEND on it (F_SETFL):
// the owner's reads and writes go through its mapping and never notice; a receiver whose
// sender did that to its own buffer is told why its write fails.
TEST(ASharedBuffer, KeepsTheOwnersWritesWorkingWhateverThePeerDoesToTheDescription) {
    auto owner = SharedBuffer::create(4096);
    auto peer = SharedBuffer::adopt(owner.fd());
    ASSERT_EQ(::fcntl(peer.fd().get(), F_SETFL, O_APPEND), 0);
    const std::vector<uint8_t> two{1, 2};
    EXPECT_EQ(refusal_of([&] { owner.write(10, two); }), "(accepted)");
    EXPECT_EQ(owner.read(10, 2), two);
    EXPECT_EQ(refusal_of([&] { peer.write(0, two); }),
              invalid + "payload descriptor: open for appending (O_APPEND), which its size seal refuses");
    EXPECT_EQ(peer.read(10, 2), two);
}

TEST(ASharedBuffer, ChecksALengthThePeerAnsweredBeforeHandingOutTheBytes) {
    auto owner = SharedBuffer::create(4096);
    owner.bytes()[4095] = 9;
    EXPECT_EQ(owner.bytes(4095, 1)[0], 9);
    EXPECT_EQ(owner.bytes(0, 4096).size(), 4096u);
    EXPECT_EQ(refusal_of([&] { (void)owner.bytes(0, 4097); }).rfind(invalid, 0), 0u) << "a peer's 4097 went unchecked";
    EXPECT_EQ(refusal_of([&] { (void)SharedBuffer::adopt(owner.fd()).bytes(0, 1); }).rfind(invalid, 0), 0u);
}

// A peer that kept the descriptor keeps no pages of a buffer its owner has dropped.
TEST(ASharedBuffer, FreesItsPagesWhenItsOwnerDropsItEvenIfAPeerKeptTheDescriptor) {
    auto owner = std::make_optional(SharedBuffer::create(size_t{1} << 20));
    std::fill(owner->bytes().begin(), owner->bytes().end(), uint8_t{7});
    sdbus::UnixFd kept(owner->fd());  // a duplicate, as a peer would keep it
    struct stat st {};
    ASSERT_EQ(::fstat(kept.get(), &st), 0);
    EXPECT_GE(st.st_blocks * 512, 1 << 20) << "the pages were never allocated";
    owner.reset();
    ASSERT_EQ(::fstat(kept.get(), &st), 0);
    EXPECT_EQ(st.st_blocks, 0) << "the peer's descriptor kept the owner's pages";
    EXPECT_EQ(st.st_size, 1 << 20);
    uint8_t b = 1;
    EXPECT_EQ(::pread(kept.get(), &b, 1, 4096), 1);
    EXPECT_EQ(b, 0);
}

}  // namespace
}  // namespace offshoot

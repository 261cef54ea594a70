// sealed_memfd_test.cpp — offshoot::SealedMemfd (offshoot/sealed_memfd.hpp), no daemon: what it
// creates is sealed and read-only for everyone, and adopt() takes only a sealed memfd within
// its size bound — judged by what the kernel says about the descriptor, never by its name.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <offshoot/client.hpp>

namespace offshoot {
namespace {

std::string refusal_of(sdbus::UnixFd fd, size_t max_size = SealedMemfd::default_max_size) {
    try {
        (void)SealedMemfd::adopt(std::move(fd), max_size);
    } catch (const Error& e) {
        return e.getName() + ": " + e.getMessage();
    }
    return "(adopted)";
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

TEST(ASealedMemfd, HoldsACopyThatNobodyCanChange) {
    const std::vector<uint8_t> data{1, 2, 3, 4, 5};
    auto blob = SealedMemfd::copy_of(data);
    ASSERT_EQ(blob.size(), data.size());
    EXPECT_TRUE(std::equal(data.begin(), data.end(), blob.bytes().begin()));
    const int seals = ::fcntl(blob.fd().get(), F_GET_SEALS);
    EXPECT_EQ(seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
              F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    // The kernel refuses every way to change it.
    EXPECT_EQ(::pwrite(blob.fd().get(), "x", 1, 0), -1);
    EXPECT_EQ(errno, EPERM);
    EXPECT_EQ(::ftruncate(blob.fd().get(), 1), -1);
    EXPECT_EQ(::mmap(nullptr, 5, PROT_READ | PROT_WRITE, MAP_SHARED, blob.fd().get(), 0), MAP_FAILED);
    EXPECT_EQ(::fcntl(blob.fd().get(), F_ADD_SEALS, 0), -1) << "further seals could still be changed";
}

TEST(ASealedMemfd, IsFilledInPlaceAndAdoptedWithTheSameBytes) {
    auto blob = SealedMemfd::create(3 << 20, [](std::span<uint8_t> out) {
        for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i % 251);
    });
    auto again = SealedMemfd::adopt(blob.fd());  // a duplicate, as a receiver gets it
    ASSERT_EQ(again.size(), size_t{3} << 20);
    EXPECT_EQ(again.bytes()[1000], 1000 % 251);
    EXPECT_EQ(again.bytes().back(), ((3 << 20) - 1) % 251);
    EXPECT_EQ(SealedMemfd::adopt(SealedMemfd::copy_of({}).fd()).size(), 0u);
}

// copy_of() writes with write(2), in as many pieces as the kernel takes: every byte of a
// payload that is not a whole number of pages arrives, also when the source is itself a mapping
// of a received memfd (what Echo.EchoMemfd does).
TEST(ASealedMemfd, CopiesEveryByteOfALargeOddSizedPayload) {
    std::vector<uint8_t> data((size_t{5} << 20) + 123);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + 7);
    auto blob = SealedMemfd::copy_of(data);
    auto received = SealedMemfd::adopt(blob.fd());
    ASSERT_EQ(received.size(), data.size());
    EXPECT_TRUE(std::equal(data.begin(), data.end(), received.bytes().begin()));
    auto echoed = SealedMemfd::adopt(SealedMemfd::copy_of(received.bytes()).fd());
    ASSERT_EQ(echoed.size(), data.size());
    EXPECT_TRUE(std::equal(data.begin(), data.end(), echoed.bytes().begin()));
}

TEST(ASealedMemfd, RefusesAnythingButASealedMemfdWithInvalidArgument) {
    const std::string invalid = std::string(errors::invalid_argument) + ": ";
    EXPECT_EQ(refusal_of(memfd_of(4096, 0)).rfind(invalid, 0), 0u) << refusal_of(memfd_of(4096, 0));
    // Sealed against shrinking and growing but still writable: its bytes could change under us.
    EXPECT_EQ(refusal_of(memfd_of(4096, F_SEAL_SHRINK | F_SEAL_GROW)).rfind(invalid, 0), 0u);
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    ::close(fds[1]);
    EXPECT_EQ(refusal_of(sdbus::UnixFd(fds[0], sdbus::adopt_fd)).rfind(invalid + "payload descriptor: not a memfd", 0),
              0u);
    // A file, whatever it is called and wherever it is: on disk F_GET_SEALS does not answer; on
    // tmpfs (/tmp on many hosts, /dev/shm) it answers F_SEAL_SEAL alone.
    for (std::string dir : {"/tmp", "/dev/shm"}) {
        if (::access(dir.c_str(), W_OK) != 0) continue;  // no /dev/shm: the other case still ran
        std::string path = dir + "/offshoot-memfd-XXXXXX";
        sdbus::UnixFd file(::mkstemp(path.data()), sdbus::adopt_fd);
        ASSERT_TRUE(file.isValid()) << path;
        ::unlink(path.c_str());
        EXPECT_EQ(refusal_of(std::move(file)).rfind(invalid, 0), 0u) << dir;
    }
    EXPECT_EQ(refusal_of(sdbus::UnixFd()).rfind(invalid, 0), 0u);
}

TEST(ASealedMemfd, RefusesOneLargerThanTheReceiversBound) {
    const auto sealed = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
    EXPECT_EQ(refusal_of(memfd_of(4096, sealed), 4096), "(adopted)");
    EXPECT_NE(refusal_of(memfd_of(4097, sealed), 4096).find("4097 bytes, more than the 4096"), std::string::npos);
}

}  // namespace
}  // namespace offshoot

// peer_access_test.cpp — only the instance's owner (and root) may talk to it. Two gates: the
// socket file (owner's, 0600, in a directory only root can write) stops other uids at
// connect(); the worker's SO_PEERCRED check stops a peer that got past the file anyway.
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon_test.hpp"

namespace offshoot::test {
namespace {

// Drops the calling (forked) process to uid/gid `id` with no supplementary groups.
bool become(uint32_t id) {
    return ::setgroups(0, nullptr) == 0 && ::setresgid(id, id, id) == 0 && ::setresuid(id, id, id) == 0;
}

// In a child running as `id`: connect() to the socket; the child's exit code is the errno
// (0: connected, 255: could not change uid).
int connect_errno_as(uint32_t id, const std::string& socket_path) {
    Subprocess child = Subprocess::fork([&]() -> int {
        if (!become(id)) return 255;
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return 254;
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::strncpy(sa.sun_path, socket_path.c_str(), sizeof sa.sun_path - 1);
        int r = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        return r == 0 ? 0 : errno;
    });
    auto status = child.wait(Deadline(10s));
    if (!status || !status->exited()) return -1;
    return status->code;
}

// In a child running as `id`: a D-Bus client connection to `address` and a Counter.Get call.
// Exit code 0: the call succeeded; 1: the connection or the call failed; 255: setup failed.
int counter_get_as(uint32_t id, const std::string& address) {
    Subprocess child = Subprocess::fork([&]() -> int {
        if (!become(id)) return 255;
        try {
            BusClient peer(address, std::chrono::seconds(5));
            Reply r = peer.call(kObjectName, kObjectPath, kCounterInterface, "Get");
            return r.ok() ? 0 : 1;
        } catch (const std::exception&) {
            return 1;
        }
    });
    auto status = child.wait(Deadline(15s));
    if (!status || !status->exited()) return -1;
    return status->code;
}

// Lets every uid reach `socket`: o+x on each directory from `top` down, 0666 on the socket.
void open_up(const std::filesystem::path& top, const std::filesystem::path& socket) {
    for (auto dir = socket.parent_path(); ; dir = dir.parent_path()) {
        struct stat st {};
        ASSERT_EQ(::stat(dir.c_str(), &st), 0) << dir;
        ASSERT_EQ(::chmod(dir.c_str(), (st.st_mode & 07777) | 0055), 0) << dir;
        if (dir == top || dir == dir.parent_path()) break;
    }
    ASSERT_EQ(::chmod(socket.c_str(), 0666), 0) << socket;
}

class AnInstanceSocket : public DaemonTest {
protected:
    void SetUp() override {
        DaemonTest::SetUp();
        SpawnReply r = spawn(bus(), "Counter", kNobody);
        ASSERT_TRUE(r.ok()) << r.describe();
        address_ = r.address;
        socket_ = unix_socket_path(address_);
        ASSERT_FALSE(socket_.empty()) << "not a unix:path= address: " << address_;
    }
    std::string address_;
    std::filesystem::path socket_;
};

TEST_F(AnInstanceSocket, IsOwnedByTheCallerWithMode0600InADirectoryOnlyRootCanWrite) {
    struct stat st {};
    ASSERT_EQ(::stat(socket_.c_str(), &st), 0) << socket_;
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_uid, ::getuid()) << "owner: the caller (root here)";
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    ASSERT_EQ(::stat(socket_.parent_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_mode & 0022, 0u) << "group or others may write the socket's directory";
}

TEST_F(AnInstanceSocket, RefusesToConnectAPeerWithAnotherUid) {
    // The instance runs as 65534 but belongs to its caller (root): neither 65534 nor 1 may
    // connect, both stopped by the file's permissions.
    EXPECT_EQ(connect_errno_as(kNobody, socket_), EACCES);
    EXPECT_EQ(connect_errno_as(1, socket_), EACCES);
    // The owner can.
    EXPECT_EQ(connect_errno_as(0, socket_), 0);
}

TEST_F(AnInstanceSocket, WhenOpenedUpByRootStillRefusesCallsFromANonOwnerPeer) {
    // Remove the first gate (root may): now uid 1 can connect(), and only the worker's own
    // SO_PEERCRED check stands between it and the object.
    open_up(daemon().runtime_dir(), socket_);
    ASSERT_EQ(connect_errno_as(1, socket_), 0) << "the socket should now be reachable for uid 1";
    EXPECT_EQ(counter_get_as(1, address_), 1) << "the worker served a peer that is neither owner nor root";
    EXPECT_EQ(counter_get_as(kNobody, address_), 1) << "the instance's own uid is not its owner";
    // The owner (root) is still served, so the refusal above was the peer check, not a broken
    // instance.
    EXPECT_EQ(counter_get_as(0, address_), 0);
    BusClient owner(address_);
    EXPECT_TRUE(owner.call(kObjectName, kObjectPath, kCounterInterface, "Get").ok());
}

}  // namespace
}  // namespace offshoot::test

// security_socket_test.cpp — an instance owned by an unprivileged user is that user's alone: its
// socket file stops other uids at connect() (EACCES); with the file opened up by root, the
// worker's own check of the peer's SO_PEERCRED uid (taken at connect(), as dbus-daemon does)
// still refuses them; and a connection made by another uid does not become the owner's by being
// handed over to the owner's process.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <offshoot/common/fd.hpp>

#include "daemon_test.hpp"
#include "offshoot/test/as_user.hpp"
#include "offshoot/test/outcomes.hpp"

namespace offshoot::test {
namespace {

constexpr uint32_t kDaemonUser = 1;  // the owner in these tests
constexpr uint32_t kBinUser = 2;     // another unprivileged user

// A socket connected to `path`; else none, and `error` says why (socket()'s or connect()'s errno).
Fd connect_unix(const std::string& path, int& error) {
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    error = fd ? 0 : errno;
    if (!fd) return fd;
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
        error = errno;
        return Fd();
    }
    return fd;
}

// Speaks D-Bus (as a bus client: Hello, then Counter.Get) on an already connected socket.
// "ok" or the reason it failed.
std::string counter_get_on_fd(int fd) {
    sd_bus* raw = nullptr;
    if (sd_bus_new(&raw) < 0) return "sd_bus_new failed";
    BusPtr bus{raw};
    if (int r = sd_bus_set_fd(raw, fd, fd); r < 0) return std::string("set_fd: ") + std::strerror(-r);
    sd_bus_set_bus_client(raw, 1);
    sd_bus_set_method_call_timeout(raw, 5'000'000);
    if (int r = sd_bus_start(raw); r < 0) return std::string("start: ") + std::strerror(-r);
    BusError error;
    sd_bus_message* reply = nullptr;
    int r = sd_bus_call_method(raw, kObjectName, kObjectPath, kCounterInterface, "Get", &error, &reply, "");
    MessagePtr owned{reply};
    return r >= 0 ? "ok" : std::string("call: ") + (error.e.name ? error.e.name : std::strerror(-r));
}

std::string counter_get_at(const std::string& address) {
    try {
        BusClient peer(address, std::chrono::seconds(5));
        Reply r = peer.call(kObjectName, kObjectPath, kCounterInterface, "Get");
        return r.ok() ? "ok" : "call: " + r.error_name;
    } catch (const std::exception& e) {
        return std::string("connect: ") + e.what();
    }
}

bool send_fd(int channel, int fd) {
    char byte = 'x';
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return ::sendmsg(channel, &msg, 0) == 1;
}

int receive_fd(int channel) {
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (::recvmsg(channel, &msg, MSG_CMSG_CLOEXEC) != 1) return -1;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

class AnUnprivilegedUsersInstance : public DaemonTest {
protected:
    void SetUp() override {
        DaemonTest::SetUp();
        const std::string bus_addr = bus_address();
        auto spawned = decode_outcomes(run_as(kDaemonUser, kDaemonUser, [&] {
            BusClient caller(bus_addr);
            return encode_outcomes({outcome("spawn", spawn(caller, "Counter", kDaemonUser))});
        }));
        ASSERT_EQ(spawned.size(), 1u);
        ASSERT_TRUE(spawned[0].ok()) << spawned[0].describe();
        address_ = spawned[0].address;
        socket_ = unix_socket_path(address_);
        ASSERT_FALSE(socket_.empty()) << address_;
    }

    // connect()'s errno for uid (0: connected).
    int connect_errno_as(uint32_t uid) {
        const std::string path = socket_.string();
        return std::stoi(run_as(uid, uid, [&] {
            int error = 0;
            connect_unix(path, error);  // closed again at once
            return std::to_string(error);
        }));
    }

    std::string counter_get_as(uint32_t uid) {
        const std::string address = address_;
        return run_as(uid, uid, [&] { return counter_get_at(address); });
    }

    // Root lifts the first gate (the file's permissions): o+x on the directories, 0666 on the socket.
    void open_up() {
        for (auto dir = socket_.parent_path();; dir = dir.parent_path()) {
            struct stat st {};
            ASSERT_EQ(::stat(dir.c_str(), &st), 0) << dir;
            ASSERT_EQ(::chmod(dir.c_str(), (st.st_mode & 07777) | 0055), 0) << dir;
            if (dir == daemon().runtime_dir() || dir == dir.parent_path()) break;
        }
        ASSERT_EQ(::chmod(socket_.c_str(), 0666), 0);
    }

    std::string address_;
    std::filesystem::path socket_;
};

TEST_F(AnUnprivilegedUsersInstance, HasASocketOnlyItsOwnerMayOpen) {
    struct stat st {};
    ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kDaemonUser) << "the socket belongs to the instance's owner";
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(connect_errno_as(kBinUser), EACCES);
    EXPECT_EQ(connect_errno_as(kNobody), EACCES);
    EXPECT_EQ(connect_errno_as(kDaemonUser), 0);
    EXPECT_EQ(counter_get_as(kDaemonUser), "ok");
}

TEST_F(AnUnprivilegedUsersInstance, RefusesAnotherUidThatGotPastTheSocketsPermissions) {
    open_up();
    ASSERT_EQ(connect_errno_as(kBinUser), 0) << "the socket should now be reachable for uid 2";
    EXPECT_NE(counter_get_as(kBinUser), "ok") << "the worker served uid 2, neither owner nor root";
    EXPECT_NE(counter_get_as(kNobody), "ok") << "the worker served uid 65534, neither owner nor root";
    // The owner and root are still served: the refusals were the peer check, not a broken worker.
    EXPECT_EQ(counter_get_as(kDaemonUser), "ok");
    EXPECT_EQ(counter_get_at(address_), "ok");
}

TEST_F(AnUnprivilegedUsersInstance, RefusesAConnectionMadeByAnotherUidAndHandedToTheOwner) {
    open_up();
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    Fd sending(pair[0]), receiving(pair[1]);
    const std::string path = socket_.string();
    // uid 2 connects and hands the connected socket over (to the test, which passes it on).
    const std::string sent = run_as(kBinUser, kBinUser, [&] {
        int error = 0;
        Fd fd = connect_unix(path, error);
        if (!fd) return std::string("connect: ") + std::strerror(error);
        return std::string(send_fd(sending.get(), fd.get()) ? "sent" : "sendmsg failed");
    });
    sending.reset();
    ASSERT_EQ(sent, "sent");
    Fd handed(receive_fd(receiving.get()));
    receiving.reset();
    ASSERT_GE(handed.get(), 0);

    // The owner speaks on it: the worker judges the connection by who connected (uid 2).
    const std::string result =
        run_as(kDaemonUser, kDaemonUser, [&] { return counter_get_on_fd(::dup(handed.get())); });
    handed.reset();  // before the owner connects on its own
    EXPECT_NE(result, "ok") << "a connection made by uid 2 was served once handed to the owner";
    // The owner's own connection is served.
    EXPECT_EQ(counter_get_as(kDaemonUser), "ok");
}

}  // namespace
}  // namespace offshoot::test

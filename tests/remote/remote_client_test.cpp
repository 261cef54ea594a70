// remote_client_test.cpp — liboffshoot-client against offshootd on "another host" (issue 20,
// part 4): Supervisor::remote over sd-bus's ssh transport, instances called through the ssh
// tunnel, what the worker's peer check sees through it, who the tunnel admits, the tie to the
// ssh session, and a callback into the caller through ssh. Runs only inside
// tests/remote/ssh-host.sh (ctest does that), which provides the host and its users.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <optional>

#include <offshoot/client.hpp>

#include "offshoot/test/bus_client.hpp"
#include "offshoot/test/deadline.hpp"
#include "offshoot/test/temp_dir.hpp"
#include "org.offshoot1.example.Echo_proxy.h"
#include "org.offshoot1.example.Identity_proxy.h"

namespace offshoot::test {
namespace {

class EchoProxy final : public sdbus::ProxyInterfaces<org::offshoot1::example::Echo_proxy> {
public:
    EchoProxy(sdbus::IConnection& c, std::string destination, std::string path)
        : ProxyInterfaces(c, std::move(destination), std::move(path)) {
        registerProxy();
    }
    ~EchoProxy() { unregisterProxy(); }
};

class IdentityProxy final : public sdbus::ProxyInterfaces<org::offshoot1::example::Identity_proxy> {
public:
    IdentityProxy(sdbus::IConnection& c, std::string destination, std::string path)
        : ProxyInterfaces(c, std::move(destination), std::move(path)) {
        registerProxy();
    }
    ~IdentityProxy() { unregisterProxy(); }
};

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

class ARemoteHost : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_FALSE(host_.empty()) << "OFFSHOOT_TEST_SSH_HOST is not set: run this test through "
                                       "tests/remote/ssh-host.sh (ctest -L remote does)";
        ASSERT_FALSE(other_.empty());
        ASSERT_GT(uid_, 0u);
    }

    const std::string host_ = env("OFFSHOOT_TEST_SSH_HOST");
    const std::string other_ = env("OFFSHOOT_TEST_SSH_OTHER");
    const uint32_t uid_ = static_cast<uint32_t>(std::strtoul(env("OFFSHOOT_TEST_SSH_UID").c_str(), nullptr, 10));
};

TEST_F(ARemoteHost, SpawnsAnInstanceAndCallsItThroughTheTunnel) {
    auto sup = Supervisor::remote(host_);
    EXPECT_EQ(sup.host(), host_);
    EXPECT_THAT(sup.version(), ::testing::Not(::testing::IsEmpty()));
    // No uid given: the caller's own, which is the ssh login's on the remote side.
    auto echo = make_bridge<EchoProxy>(sup, "Echo", SpawnOptions{});
    EXPECT_EQ(echo->Ping(42), 42);
    EXPECT_EQ(echo.instance().uid(), uid_);
    const std::vector<uint8_t> data(100'000, 7);
    EXPECT_EQ(echo->Echo(data), data);
    // The address is the remote host's: nothing on this machine answers at it.
    EXPECT_THAT(echo.instance().address(), ::testing::StartsWith("unix:path=/run/offshoot/"));
}

TEST_F(ARemoteHost, RunsTheInstanceAsTheSshLoginWhateverTheLocalUid) {
    auto sup = Supervisor::remote(host_);
    auto identity = make_bridge<IdentityProxy>(sup, "Identity", SpawnOptions{.cwd = "/"});
    const auto [uid, gid, groups, cwd, pid] = identity->Describe();
    EXPECT_EQ(uid, uid_);
    EXPECT_EQ(cwd, "/");
    EXPECT_NE(::getuid(), uid_);  // this process is root here
    // Spawning as anyone else needs the class's AllowedCallers= to name the login user.
    try {
        (void)sup.spawn("Identity", SpawnOptions{.uid = 65534});
        ADD_FAILURE() << "uid " << uid_ << " spawned as 65534";
    } catch (const Error& e) {
        EXPECT_EQ(e.getName(), errors::access_denied);
    }
}

// The worker checks each peer's SO_PEERCRED: through the tunnel the peer is
// systemd-stdio-bridge, running as the ssh login — the uid its bus facade reports for us.
TEST_F(ARemoteHost, TheWorkersPeerCheckSeesTheSshLogin) {
    auto sup = Supervisor::remote(host_);
    Instance echo = sup.spawn("Echo", SpawnOptions{});
    BusClient client(ssh_tunnel_address(host_, echo.address()));
    const char* unique = nullptr;
    ASSERT_GE(sd_bus_get_unique_name(client.get(), &unique), 0);
    MessagePtr reply = client.call_checked("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                           "GetConnectionUnixUser", [&](sd_bus_message* m) {
                                               return sd_bus_message_append(m, "s", unique);
                                           });
    uint32_t seen = 0;
    ASSERT_GE(sd_bus_message_read(reply.get(), "u", &seen), 0);
    EXPECT_EQ(seen, uid_);
}

// Another login on the same host may not read the address (offshootd) nor, knowing it,
// connect (the socket is the owner's, 0600): the bridge it runs cannot open it.
TEST_F(ARemoteHost, AnotherLoginCannotReachTheInstance) {
    auto sup = Supervisor::remote(host_);
    Instance echo = sup.spawn("Echo", SpawnOptions{});
    const std::string address = echo.address();
    auto other = Supervisor::remote(other_);
    Instance borrowed = other.adopt(echo.path());
    try {
        (void)borrowed.address();
        ADD_FAILURE() << "another login read the instance's address";
    } catch (const Error& e) {
        EXPECT_EQ(e.getName(), errors::access_denied);
    }
    borrowed.detach();
    EXPECT_THROW({ BusClient refused(ssh_tunnel_address(other_, address)); }, std::exception);
    // The owner still can.
    BusClient owner(ssh_tunnel_address(host_, address));
    EXPECT_NO_THROW(owner.introspect(names::object_name, names::object_path));
}

// tie-to-caller (the library's default) ties the instance to the supervisor connection: over
// ssh, to the ssh session. Closing it (here: dropping the Supervisor) ends the instance.
TEST_F(ARemoteHost, ATiedInstanceEndsWithTheSshSession) {
    std::string path;
    {
        auto sup = Supervisor::remote(host_);
        path = sup.spawn("Echo", SpawnOptions{}).detach();  // not stopped by us
    }
    auto watcher = Supervisor::remote(host_);
    EXPECT_TRUE(wait_until(
        [&] {
            for (const auto& i : watcher.instances())
                if (i.path == path) return false;
            return true;
        },
        Deadline(10s)))
        << path << " outlived the ssh session it was tied to";
}

// A callback into the caller through ssh both ways: the worker calls the Sink this test
// exports on its tunnelled connection.
TEST_F(ARemoteHost, CallsBackIntoTheCallerThroughTheTunnel) {
    TempDir tree("offshoot-remote-walk", 0755);
    std::ofstream(tree / "one") << "1";
    auto sup = Supervisor::remote(host_);
    Instance walker = sup.spawn("Walker", SpawnOptions{});
    BusClient client(ssh_tunnel_address(host_, walker.address()));
    std::vector<std::string> names;
    static const sd_bus_vtable vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Entry", "s", "",
                      [](sd_bus_message* m, void* userdata, sd_bus_error*) {
                          const char* name = nullptr;
                          int r = sd_bus_message_read(m, "s", &name);
                          if (r < 0) return r;
                          static_cast<std::vector<std::string>*>(userdata)->emplace_back(name);
                          return sd_bus_reply_method_return(m, "");
                      },
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
    };
    ASSERT_GE(sd_bus_add_object_vtable(client.get(), nullptr, "/sink", "org.offshoot1.example.Sink", vtable, &names), 0);
    std::optional<uint32_t> count;
    ASSERT_GE(sd_bus_call_method_async(
                  client.get(), nullptr, names::object_name, names::object_path, "org.offshoot1.example.Walker",
                  "Walk",
                  [](sd_bus_message* m, void* userdata, sd_bus_error*) {
                      uint32_t n = 0;
                      if (!sd_bus_message_is_method_error(m, nullptr) && sd_bus_message_read(m, "u", &n) >= 0)
                          *static_cast<std::optional<uint32_t>*>(userdata) = n;
                      else
                          *static_cast<std::optional<uint32_t>*>(userdata) = UINT32_MAX;
                      return 0;
                  },
                  &count, "so", tree.str().c_str(), "/sink"),
              0);
    ASSERT_TRUE(client.process_until([&] { return count.has_value(); }, Deadline(20s)));
    EXPECT_EQ(*count, 1u);
    EXPECT_EQ(names, std::vector<std::string>{"one"});
}

}  // namespace
}  // namespace offshoot::test

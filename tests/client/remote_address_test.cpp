// remote_address_test.cpp — ssh_tunnel_address (offshoot/client/remote.hpp) without ssh: the
// unixexec address for each form of host sd_bus_open_system_remote() takes, D-Bus escaping of
// every argument, and the hosts and addresses it refuses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <offshoot/client.hpp>

namespace {

using offshoot::ssh_tunnel_address;
constexpr const char* kAddress = "unix:path=/run/offshoot/instances/3";
// The head (ssh options and destination, each argument D-Bus-escaped), then the bridge with
// "--bus-path=unix:path=/run/offshoot/instances/3" as arguments `next` and `next + 1`.
std::string expected(const std::string& head, int next) {
    return "unixexec:path=ssh,argv1=-xT," + head + "argv" + std::to_string(next) + "=systemd-stdio-bridge,argv" +
           std::to_string(next + 1) + "=--bus-path%3dunix%3apath%3d/run/offshoot/instances/3";
}

TEST(AnSshTunnelAddress, RunsTheBridgeOnTheHostAfterAnEndOfOptions) {
    EXPECT_EQ(ssh_tunnel_address("alice@example.org", kAddress),
              expected("argv2=--,argv3=alice%40example.org,", 4));
    EXPECT_EQ(ssh_tunnel_address("example.org", kAddress), expected("argv2=--,argv3=example.org,", 4));
}

TEST(AnSshTunnelAddress, PassesAPortAsSdBusDoes) {
    EXPECT_EQ(ssh_tunnel_address("alice@example.org:2222", kAddress),
              expected("argv2=-p,argv3=2222,argv4=--,argv5=alice%40example.org,", 6));
}

TEST(AnSshTunnelAddress, TakesAnIpv6AddressInBrackets) {
    EXPECT_EQ(ssh_tunnel_address("[::1]", kAddress), expected("argv2=--,argv3=%3a%3a1,", 4));
    EXPECT_EQ(ssh_tunnel_address("bob@[fe80::1]:22", kAddress),
              expected("argv2=-p,argv3=22,argv4=--,argv5=bob%40fe80%3a%3a1,", 6));
}

TEST(AnSshTunnelAddress, RefusesHostsSshCouldMisreadOrTheBridgeCouldNotServe) {
    for (const char* host : {"", "-oProxyCommand=x", "a@", "@h", "a@b@c", "h:port", "h:", "[::1", "h/container",
                             "a b", "h\n"}) {
        try {
            (void)ssh_tunnel_address(host, kAddress);
            ADD_FAILURE() << "accepted host '" << host << "'";
        } catch (const offshoot::Error& e) {
            EXPECT_EQ(e.getName(), offshoot::errors::invalid_argument) << host;
        }
    }
}

TEST(AnSshTunnelAddress, RefusesAnAddressTheRemoteShellWouldInterpret) {
    for (const char* address : {"", "unix:path=/x;touch /tmp/y", "unix:path=/x y", "unix:path=$(id)", "unix:path=`id`"}) {
        try {
            (void)ssh_tunnel_address("h", address);
            ADD_FAILURE() << "accepted address '" << address << "'";
        } catch (const offshoot::Error& e) {
            EXPECT_EQ(e.getName(), offshoot::errors::invalid_argument) << address;
        }
    }
}

TEST(ARemoteSupervisor, RefusesABadHostBeforeRunningSsh) {
    try {
        (void)offshoot::Supervisor::remote("host/container");
        ADD_FAILURE() << "accepted a container";
    } catch (const offshoot::Error& e) {
        EXPECT_EQ(e.getName(), offshoot::errors::invalid_argument);
        EXPECT_THAT(e.getMessage(), ::testing::HasSubstr("container"));
    }
}

}  // namespace

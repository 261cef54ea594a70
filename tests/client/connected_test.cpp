// connected_test.cpp — Connected<P> (offshoot/client/connected.hpp) against a private
// dbus-daemon standing in for an instance's peer: when the peer dies, a call in flight fails at
// once with an offshoot::Error and the client process lives on. (sdbus-c++ 1.2's own
// enterEventLoopAsync() would call std::terminate here.)
#include <signal.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>

#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>

#include <offshoot/client.hpp>

#include "offshoot/test/deadline.hpp"
#include "offshoot/test/test_bus.hpp"

namespace offshoot::test {
namespace {

constexpr const char* kPeerName = "org.offshoot1.test.Silent";
constexpr const char* kPeerPath = "/org/offshoot1/test";

// A peer that accepts a call and never answers it: the call stays in flight.
class SilentPeer {
public:
    explicit SilentPeer(const std::string& address)
        : connection_(open_connection(address)),
          object_(sdbus::createObject(*connection_, kPeerPath)) {
        connection_->requestName(kPeerName);
        object_->registerMethod("Hang").onInterface(kPeerName).implementedAs(
            [this](sdbus::Result<>&& pending) {
                std::lock_guard lock(mutex_);
                pending_.push_back(std::move(pending));  // never answered
                arrived_.notify_all();
            });
        object_->finishRegistration();
        loop_.emplace(*connection_);
    }
    ~SilentPeer() { loop_.reset(); }

    bool wait_for_call(const Deadline& deadline) {
        std::unique_lock lock(mutex_);
        return arrived_.wait_for(lock, deadline.remaining(), [&] { return !pending_.empty(); });
    }

private:
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IObject> object_;
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::vector<sdbus::Result<>> pending_;
    std::optional<EventLoopThread> loop_;
};

// The smallest P Connected<P> accepts: the (connection, destination, path) constructor.
struct RawProxy {
    RawProxy(sdbus::IConnection& connection, std::string destination, std::string path)
        : proxy(sdbus::createProxy(connection, std::move(destination), std::move(path))) {}
    void hang() { proxy->callMethod("Hang").onInterface(kPeerName).withTimeout(60s).storeResultsTo(); }
    std::unique_ptr<sdbus::IProxy> proxy;
};

TEST(AConnectedProxy, FailsTheCallInFlightAtOnceAndKeepsTheClientAliveWhenThePeerDies) {
    TestBus bus;
    SilentPeer peer(bus.address());
    Connected<RawProxy> connected(open_connection(bus.address()), kPeerName, kPeerPath);

    auto call = std::async(std::launch::async, [&] { connected->hang(); });
    ASSERT_TRUE(peer.wait_for_call(Deadline(5s))) << "the call never reached the peer";

    ASSERT_EQ(::kill(bus.pid(), SIGKILL), 0);
    const auto killed_at = Clock::now();
    ASSERT_EQ(call.wait_for(5s), std::future_status::ready) << "the call in flight still hangs";
    const auto failed_after = Clock::now() - killed_at;
    try {
        call.get();
        FAIL() << "the call in flight succeeded";
    } catch (const offshoot::Error& e) {
        EXPECT_TRUE(e.getName() == errors::no_reply ||
                    e.getName() == "org.freedesktop.DBus.Error.Disconnected")
            << e.what();
    }
    EXPECT_LT(failed_after, 1s);

    EXPECT_TRUE(wait_until([&] { return connected.disconnected(); }, Deadline(5s)));
    // Later calls fail too (they must not wait for a loop that has ended).
    auto later = std::async(std::launch::async, [&] { connected->hang(); });
    ASSERT_EQ(later.wait_for(5s), std::future_status::ready) << "a call after the peer died hangs";
    EXPECT_THROW(later.get(), offshoot::Error);
}

TEST(AConnectedProxy, IsTornDownPromptlyWhileItsPeerIsAlive) {
    TestBus bus;
    SilentPeer peer(bus.address());
    std::optional<Connected<RawProxy>> connected;
    connected.emplace(open_connection(bus.address()), kPeerName, kPeerPath);
    EXPECT_TRUE(*connected);
    EXPECT_FALSE(connected->disconnected());
    auto teardown = std::async(std::launch::async, [&] { connected.reset(); });
    EXPECT_EQ(teardown.wait_for(5s), std::future_status::ready) << "the loop thread did not end";
}

}  // namespace
}  // namespace offshoot::test

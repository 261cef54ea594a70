// connected_test.cpp — Connected<P> (offshoot/client/connected.hpp) against a private
// dbus-daemon standing in for an instance's peer: when the peer dies, a call in flight fails at
// once with an offshoot::Error and the client process lives on (sdbus-c++ 1.2's own
// enterEventLoopAsync() would call std::terminate here); a peer that never answers runs into
// the proxy's timeout or the call's own, which is not mistaken for the peer dying — with each
// kind of Connected (default, calls_only, with_callbacks) and for async calls.
#include <signal.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

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
    // With the connection's timeout (set_timeout) or the call's own (with_timeout), as a
    // generated method calls.
    void hang_default() { proxy->callMethod("Hang").onInterface(kPeerName).storeResultsTo(); }
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
        EXPECT_FALSE(is_timeout(e)) << "a peer that died was reported as a timeout: " << e.what();
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

// The error a timed-out call ends with, and how long it took.
template <class F>
std::pair<std::string, Clock::duration> failure_of(F&& call) {
    const auto start = Clock::now();
    try {
        call();
    } catch (const offshoot::Error& e) {
        return {e.getName(), Clock::now() - start};
    }
    return {"(no error)", Clock::now() - start};
}

template <class Kind>
class AProxyOfEachKind : public ::testing::Test {
protected:
    Connected<RawProxy> make(const std::string& address) {
        if constexpr (std::is_same_v<Kind, void>)
            return Connected<RawProxy>(open_connection(address), kPeerName, kPeerPath);
        else
            return Connected<RawProxy>(Kind{}, open_connection(address), kPeerName, kPeerPath);
    }
};
using Kinds = ::testing::Types<void, calls_only_t, with_callbacks_t>;
TYPED_TEST_SUITE(AProxyOfEachKind, Kinds);

TYPED_TEST(AProxyOfEachKind, FailsACallPastItsTimeoutWithOffshootsTimeoutError) {
    TestBus bus;
    SilentPeer peer(bus.address());
    auto connected = this->make(bus.address());
    EXPECT_EQ(connected.timeout(), 25s) << "sd-bus's default, as documented";
    connected.set_timeout(300ms);
    EXPECT_EQ(connected.timeout(), 300ms);

    auto [name, took] = failure_of([&] { connected.call([](RawProxy& p) { p.hang_default(); }); });
    EXPECT_EQ(name, errors::timeout);
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 5s);
    // Without call(): sd-bus's own name, which is_timeout() recognizes.
    try {
        connected->hang_default();
        ADD_FAILURE() << "the call did not time out";
    } catch (const offshoot::Error& e) {
        EXPECT_TRUE(is_timeout(e)) << e.getName() << ": " << e.getMessage();
    }
    EXPECT_TRUE(peer.wait_for_call(Deadline(5s)));
}

TYPED_TEST(AProxyOfEachKind, AppliesAPerCallTimeoutToThatCallOnly) {
    TestBus bus;
    SilentPeer peer(bus.address());
    auto connected = this->make(bus.address());
    connected.set_timeout(40s);

    auto [name, took] = failure_of([&] { connected.with_timeout(200ms)->hang_default(); });
    EXPECT_NE(name, "(no error)");
    EXPECT_GE(took, 200ms);
    EXPECT_LT(took, 5s);
    EXPECT_EQ(connected.timeout(), 40s) << "the per-call timeout outlived its call";

    auto [name2, took2] = failure_of([&] { connected.call(200ms, [](RawProxy& p) { p.hang_default(); }); });
    EXPECT_EQ(name2, errors::timeout);
    EXPECT_LT(took2, 5s);
    EXPECT_EQ(connected.timeout(), 40s);
}

TEST(ADefaultProxy, FailsAnAsyncCallAtItsTimeoutWhileItsThreadIsIdle) {
    // The delivery thread sleeps with no deadline when the call is made; the call's own (200 ms)
    // must wake it, or the reply handler would wait for the next message that ever comes.
    TestBus bus;
    SilentPeer peer(bus.address());
    Connected<RawProxy> connected(open_connection(bus.address()), kPeerName, kPeerPath);
    std::promise<std::string> outcome;
    const auto start = Clock::now();
    connected->proxy->callMethodAsync("Hang").onInterface(kPeerName).withTimeout(200ms).uponReplyInvoke(
        [&](const sdbus::Error* error) {
            outcome.set_value(error ? (is_timeout(*error) ? "timeout" : error->getName()) : "answered");
        });
    auto result = outcome.get_future();
    ASSERT_EQ(result.wait_for(5s), std::future_status::ready) << "the async call never timed out";
    EXPECT_EQ(result.get(), "timeout");
    EXPECT_GE(Clock::now() - start, 200ms);
}

}  // namespace
}  // namespace offshoot::test

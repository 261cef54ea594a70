// callback_test.cpp — a C++ caller exports an object on the connection of its proxy and the
// instance calls it back (issue 20 part 2, client side): the Sink is an sdbus-c++ adaptor
// generated from org.offshoot1.example.Sink.xml (offshoot_add_export), served by the
// with_callbacks proxy's loop thread while Walk waits; what the Walker reports is what the
// caller's object collected, not a copy. Against the build tree's offshootd on a private
// dbus-daemon, as root (the Walker runs as uid 65534).
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <stdexcept>
#include <mutex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <offshoot/client.hpp>

#include "offshoot/test/temp_dir.hpp"
#include "offshoot/test/test_bus.hpp"
#include "offshoot/test/test_daemon.hpp"
#include "org.offshoot1.example.Sink_export.h"
#include "org.offshoot1.example.Walker_proxy.h"

namespace offshoot::test {
namespace {

constexpr uint32_t kNobody = 65534;
constexpr const char* kSinkPath = "/org/example/sink";

class WalkerProxy final : public sdbus::ProxyInterfaces<org::offshoot1::example::Walker_proxy> {
public:
    WalkerProxy(sdbus::IConnection& c, std::string destination, std::string path)
        : ProxyInterfaces(c, std::move(destination), std::move(path)) {
        registerProxy();
    }
    ~WalkerProxy() { unregisterProxy(); }

    // Walk, sent asynchronously: the reply and the Sink's calls then both arrive on the loop
    // thread. (The generated Walk() is a synchronous sd_bus_call on this thread while the loop
    // thread reads the same socket: either may read the reply, and the loop thread would drop
    // it — a call that serves callbacks must be asynchronous; docs/timeouts.md, "Callbacks".)
    std::future<uint32_t> walk_async(const std::string& directory, const char* sink) {
        auto promise = std::make_shared<std::promise<uint32_t>>();
        std::future<uint32_t> answer = promise->get_future();
        getProxy()
            .callMethodAsync("Walk")
            .onInterface(INTERFACE_NAME)
            .withArguments(directory, sdbus::ObjectPath(sink))
            .uponReplyInvoke([promise](const sdbus::Error* error, uint32_t count) {
                if (error) promise->set_exception(std::make_exception_ptr(*error));
                else promise->set_value(count);
            });
        return answer;
    }
};

// The walk's answer, waited for with a deadline (the Walker's callback timeout is 25 s).
uint32_t answer_of(std::future<uint32_t>& walk) {
    if (walk.wait_for(std::chrono::seconds(20)) != std::future_status::ready)
        throw std::runtime_error("Walk was not answered within 20 s");
    return walk.get();
}

// The caller's object: collects every name; refuses the `refuse_at`-th one with its own error.
class Sink final : public sdbus::AdaptorInterfaces<org::offshoot1::example::Sink_adaptor> {
public:
    Sink(sdbus::IConnection& c, std::string path, std::size_t refuse_at = 0)
        : AdaptorInterfaces(c, std::move(path)), refuse_at_(refuse_at) {
        registerAdaptor();
    }
    ~Sink() { unregisterAdaptor(); }

    std::vector<std::string> names() const {
        std::lock_guard lock(mutex_);
        return names_;
    }

private:
    void Entry(const std::string& name) override {
        std::lock_guard lock(mutex_);
        if (refuse_at_ != 0 && names_.size() + 1 == refuse_at_)
            throw sdbus::Error("org.example.Sink.Full", "the sink is full");
        names_.push_back(name);
    }
    const std::size_t refuse_at_;
    mutable std::mutex mutex_;
    std::vector<std::string> names_;
};

class ACallersExportedObject : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(::geteuid(), 0u) << "needs root: the Walker runs as uid " << kNobody;
        bus_.emplace();
        daemon_.emplace(*bus_);
        std::ofstream(tree_ / "a") << "a";
        make_dir(tree_ / "b", 0755);
        std::ofstream(tree_ / "b" / "c") << "c";
        make_dir(tree_ / "secret", 0700);  // uid 65534 sees it, not what is in it
        std::ofstream(tree_ / "secret" / "hidden") << "x";
    }
    void TearDown() override {
        daemon_.reset();
        bus_.reset();
    }
    Supervisor supervisor() { return Supervisor::at(bus_->address()); }

    std::optional<TestBus> bus_;
    std::optional<TestDaemon> daemon_;
    TempDir tree_{"offshoot-client-walk", 0755};
};

TEST_F(ACallersExportedObject, IsCalledBackForEveryEntryTheInstancesUserCanSee) {
    auto sup = supervisor();
    auto walker = make_bridge<WalkerProxy>(sup, "Walker", kNobody, with_callbacks);
    Sink sink(walker.connected().connection(), kSinkPath);

    auto walk = walker.proxy().walk_async(tree_.str(), kSinkPath);
    const uint32_t count = answer_of(walk);

    EXPECT_EQ(sink.names(), (std::vector<std::string>{"a", "b", "b/c", "secret"}));
    EXPECT_EQ(count, 4u);
}

TEST_F(ACallersExportedObject, ThatThrowsEndsTheCallWithItsOwnErrorName) {
    auto sup = supervisor();
    auto walker = make_bridge<WalkerProxy>(sup, "Walker", kNobody, with_callbacks);
    Sink sink(walker.connected().connection(), kSinkPath, /*refuse_at=*/2);
    try {
        auto walk = walker.proxy().walk_async(tree_.str(), kSinkPath);
        (void)answer_of(walk);
        FAIL() << "Walk succeeded although the sink refused an entry";
    } catch (const Error& e) {  // offshoot::Error is sdbus::Error
        EXPECT_EQ(e.getName(), "org.example.Sink.Full") << e.what();
    }
    EXPECT_EQ(sink.names(), (std::vector<std::string>{"a"}));
}

TEST_F(ACallersExportedObject, NotThereFailsTheCallWithUnknownObject) {
    auto sup = supervisor();
    auto walker = make_bridge<WalkerProxy>(sup, "Walker", kNobody, with_callbacks);
    try {
        auto walk = walker.proxy().walk_async(tree_.str(), kSinkPath);
        (void)answer_of(walk);
        FAIL() << "Walk succeeded with no sink exported";
    } catch (const Error& e) {  // offshoot::Error is sdbus::Error
        EXPECT_EQ(e.getName(), "org.freedesktop.DBus.Error.UnknownObject") << e.what();
    }
}

}  // namespace
}  // namespace offshoot::test

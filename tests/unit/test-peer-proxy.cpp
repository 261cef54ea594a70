// test-peer-proxy.cpp — the proxies offshoot-adaptorgen generates for calling back into a caller
// (offshoot/caller.hpp), over a real sd-bus peer connection: the object under test (Relay, a
// generated adaptor) calls the Mirror object its peer exports through the generated
// Mirror_peer — typed values both ways, the peer's own errors, a path it does not serve, a call
// that expects no reply, and the blocking form refused on the loop thread.
#include "org.offshoot1.test.Callback_adaptor.hpp"
#include "org.offshoot1.test.Callback_peer.hpp"
#include "test-adaptorgen-peer.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using org::offshoot1::test::Mirror_peer;

// The server thread of PeerPair is the "loop thread"; nothing is ever posted to it here.
class TestLoop final : public offshoot::LoopExecutor {
public:
    bool post(std::function<void()>) override { return false; }
    bool on_loop_thread() const noexcept override { return std::this_thread::get_id() != test_thread_; }

private:
    std::thread::id test_thread_ = std::this_thread::get_id();
};

class Relay final : public org::offshoot1::test::Relay_adaptor {
public:
    void Forward(offshoot::Result<std::string, uint32_t> result, const std::string& text,
                 const sdbus::ObjectPath& target) override {
        auto answer = std::make_shared<offshoot::Result<std::string, uint32_t>>(std::move(result));
        Mirror_peer(caller(), target).Reflect(text, [answer](const offshoot::Error* error, const std::string& reversed,
                                                             const uint32_t& length) {
            if (error) answer->return_error(*error);
            else answer->return_value(reversed, length);
        });
    }
    void ForwardBlocking(const sdbus::ObjectPath& target) override { Mirror_peer(caller(), target).Reflect("x"); }
    void Notify(const std::string& text, const sdbus::ObjectPath& target) override {
        Mirror_peer(caller(), target).Note(text);
    }
};

// What the test's side of the connection exports at /mirror.
struct Mirror {
    std::vector<std::string> notes;
    bool fail = false;

    static int reflect(sd_bus_message* m, void* userdata, sd_bus_error* error) {
        auto* self = static_cast<Mirror*>(userdata);
        const char* text = nullptr;
        int r = sd_bus_message_read(m, "s", &text);
        if (r < 0) return r;
        if (self->fail) return sd_bus_error_set(error, "org.offshoot1.test.Mirror.Broken", "mirror broken");
        const std::string s(text);
        return sd_bus_reply_method_return(m, "su", std::string(s.rbegin(), s.rend()).c_str(),
                                          static_cast<uint32_t>(s.size()));
    }
    static int note(sd_bus_message* m, void* userdata, sd_bus_error*) {
        const char* text = nullptr;
        int r = sd_bus_message_read(m, "s", &text);
        if (r < 0) return r;
        static_cast<Mirror*>(userdata)->notes.emplace_back(text);
        return 1;
    }
};

const sd_bus_vtable mirror_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Reflect", "s", "su", Mirror::reflect, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Note", "s", "", Mirror::note, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_METHOD_NO_REPLY),
    SD_BUS_VTABLE_END,
};

class APeerProxy : public testing::Test {
protected:
    void SetUp() override {
        relay_.set_loop_executor(std::make_shared<TestLoop>());
        pair_ = std::make_unique<offshoot::test::PeerPair>(relay_);
        ASSERT_GE(sd_bus_add_object_vtable(client(), nullptr, "/mirror", "org.offshoot1.test.Mirror", mirror_vtable,
                                           &mirror_),
                  0);
    }
    void TearDown() override { pair_.reset(); }

    sd_bus* client() const { return pair_->client(); }

    // The outcome of one call of Relay.
    struct Answer {
        offshoot::marshal::detail::MessageRef reply;
        std::string error_name, error_message;
        bool done = false;
    };

    // Calls Relay.<member>(text, target) — or (target) when text is null — and serves the
    // Mirror's calls until the reply comes (a blocking sd_bus_call would leave them unread).
    std::unique_ptr<Answer> call(const char* member, const char* text, const char* target) {
        auto answer = std::make_unique<Answer>();
        sd_bus_message_handler_t on_reply = [](sd_bus_message* m, void* userdata, sd_bus_error*) {
            auto* a = static_cast<Answer*>(userdata);
            if (const sd_bus_error* e = sd_bus_message_get_error(m)) {
                a->error_name = e->name;
                a->error_message = e->message ? e->message : "";
            } else {
                a->reply.m = sd_bus_message_ref(m);
            }
            a->done = true;
            return 0;
        };
        const int r = text ? sd_bus_call_method_async(client(), nullptr, nullptr, offshoot::object_path,
                                                      "org.offshoot1.test.Relay", member, on_reply, answer.get(),
                                                      "so", text, target)
                           : sd_bus_call_method_async(client(), nullptr, nullptr, offshoot::object_path,
                                                      "org.offshoot1.test.Relay", member, on_reply, answer.get(),
                                                      "o", target);
        EXPECT_GE(r, 0);
        while (r >= 0 && !answer->done) {
            const int p = sd_bus_process(client(), nullptr);
            if (p < 0) break;
            if (p == 0 && sd_bus_wait(client(), 10'000'000) <= 0) break;  // 10 s: a hang fails the test
        }
        EXPECT_TRUE(answer->done) << member << " was not answered";
        return answer;
    }

    Relay relay_;
    Mirror mirror_;
    std::unique_ptr<offshoot::test::PeerPair> pair_;
};

TEST_F(APeerProxy, CallsTheCallersObjectAndHandsBackItsTypedReply) {
    auto answer = call("Forward", "stressed", "/mirror");
    ASSERT_TRUE(answer->reply.m) << answer->error_name << ": " << answer->error_message;
    const char* reversed = nullptr;
    uint32_t length = 0;
    ASSERT_GE(sd_bus_message_read(answer->reply.m, "su", &reversed, &length), 0);
    EXPECT_STREQ(reversed, "desserts");
    EXPECT_EQ(length, 8u);
}

TEST_F(APeerProxy, HandsOnTheCallersOwnErrorByNameAndMessage) {
    mirror_.fail = true;
    auto answer = call("Forward", "x", "/mirror");
    EXPECT_EQ(answer->error_name, "org.offshoot1.test.Mirror.Broken");
    EXPECT_EQ(answer->error_message, "mirror broken");
}

TEST_F(APeerProxy, FailsWithUnknownObjectForAPathTheCallerDoesNotServe) {
    auto answer = call("Forward", "x", "/nowhere");
    EXPECT_EQ(answer->error_name, "org.freedesktop.DBus.Error.UnknownObject");
}

TEST_F(APeerProxy, SendsANoReplyMethodWithoutWaitingForAnAnswer) {
    auto answer = call("Notify", "hello", "/mirror");
    ASSERT_TRUE(answer->reply.m) << answer->error_name << ": " << answer->error_message;
    // The Note went out before Notify's reply, on the same connection: it has been served.
    EXPECT_EQ(mirror_.notes, (std::vector<std::string>{"hello"}));
}

TEST_F(APeerProxy, RefusesTheBlockingFormOnTheLoopThreadInsteadOfHanging) {
    auto answer = call("ForwardBlocking", nullptr, "/mirror");
    EXPECT_EQ(answer->error_name, offshoot::errors::dbus_failed);
    EXPECT_NE(answer->error_message.find("would stop the loop it waits for"), std::string::npos)
        << answer->error_message;
}

}  // namespace

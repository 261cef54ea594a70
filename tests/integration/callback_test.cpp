// callback_test.cpp — calls back into the caller (issue 20, part 2), from a plain sd-bus client:
// the test connects to a Walker instance's private address as any bus client does, exports an
// org.offshoot1.example.Sink object on that same connection, and calls Walk. The worker calls
// the Sink for every entry it can see as uid 65534; a Sink that fails, one that is not there,
// one that never answers and a caller that hangs up mid-walk each end the walk with a named
// error, while the instance goes on answering other connections.
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "daemon_test.hpp"

namespace offshoot::test {
namespace {

constexpr const char* kWalker = "org.offshoot1.example.Walker";
constexpr const char* kSink = "org.offshoot1.example.Sink";
constexpr const char* kSinkPath = "/org/example/sink";

// The object the test exports. `mode` says how it answers Entry.
struct Sink {
    enum Mode { answer, fail_at_second, never_answer };
    Mode mode = answer;
    std::vector<std::string> names;
    std::vector<MessagePtr> unanswered;  // Entry calls held without a reply

    static int entry(sd_bus_message* m, void* userdata, sd_bus_error* error) {
        auto* self = static_cast<Sink*>(userdata);
        const char* name = nullptr;
        int r = sd_bus_message_read(m, "s", &name);
        if (r < 0) return r;
        self->names.emplace_back(name);
        switch (self->mode) {
        case answer: return sd_bus_reply_method_return(m, "");
        case fail_at_second:
            if (self->names.size() == 2) return sd_bus_error_set(error, "org.example.Sink.Full", "the sink is full");
            return sd_bus_reply_method_return(m, "");
        case never_answer: self->unanswered.emplace_back(sd_bus_message_ref(m)); return 1;
        }
        return 1;
    }
};

const sd_bus_vtable sink_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Entry", "s", "", Sink::entry, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

// The outcome of an asynchronous Walk.
struct WalkCall {
    bool done = false;
    uint32_t count = 0;
    std::string error_name, error_message;
    SlotPtr slot;
};

class Callbacks : public DaemonTest {
protected:
    void SetUp() override {
        DaemonTest::SetUp();
        // tree/ a  b/ b/c  link -> /  secret/ (root's, 0700) secret/hidden
        std::ofstream(tree_ / "a") << "a";
        make_dir(tree_ / "b", 0755);
        std::ofstream(tree_ / "b" / "c") << "c";
        std::filesystem::create_symlink("/", tree_ / "link");
        make_dir(tree_ / "secret", 0700);
        std::ofstream(tree_ / "secret" / "hidden") << "h";
    }

    // A Walker as uid 65534; `timeout_ms` is its callback timeout ("" = the default).
    std::string spawn_walker(const std::string& timeout_ms = "") {
        SpawnOptions options{{"uid", kNobody}};
        if (!timeout_ms.empty()) options.push_back({"arguments", std::vector<std::string>{timeout_ms}});
        SpawnReply r = spawn_with_options(bus(), "Walker", options);
        EXPECT_TRUE(r.ok()) << r.describe();
        return r.address;
    }

    // `client` exports `sink` at kSinkPath.
    void export_sink(BusClient& client, Sink& sink) {
        ASSERT_GE(sd_bus_add_object_vtable(client.get(), nullptr, kSinkPath, kSink, sink_vtable, &sink), 0);
    }

    // Sends Walk(directory, sink_path) on `client` without waiting.
    std::unique_ptr<WalkCall> start_walk(BusClient& client, const std::string& directory,
                                         const char* sink_path = kSinkPath) {
        auto call = std::make_unique<WalkCall>();
        sd_bus_slot* slot = nullptr;
        const int r = sd_bus_call_method_async(
            client.get(), &slot, kObjectName, kObjectPath, kWalker, "Walk",
            [](sd_bus_message* m, void* userdata, sd_bus_error*) {
                auto* c = static_cast<WalkCall*>(userdata);
                if (const sd_bus_error* e = sd_bus_message_get_error(m)) {
                    c->error_name = e->name;
                    c->error_message = e->message ? e->message : "";
                } else {
                    EXPECT_GE(sd_bus_message_read(m, "u", &c->count), 0);
                }
                c->done = true;
                return 0;
            },
            call.get(), "so", directory.c_str(), sink_path);
        EXPECT_GE(r, 0) << std::strerror(-r);
        call->slot.reset(slot);
        return call;
    }

    // Walk to the end, serving the Sink's calls meanwhile.
    std::unique_ptr<WalkCall> walk(BusClient& client, const std::string& directory,
                                   const char* sink_path = kSinkPath) {
        auto call = start_walk(client, directory, sink_path);
        EXPECT_TRUE(client.process_until([&] { return call->done; }, Deadline(20s))) << "Walk was not answered";
        return call;
    }

    static uint32_t in_progress(BusClient& client) {
        MessagePtr reply = client.call_checked(kObjectName, kObjectPath, kWalker, "InProgress");
        uint32_t n = 0;
        EXPECT_GE(sd_bus_message_read(reply.get(), "u", &n), 0);
        return n;
    }

    TempDir tree_{"offshoot-walk", 0755};
};

TEST_F(Callbacks, WalkReportsEveryEntryItsUserCanSeeToTheCallersSink) {
    BusClient client(spawn_walker());
    Sink sink;
    export_sink(client, sink);
    auto call = walk(client, tree_.str());
    ASSERT_EQ(call->error_name, "") << call->error_message;
    // Sorted, depth first; the symlink is reported and not followed; secret/ is reported, but
    // uid 65534 may not read it, so secret/hidden is not.
    EXPECT_EQ(sink.names, (std::vector<std::string>{"a", "b", "b/c", "link", "secret"}));
    EXPECT_EQ(call->count, 5u);
}

TEST_F(Callbacks, TheSinksOwnErrorEndsTheWalkWithThatError) {
    BusClient client(spawn_walker());
    Sink sink;
    sink.mode = Sink::fail_at_second;
    export_sink(client, sink);
    auto call = walk(client, tree_.str());
    EXPECT_EQ(call->error_name, "org.example.Sink.Full");
    EXPECT_EQ(call->error_message, "the sink is full");
    EXPECT_EQ(sink.names.size(), 2u) << "the walk went on after the sink failed";
}

TEST_F(Callbacks, ASinkPathTheCallerDoesNotServeFailsWithUnknownObject) {
    BusClient client(spawn_walker());
    Sink sink;
    export_sink(client, sink);
    auto call = walk(client, tree_.str(), "/org/example/nothing");
    EXPECT_EQ(call->error_name, "org.freedesktop.DBus.Error.UnknownObject") << call->error_message;
}

TEST_F(Callbacks, ADirectoryItsUserMayNotOpenIsAWalkerError) {
    BusClient client(spawn_walker());
    Sink sink;
    export_sink(client, sink);
    auto call = walk(client, (tree_ / "secret").string());
    EXPECT_EQ(call->error_name, "org.offshoot1.example.Walker.Error");
    EXPECT_THAT(call->error_message, ::testing::HasSubstr("as uid 65534: Permission denied"));
    EXPECT_TRUE(sink.names.empty());
}

// The worker's loop serves another connection while the callback is out, and the callback
// ends at the Walker's timeout (300 ms here) with org.offshoot1.Error.Timeout.
TEST_F(Callbacks, ASinkThatNeverAnswersTimesOutWhileTheLoopServesOthers) {
    const std::string address = spawn_walker("300");
    BusClient client(address), other(address);
    Sink sink;
    sink.mode = Sink::never_answer;
    export_sink(client, sink);
    auto call = start_walk(client, tree_.str());
    ASSERT_TRUE(client.process_until([&] { return !sink.unanswered.empty(); }, Deadline(10s)));
    // A callback is out: the walk's thread waits, the loop does not.
    EXPECT_EQ(in_progress(other), 1u);
    EXPECT_FALSE(call->done);
    ASSERT_TRUE(client.process_until([&] { return call->done; }, Deadline(10s)));
    EXPECT_EQ(call->error_name, errors::timeout);
    EXPECT_THAT(call->error_message,
                ::testing::HasSubstr("no answer from the caller to org.offshoot1.example.Sink.Entry on " +
                                     std::string(kSinkPath) + " within 300 ms"));
    EXPECT_EQ(sink.names, std::vector<std::string>{"a"});
    EXPECT_EQ(in_progress(other), 0u);
}

// A caller that hangs up while the worker waits for its Sink: the walk ends at once (the
// default callback timeout is 25 s), and the instance serves the next caller.
TEST_F(Callbacks, ACallerThatHangsUpMidWalkEndsTheWalkAtOnce) {
    const std::string address = spawn_walker();
    BusClient other(address);
    {
        BusClient client(address);
        Sink sink;
        sink.mode = Sink::never_answer;
        export_sink(client, sink);
        auto call = start_walk(client, tree_.str());
        EXPECT_TRUE(client.process_until([&] { return !sink.unanswered.empty(); }, Deadline(10s)));
        EXPECT_FALSE(call->done);
        EXPECT_EQ(in_progress(other), 1u);
    }  // the client's connection closes here, its Entry unanswered
    EXPECT_TRUE(wait_until([&] { return in_progress(other) == 0; }, Deadline(5s)))
        << "the walk still waits for a caller that has gone";
    Sink sink;
    export_sink(other, sink);
    auto call = walk(other, (tree_ / "b").string());
    EXPECT_EQ(call->error_name, "") << call->error_message;
    EXPECT_EQ(sink.names, std::vector<std::string>{"c"});
    EXPECT_THAT(daemon().log(), ::testing::Not(::testing::HasSubstr("cannot send a deferred reply")));
}

// Stop while a walk waits for a Sink that never answers: the stop() hook and the connections'
// closing end it; the instance exits cleanly long before the callback's 25 s.
TEST_F(Callbacks, StopEndsAWalkThatWaitsForItsCaller) {
    SpawnReply r = spawn_with_options(bus(), "Walker", {{"uid", kNobody}});
    ASSERT_TRUE(r.ok()) << r.describe();
    BusClient client(r.address);
    Sink sink;
    sink.mode = Sink::never_answer;
    export_sink(client, sink);
    auto call = start_walk(client, tree_.str());
    ASSERT_TRUE(client.process_until([&] { return !sink.unanswered.empty(); }, Deadline(10s)));
    const auto started = Clock::now();
    Reply stopped = stop_instance(bus(), r.path);
    ASSERT_TRUE(stopped.ok()) << stopped.describe();
    EXPECT_LT(Clock::now() - started, 10s);
    WaitResult w = wait_instance(bus(), r.path);
    EXPECT_EQ(w.result, "success");
}

}  // namespace
}  // namespace offshoot::test

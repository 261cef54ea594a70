// queued_spawn_test.cpp — calls offshootd holds before it acts on them. Spawn calls it has
// accepted but not started yet: one still held while the bus is asked who its caller is, one
// validated and waiting in the launch queue (forks run below the bus's priority, after the
// calls already waiting). When offshootd is told to stop, each is answered ShuttingDown and no
// worker is started for it; when a tied Spawn's caller disconnects while it is queued, it is
// dropped and never started.
//
// To hold a call in one of those states, offshootd is SIGSTOPped while the calls (and the
// SIGTERM, or the caller's disconnect) queue up; the bus's own statistics are the fence that says
// they reached offshootd's socket. On SIGCONT offshootd takes in one message per dispatch: the
// disconnect, which the bus sends after the Spawns, comes after all of them (at the bus's priority,
// above the launch queue's); the SIGTERM comes before the first Spawn or after it, as the kernel
// reports the two descriptors, so the launch-queue test repeats until offshootd's log shows the
// first Spawn was answered from the queue. A new connection's Spawns are held by the bus filter
// either way.
//
// And calls that need their caller's uid, from a connection offshootd does not know yet: held
// while the bus is asked (asynchronously), then run in their order.
//
// AcceptedButNotStartedSpawns is not a DaemonTest: offshootd is gone by the end, and that
// fixture's tear-down needs it.
#include <fcntl.h>
#include <signal.h>

#include "reliability_support.hpp"

namespace offshoot::test {
namespace {

constexpr const char* kShuttingDown = "org.offshoot1.Error.ShuttingDown";

// Spawn calls sent without waiting; their answers arrive through BusClient::process_until().
class PendingSpawns {
public:
    explicit PendingSpawns(BusClient& client) : client_(client) {}
    PendingSpawns(const PendingSpawns&) = delete;
    PendingSpawns& operator=(const PendingSpawns&) = delete;
    ~PendingSpawns() {
        for (auto* s : slots_) sd_bus_slot_unref(s);
    }

    // A tied Sleeper that would run for ten minutes, as nobody.
    void send() {
        auto& answer = answers_.emplace_back();
        sd_bus_slot* slot = nullptr;
        int r = sd_bus_call_method_async(
            client_.get(), &slot, kBusName, kSupervisorPath, kSupervisorInterface, "SpawnWithOptions",
            [](sd_bus_message* m, void* userdata, sd_bus_error*) -> int {
                auto* a = static_cast<std::optional<std::string>*>(userdata);
                const sd_bus_error* e = sd_bus_message_get_error(m);
                *a = e ? std::string(e->name) : std::string("ok");
                return 1;
            },
            &answer, "sa{sv}", "Sleeper", 3, "uid", "u", kNobody, "tie-to-caller", "b", 1, "arguments", "as", 1,
            "600000");
        if (r < 0) throw std::system_error(-r, std::generic_category(), "SpawnWithOptions (async)");
        slots_.push_back(slot);
    }

    // Waits for every answer; the error names (or "ok") in the order the calls were sent.
    std::vector<std::string> answers(const Deadline& deadline) {
        client_.process_until(
            [&] { return std::all_of(answers_.begin(), answers_.end(), [](auto& a) { return a.has_value(); }); },
            deadline);
        std::vector<std::string> out;
        for (auto& a : answers_) out.push_back(a.value_or("(no answer)"));
        return out;
    }

private:
    BusClient& client_;
    std::list<std::optional<std::string>> answers_;  // stable addresses for the callbacks
    std::vector<sd_bus_slot*> slots_;
};

// Messages the bus holds for offshootd that are not in its socket yet (the bus's Stats
// interface), or -1 if the bus would not say.
long bus_backlog_for_offshootd(BusClient& c) {
    Reply r = c.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.Debug.Stats",
                     "GetConnectionStats", [](sd_bus_message* m) { return sd_bus_message_append(m, "s", kBusName); });
    if (!r.ok() || !r.message) return -1;
    sd_bus_message* m = r.message.get();
    if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0) return -1;
    while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
        const char* key = nullptr;
        if (sd_bus_message_read(m, "s", &key) < 0) return -1;
        if (std::string(key) == "OutgoingMessages") {
            uint32_t n = 0;
            if (sd_bus_message_read(m, "v", "u", &n) < 0) return -1;
            return n;
        }
        if (sd_bus_message_skip(m, "v") < 0 || sd_bus_message_exit_container(m) < 0) return -1;
    }
    return -1;
}

// The fence: what this connection sent before (the bus handles a connection's messages in
// order) has been routed, and everything the bus routed to offshootd is in offshootd's socket.
void fence(BusClient& c) {
    long backlog = -1;
    EXPECT_TRUE(wait_until([&] { return (backlog = bus_backlog_for_offshootd(c)) == 0; }, Deadline(10s)))
        << "the bus still holds " << backlog << " messages for offshootd";
}

bool is_stopped(pid_t pid) {
    auto fields = read_status_fields(pid);
    return fields && fields->count("State") && fields->at("State").rfind("T", 0) == 0;
}

int count_lines_with(const std::string& text, const std::string& needle) {
    int n = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

class AcceptedButNotStartedSpawns : public ::testing::Test {
protected:
    TestBus bus_;
    std::optional<TestDaemon> daemon_{std::in_place, bus_};

    void freeze() {
        ASSERT_EQ(::kill(daemon_->pid(), SIGSTOP), 0);
        ASSERT_TRUE(wait_until([&] { return is_stopped(daemon_->pid()); }, Deadline(5s))) << "offshootd did not stop";
    }
    void thaw() { ASSERT_EQ(::kill(daemon_->pid(), SIGCONT), 0); }
    static std::size_t started(const std::string& log) { return count_lines_with(log, ") ready at "); }

    // One round on a fresh offshootd: an Echo keeps it busy stopping while later calls are
    // answered; three Spawns from `known` (a connection that already spawned, so its uid is
    // kept and a Spawn goes straight to the launch queue) or from a new connection (whose calls
    // the bus filter holds while offshootd asks the bus for its uid) reach it frozen, then
    // SIGTERM. Every Spawn must be answered ShuttingDown, only the Echo may ever start, and
    // offshootd must exit 0. Returns offshootd's log; `caller` is set to the Spawns' sender.
    std::string shutdown_round(bool known, std::string* caller_name = nullptr) {
        if (!daemon_) daemon_.emplace(bus_);
        std::string log;
        {
            BusClient keeper(daemon_->address());
            SpawnReply first = spawn_with_options(keeper, "Echo", {{"uid", kNobody}});
            EXPECT_TRUE(first.ok()) << first.describe();
            std::optional<BusClient> newcomer;
            if (!known) newcomer.emplace(daemon_->address());
            BusClient& caller = known ? keeper : *newcomer;
            const char* unique = nullptr;
            if (caller_name && sd_bus_get_unique_name(caller.get(), &unique) >= 0) *caller_name = unique;

            freeze();
            PendingSpawns pending(caller);
            for (int i = 0; i < 3; ++i) pending.send();
            fence(caller);
            EXPECT_EQ(::kill(daemon_->pid(), SIGTERM), 0);
            thaw();

            for (const auto& a : pending.answers(Deadline(20s))) EXPECT_EQ(a, kShuttingDown);
            const ExitStatus status = daemon_->stop();
            EXPECT_TRUE(status.success()) << status.describe();
            log = daemon_->log();
            EXPECT_EQ(started(log), 1u) << "only the Echo may have started; log:\n" << log;
        }
        daemon_.reset();
        return log;
    }
};

// Whether the kernel reports offshootd's bus socket or its signalfd first after SIGCONT (and so
// whether a Spawn is taken in before the SIGTERM) is not ours to fix; rounds repeat until the
// first Spawn was caught in its queue, each round checking everything above.
constexpr int kMaxRounds = 12;

TEST_F(AcceptedButNotStartedSpawns, AreAnsweredShuttingDownFromTheLaunchQueueWhenOffshootdStops) {
    int rounds = 0;
    bool queued = false;
    while (!queued && rounds < kMaxRounds && !HasFailure()) {
        ++rounds;
        queued = count_lines_with(shutdown_round(/*known=*/true), "answering 1 Spawn call not started yet") == 1;
    }
    EXPECT_TRUE(queued) << "in " << rounds << " rounds no Spawn was caught in the launch queue";
    RecordProperty("rounds", rounds);
}

// From a new connection the Spawns are held by the bus filter whichever of the SIGTERM and the
// first Spawn offshootd takes in first, and shutdown waits for the bus's answer: one round.
TEST_F(AcceptedButNotStartedSpawns, AreAnsweredShuttingDownWhileOffshootdStillAsksTheBusWhoTheCallerIs) {
    std::string caller;
    const std::string log = shutdown_round(/*known=*/false, &caller);
    ASSERT_FALSE(caller.empty());
    EXPECT_EQ(count_lines_with(log, "holding calls from " + caller + " until the bus says whose they are"), 1)
        << "the Spawns were not held while the bus was asked; log:\n" << log;
    EXPECT_EQ(count_lines_with(log, "Spawn call not started yet"), 0) << "the Spawns reached the launch queue";
}

TEST_F(AcceptedButNotStartedSpawns, OfATiedCallerThatDisconnectsAreDroppedAndNeverStarted) {
    int to_child[2], from_child[2];
    ASSERT_EQ(::pipe2(to_child, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(from_child, O_CLOEXEC), 0);
    const std::string address = daemon_->address();
    // The caller: one tied Echo (so offshootd knows its uid), then on "go" four tied Spawns
    // sent without waiting, the fence, and gone.
    Subprocess caller = Subprocess::fork([&]() -> int {
        ::close(to_child[1]);
        ::close(from_child[0]);
        BusClient c(address);
        SpawnReply r = spawn_with_options(c, "Echo", {{"uid", kNobody}, {"tie-to-caller", true}});
        if (!r.ok()) return 2;
        const char* unique = nullptr;
        if (sd_bus_get_unique_name(c.get(), &unique) < 0) return 3;
        std::string line = std::string(unique) + "\n";
        if (::write(from_child[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 4;
        char go = 0;
        if (::read(to_child[0], &go, 1) != 1) return 5;
        PendingSpawns pending(c);
        for (int i = 0; i < 4; ++i) pending.send();
        // Routed before the bus sees this connection go (it handles a connection's messages in order).
        Reply id = c.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId");
        _exit(id.ok() ? 0 : 6);  // disconnects with the four calls unanswered
    });
    ::close(to_child[0]);
    ::close(from_child[1]);
    std::string unique;
    {
        pollfd p{from_child[0], POLLIN, 0};
        ASSERT_EQ(::poll(&p, 1, Deadline(30s).poll_timeout_ms()), 1) << "the caller did not report";
        char buf[256];
        ssize_t n = ::read(from_child[0], buf, sizeof buf);
        ASSERT_GT(n, 1);
        unique.assign(buf, static_cast<std::size_t>(n) - 1);
    }
    BusClient root(address);
    ASSERT_EQ(list_instances(root).size(), 1u);

    freeze();
    ASSERT_EQ(::write(to_child[1], "g", 1), 1);
    auto status = caller.wait(Deadline(20s));
    ASSERT_TRUE(status && status->success()) << (status ? status->describe() : "still running");
    // The bus has seen the caller go (and sent offshootd its NameOwnerChanged) once it no
    // longer knows the name.
    auto has = root.call_checked("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                 "NameHasOwner",
                                 [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", unique.c_str()); });
    int owned = 1;
    ASSERT_GE(sd_bus_message_read(has.get(), "b", &owned), 0);
    ASSERT_FALSE(owned) << unique << " is still on the bus";
    fence(root);
    thaw();

    // The tied Echo stops with its owner and its handle goes; the four were never started.
    EXPECT_TRUE(wait_until([&] { return list_instances(root).empty(); }, Deadline(10s)))
        << "handles left: " << list_instances(root).size();
    EXPECT_TRUE(wait_until([&] { return children_of(daemon_->pid()).empty(); }, Deadline(10s)))
        << "workers left behind";
    const std::string log = daemon_->log();
    EXPECT_EQ(count_lines_with(log, "dropped 4 queued Spawn calls of " + unique), 1) << log;
    EXPECT_EQ(started(log), 1u) << "only the Echo may have started; log:\n" << log;
    ::close(to_child[1]);
    ::close(from_child[0]);

    // offshootd is still fine: a new Spawn works.
    SpawnReply again = spawn_with_options(root, "Echo", {{"uid", kNobody}});
    EXPECT_TRUE(again.ok()) << again.describe();
    EXPECT_TRUE(stop_instance(root, again.path).ok());
    EXPECT_EQ(wait_instance(root, again.path).result, "success");
    EXPECT_TRUE(daemon_->stop().success());
}

}  // namespace
}  // namespace offshoot::test

namespace offshoot::test {
namespace {

// Instance control and property reads need the caller's uid; from a connection offshootd has
// not heard from, they are held while the bus is asked (asynchronously: the loop goes on), and
// then run in the order they came.
class CallsFromANewConnection : public DaemonTest {};

TEST_F(CallsFromANewConnection, WaitForTheBusToNameTheirCallerAndKeepTheirOrder) {
    SpawnReply r = spawn_with_options(bus(), "Sleeper", {{"uid", kNobody}, {"arguments", std::vector<std::string>{"600000"}}});
    ASSERT_TRUE(r.ok()) << r.describe();

    BusClient newcomer(daemon().address());
    struct Answer {
        std::optional<std::string> value;  // the State read, or "ok", or the error's name
    };
    std::list<Answer> answers;
    std::vector<sd_bus_slot*> slots;
    auto on_state = [](sd_bus_message* m, void* userdata, sd_bus_error*) -> int {
        auto* a = static_cast<Answer*>(userdata);
        const char* state = nullptr;
        if (const sd_bus_error* e = sd_bus_message_get_error(m)) a->value = e->name;
        else a->value = sd_bus_message_read(m, "v", "s", &state) >= 0 ? state : "(unreadable)";
        return 1;
    };
    auto on_stop = [](sd_bus_message* m, void* userdata, sd_bus_error*) -> int {
        const sd_bus_error* e = sd_bus_message_get_error(m);
        static_cast<Answer*>(userdata)->value = e ? e->name : "ok";
        return 1;
    };
    auto get_state = [&] {
        sd_bus_slot* s = nullptr;
        ASSERT_GE(sd_bus_call_method_async(newcomer.get(), &s, kBusName, r.path.c_str(), "org.freedesktop.DBus.Properties",
                                           "Get", on_state, &answers.emplace_back(), "ss", kInstanceInterface, "State"),
                  0);
        slots.push_back(s);
    };
    get_state();
    {
        sd_bus_slot* s = nullptr;
        ASSERT_GE(sd_bus_call_method_async(newcomer.get(), &s, kBusName, r.path.c_str(), kInstanceInterface, "Stop",
                                           on_stop, &answers.emplace_back(), ""),
                  0);
        slots.push_back(s);
    }
    get_state();

    const bool all = newcomer.process_until(
        [&] { return std::all_of(answers.begin(), answers.end(), [](const Answer& a) { return a.value.has_value(); }); },
        Deadline(20s));
    for (auto* s : slots) sd_bus_slot_unref(s);
    ASSERT_TRUE(all) << "not every call was answered";
    auto it = answers.begin();
    EXPECT_EQ(*it++->value, "running") << "the read sent before Stop ran before it";
    EXPECT_EQ(*it++->value, "ok") << "Stop by root";
    EXPECT_NE(*it->value, "running") << "the read sent after Stop ran after it";
    EXPECT_EQ(wait_instance(bus(), r.path).result, "success");
    const char* unique = nullptr;
    ASSERT_GE(sd_bus_get_unique_name(newcomer.get(), &unique), 0);
    EXPECT_EQ(count_lines_with(daemon().log(), std::string("holding calls from ") + unique), 1)
        << "the calls did not wait for the bus's answer; log:\n" << daemon().log();
}

TEST_F(CallsFromANewConnection, ThatFloodWhileTheBusIsAskedAreRefusedPastTheBound) {
    SpawnReply r = spawn_with_options(bus(), "Echo", {{"uid", kNobody}});
    ASSERT_TRUE(r.ok()) << r.describe();
    const pid_t daemon_pid = daemon().pid();
    // 100 property reads reach offshootd at once (frozen until all are in its socket): the
    // first is held while the bus is asked, and the bus's answer arrives behind all of them.
    // offshootd holds 64 per connection; the bus itself allows 128 pending replies each.
    BusClient newcomer(daemon().address());
    ASSERT_EQ(::kill(daemon_pid, SIGSTOP), 0);
    ASSERT_TRUE(wait_until([&] { return is_stopped(daemon_pid); }, Deadline(5s)));
    std::list<std::optional<std::string>> answers;
    std::vector<sd_bus_slot*> slots;
    for (int i = 0; i < 100; ++i) {
        sd_bus_slot* s = nullptr;
        ASSERT_GE(sd_bus_call_method_async(
                      newcomer.get(), &s, kBusName, r.path.c_str(), "org.freedesktop.DBus.Properties", "Get",
                      [](sd_bus_message* m, void* userdata, sd_bus_error*) -> int {
                          const sd_bus_error* e = sd_bus_message_get_error(m);
                          *static_cast<std::optional<std::string>*>(userdata) =
                              !e ? "ok" : std::string(e->name) + ": " + (e->message ? e->message : "");
                          return 1;
                      },
                      &answers.emplace_back(), "ss", kInstanceInterface, "State"),
                  0);
        slots.push_back(s);
    }
    fence(newcomer);
    ASSERT_EQ(::kill(daemon_pid, SIGCONT), 0);
    const bool all = newcomer.process_until(
        [&] { return std::all_of(answers.begin(), answers.end(), [](auto& a) { return a.has_value(); }); },
        Deadline(20s));
    for (auto* s : slots) sd_bus_slot_unref(s);
    ASSERT_TRUE(all);
    std::size_t ok = 0, limited = 0;
    for (auto& a : answers) {
        if (*a == "ok") ++ok;
        else if (a->find("org.freedesktop.DBus.Error.LimitsExceeded: 64 calls are already waiting") == 0) ++limited;
        else ADD_FAILURE() << *a;
    }
    EXPECT_EQ(ok, 64u) << "held and answered";
    EXPECT_EQ(limited, 100u - 64u);
    EXPECT_EQ(instance_state(newcomer, r.path), "running") << "the same connection is served normally after";
}

TEST_F(CallsFromANewConnection, AreDeniedWhenTheirCallerIsGoneBeforeTheBusCanNameIt) {
    SpawnReply r = spawn_with_options(bus(), "Sleeper", {{"uid", kNobody}, {"arguments", std::vector<std::string>{"600000"}}});
    ASSERT_TRUE(r.ok()) << r.describe();
    const pid_t daemon_pid = daemon().pid();

    // A root connection sends Stop and is gone before offshootd (frozen) can ask who it was.
    ASSERT_EQ(::kill(daemon_pid, SIGSTOP), 0);
    ASSERT_TRUE(wait_until([&] { return is_stopped(daemon_pid); }, Deadline(5s)));
    std::string unique;
    {
        BusClient hit_and_run(daemon().address());
        const char* name = nullptr;
        ASSERT_GE(sd_bus_get_unique_name(hit_and_run.get(), &name), 0);
        unique = name;
        ASSERT_GE(sd_bus_call_method_async(hit_and_run.get(), nullptr, kBusName, r.path.c_str(), kInstanceInterface,
                                           "Stop", nullptr, nullptr, ""),
                  0);
        fence(hit_and_run);
    }
    auto has = bus().call_checked("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
                                  [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", unique.c_str()); });
    int owned = 1;
    ASSERT_GE(sd_bus_message_read(has.get(), "b", &owned), 0);
    ASSERT_FALSE(owned);
    ASSERT_EQ(::kill(daemon_pid, SIGCONT), 0);

    // Fail closed: the Stop is refused, the instance runs on, offshootd goes on serving.
    EXPECT_TRUE(wait_until([&] { return count_lines_with(daemon().log(), "denied Stop on " + r.path + " to uid unknown (" + unique) == 1; },
                           Deadline(10s)))
        << daemon().log();
    EXPECT_EQ(instance_state(bus(), r.path), "running");
    EXPECT_EQ(list_instances(bus()).size(), 1u);
}

}  // namespace
}  // namespace offshoot::test

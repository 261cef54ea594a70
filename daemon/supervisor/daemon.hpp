// daemon.hpp — offshootd's context: the bus, the event loop, the classes and the instances.
//
// offshootd is single-threaded: one sd-event loop drives the bus connection, every instance's
// readiness channel, child pidfd and timers, and the signals. That makes fork safe (no other
// thread can hold a lock at fork time) and keeps every state change in one order.
#pragma once

#include "daemon_config.hpp"
#include "instance.hpp"
#include "options.hpp"

#include "offshoot/common/class_config.hpp"
#include "offshoot/common/sd_ptr.hpp"

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace offshoot {

struct DaemonOptions {
    enum class Bus { system, session, address } bus = Bus::system;
    std::string address;
    std::string runtime_dir;
    std::vector<std::string> config_dirs;  // in override order (later wins)
    std::string plugin_dir;
    std::string worker_path;
    DaemonConfig limits;  // offshootd.conf
    uint64_t start_timeout_usec = 30'000'000;
};

inline constexpr const char* bus_name = "org.offshoot1";
inline constexpr const char* supervisor_path = "/org/offshoot1";
inline constexpr const char* supervisor_interface = "org.offshoot1.Supervisor";
inline constexpr const char* instance_prefix = "/org/offshoot1/instance";
inline constexpr const char* instance_interface = "org.offshoot1.Instance";

class Daemon {
public:
    explicit Daemon(DaemonOptions options);
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;
    ~Daemon();

    // Connects, takes the bus name, serves until SIGTERM/SIGINT. Returns the exit code.
    int run();

    sd_bus* bus() const { return bus_.get(); }
    sd_event* event() const { return event_.get(); }
    const DaemonOptions& options() const { return options_; }
    const std::map<std::string, ClassConfig>& classes() const { return classes_; }
    const std::map<uint64_t, std::unique_ptr<Instance>>& instances() const { return instances_; }
    bool shutting_down() const { return shutting_down_; }

    Instance* find_instance(const char* path);
    // The handle becomes visible on the bus (InterfacesAdded).
    void export_instance(Instance& i);
    // The handle disappears from the bus now and is destroyed once the current dispatch ends.
    void remove_instance(Instance& i);
    // Something affecting InstanceCount or the status line changed.
    void instances_changed();

    // Supervisor methods (supervisor_object.cpp).
    static const sd_bus_vtable* supervisor_vtable();
    // Instance handle methods and properties (instance_object.cpp).
    static const sd_bus_vtable* instance_vtable();

    // Used by the method handlers.
    Caller caller_of(sd_bus_message* m);
    // The uid the bus gave for a connection's unique name, if we have it (no bus call).
    std::optional<uid_t> known_uid(const char* sender) const;
    // Spawn and SpawnWithOptions: answers `m` later (when the worker is ready or has failed).
    void spawn(sd_bus_message* m, SpawnRequest req);
    uint32_t running_count() const { return running_; }
    uint32_t exported_count() const { return exported_; }
    // From Instance::set_pid: a process of `uid` started (true) or ended (false).
    void process_count_changed(uid_t uid, bool started);

    // Bus-name tracking for tie-to-caller and handle clean-up.
    void watch_owner(const std::string& unique_name);
    void owner_gone(const std::string& unique_name);

private:
    void connect();
    void load_classes();
    void prepare_runtime_dir();
    void begin_shutdown();
    void maybe_finish_shutdown();
    void update_status();
    static int on_status_due(sd_event_source* s, void* userdata);
    static int on_launch_due(sd_event_source* s, void* userdata);
    static int on_exit_due(sd_event_source* s, void* userdata);
    // Answers every queued Spawn with `error` and forgets its instance (shutdown).
    void drop_queued_launches(const char* error, const char* message);
    // The rest of spawn() once the caller is known.
    void spawn_as(sd_bus_message* m, SpawnRequest req, const Caller& caller);
    static int on_signal(sd_event_source* s, const struct signalfd_siginfo* si, void* userdata);
    static int on_name_owner_changed(sd_bus_message* m, void* userdata, sd_bus_error* e);
    static int on_deferred_removal(sd_event_source* s, void* userdata);
    // The bus filter: a method call that will need its caller's uid (Spawn, instance control,
    // property reads), from a connection whose uid we don't know yet, is held while the bus is
    // asked asynchronously, and re-queued (sd_bus_enqueue_for_read) once it has answered.
    // Everything after it from the same connection waits behind it, so each connection's calls
    // keep their order. The loop never blocks on a bus round trip.
    static int on_incoming(sd_bus_message* m, void* userdata, sd_bus_error* e);
    static int on_held_caller_known(sd_bus_message* reply, void* userdata, sd_bus_error* e);
    void remember_uid(const std::string& sender, uid_t uid);

    DaemonOptions options_;
    EventPtr event_;
    BusPtr bus_;
    std::vector<SlotPtr> slots_;
    EventSourcePtr sigterm_, sigint_, removal_source_, status_source_, launch_source_, exit_source_;
    // Spawns that passed every check and wait for their fork (Daemon::spawn): launched one
    // per loop iteration by a defer source of lower priority than the bus, so queued calls
    // (ListInstances, Stop, property reads) are answered first and a burst of Spawns cannot
    // hold them up behind its forks.
    struct QueuedLaunch {
        uint64_t id;
        MessagePtr reply;
    };
    std::deque<QueuedLaunch> launch_queue_;
    // Quotas: the spawn rate of each non-root caller uid.
    void check_quota(const Caller& caller);
    std::map<uid_t, RateLimiter> rate_limiters_;
    std::map<std::string, ClassConfig> classes_;
    std::map<uint64_t, std::unique_ptr<Instance>> instances_;
    std::vector<std::unique_ptr<Instance>> doomed_;
    struct OwnerWatch {
        Daemon* daemon;
        std::string name;
        SlotPtr match;
        SlotPtr query;
        std::optional<uid_t> uid;  // the bus's answer for this name, once asked
    };
    std::map<std::string, std::unique_ptr<OwnerWatch>> owner_watches_;
    std::vector<std::unique_ptr<OwnerWatch>> doomed_watches_;
    // Callers' uids by unique name, as the bus said (a unique name is never reused on a bus,
    // so an entry stays true; forgotten with the owner's watch, and all at once past a bound).
    std::map<std::string, uid_t, std::less<>> caller_uids_;
    struct HeldCalls {
        Daemon* daemon;
        std::string sender;
        std::vector<MessagePtr> calls;  // in arrival order
        SlotPtr query;
    };
    std::map<std::string, std::unique_ptr<HeldCalls>, std::less<>> held_;
    std::vector<std::unique_ptr<HeldCalls>> doomed_held_;
    std::set<std::string, std::less<>> unresolved_;  // the bus would not say (gone): denied
    uint64_t next_id_ = 1;
    bool shutting_down_ = false;
    std::string last_status_;
    // Kept up to date by every change rather than counted on demand: with n instances, a
    // walk per Spawn, Stop or property read made n spawns cost O(n²) (bench/RESULTS.md, scale).
    uint32_t running_ = 0;                          // instances with a process
    std::map<uid_t, uint32_t> running_by_uid_;      // the same per target uid (STATUS=)
    uint32_t exported_ = 0;                         // handles on the bus (InstanceCount)
    uint32_t last_emitted_count_ = UINT32_MAX;      // InstanceCount last announced
    std::map<uid_t, uint32_t> handles_by_owner_;    // handles per owner uid (MaxInstancesPerUser=)
};

}  // namespace offshoot

// daemon.hpp — offshootd's context: the bus, the event loop, the classes and the instances.
//
// offshootd is single-threaded: one sd-event loop drives the bus connection, every instance's
// readiness channel, child pidfd and timers, and the signals. That makes fork safe (no other
// thread can hold a lock at fork time) and keeps every state change in one order.
//
// The Daemon sets up, runs the loop, keeps the registry of handles and the launch queue, and
// shuts down. Who is calling is Callers' (bus/callers.hpp), how much they may ask Quotas'
// (policy/quotas.hpp), what a request becomes resolve()'s (policy/resolve.hpp), and each
// handle's lifecycle its Instance's, which reports back through InstanceObserver.
#pragma once

#include "bus/callers.hpp"
#include "cgroup/engine.hpp"
#include "bus/spawn_request.hpp"
#include "config/class_config.hpp"
#include "config/daemon_config.hpp"
#include "instance/instance.hpp"
#include "policy/quotas.hpp"

#include "offshoot/common/sd_ptr.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace offshoot {

class Daemon final : public InstanceObserver, public Callers::Observer {
public:
    explicit Daemon(DaemonOptions options);
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;
    ~Daemon() override;

    // Connects, takes the bus name, serves until SIGTERM/SIGINT. Returns the exit code.
    int run();

    const DaemonOptions& options() const { return options_; }
    const std::map<std::string, ClassConfig>& classes() const { return classes_; }
    // Class configuration files that give no usable class, in file order (class_config.hpp).
    const std::vector<BrokenClass>& broken_classes() const { return broken_classes_; }
    const std::map<uint64_t, std::unique_ptr<Instance>>& instances() const { return instances_; }
    Callers& callers() { return callers_; }
    uint32_t exported_count() const { return exported_; }
    Instance* find_instance(const char* path);

    // The Spawn path (bus/supervisor_object.cpp): whether `caller` may have one more handle
    // (throws LimitExceeded); a new handle for `spec`; its launch, after the calls already
    // waiting are answered, with `m` answered when the worker is ready or has failed.
    void admit(const Caller& caller);
    Instance& add_instance(InstanceSpec spec);
    void queue_launch(Instance& i, sd_bus_message* m);

    // Supervisor methods (bus/supervisor_object.cpp).
    static const sd_bus_vtable* supervisor_vtable();
    // Instance handle methods and properties (bus/instance_object.cpp).
    static const sd_bus_vtable* instance_vtable();

    // InstanceObserver
    void instance_exported(Instance& i) override;
    void instance_done(Instance& i) override;
    void process_count_changed(uid_t uid, bool started) override;
    void instances_changed() override;
    bool shutting_down() const override { return shutting_down_; }
    uint64_t restart_admission(const Instance& i) override;

    // Callers::Observer
    void owner_gone(const std::string& unique_name) override;
    void held_calls_released() override { maybe_finish_shutdown(); }

private:
    void connect();
    void register_objects();
    void add_sources();
    void load_classes();
    void prepare_runtime_dir();
    void begin_shutdown();
    void maybe_finish_shutdown();
    void update_status();
    static int on_status_due(sd_event_source* s, void* userdata);
    static int on_launch_due(sd_event_source* s, void* userdata);
    static int on_exit_due(sd_event_source* s, void* userdata);
    static int on_signal(sd_event_source* s, const struct signalfd_siginfo* si, void* userdata);
    static int on_deferred_removal(sd_event_source* s, void* userdata);
    // Answers every queued Spawn with `error` and forgets its instance (shutdown).
    void drop_queued_launches(const char* error, const char* message);

    DaemonOptions options_;
    EventPtr event_;
    BusPtr bus_;
    Callers callers_;  // before the instances: they ask it, and it outlives them
    std::unique_ptr<CgroupEngine> cgroups_;  // after the loop (its bus is on it), before the instances
    NamespacePaths namespace_paths_;
    Quotas quotas_;
    std::vector<SlotPtr> slots_;
    EventSourcePtr sigterm_, sigint_, removal_source_, status_source_, launch_source_, exit_source_;
    // Spawns that passed every check and wait for their fork: launched one per loop iteration
    // by a defer source of lower priority than the bus, so queued calls (ListInstances, Stop,
    // property reads) are answered first and a burst of Spawns cannot hold them up behind its
    // forks.
    struct QueuedLaunch {
        uint64_t id;
        MessagePtr reply;
    };
    std::deque<QueuedLaunch> launch_queue_;
    std::map<std::string, ClassConfig> classes_;
    std::vector<BrokenClass> broken_classes_;
    std::map<uint64_t, std::unique_ptr<Instance>> instances_;
    std::vector<std::unique_ptr<Instance>> doomed_;
    uint64_t next_id_ = 1;
    bool shutting_down_ = false;
    std::string last_status_;
    // Kept up to date by every change rather than counted on demand: with n instances, a
    // walk per Spawn, Stop or property read made n spawns cost O(n²) (bench/RESULTS.md, scale).
    uint32_t running_ = 0;                      // instances with a process
    std::map<uid_t, uint32_t> running_by_uid_;  // the same per target uid (STATUS=)
    uint32_t exported_ = 0;                     // handles on the bus (InstanceCount)
    uint32_t last_emitted_count_ = UINT32_MAX;  // InstanceCount last announced
};

}  // namespace offshoot

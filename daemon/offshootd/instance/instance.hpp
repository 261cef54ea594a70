// instance.hpp — one instance handle: its identity, its process and its lifecycle.
//
// States: created → (Start) → running → (Stop) → stopping → exited | failed; Start from
// exited/failed launches a fresh process on the same handle. Under a restart policy
// (config/restart.hpp) a process that ends on its own goes running → restarting → running:
// the handle, its path and its address stay (offshootd holds the listening socket across),
// NRestarts counts, and past the start limit it ends failed with Result start-limit-hit. A launch is "pending" until the
// worker reports READY=1 (the Spawn/Start reply is held until then); its failure ends in
// SpawnFailed. Exits are learnt through the pidfd in the event loop, never by polling.
//
// An Instance knows nothing of the Daemon: it gets what it needs in an InstanceContext and
// tells what happened to an InstanceObserver (the Daemon implements it).
#pragma once

#include "cgroup/engine.hpp"
#include "config/daemon_config.hpp"
#include "instance/output_relay.hpp"
#include "instance/return_value.hpp"
#include "instance/socket_file.hpp"
#include "instance/spec.hpp"
#include "spawn/spawn.hpp"

#include "offshoot/common/fd.hpp"
#include "offshoot/common/log.hpp"
#include "offshoot/common/sd_ptr.hpp"

#include <offshoot/wire/readiness.hpp>

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace offshoot {

class Callers;
class Instance;

enum class State { created, running, stopping, exited, failed, restarting };
const char* to_string(State s);

class InstanceObserver {
public:
    virtual ~InstanceObserver() = default;
    // The worker reported ready for the first time: the handle appears on the bus.
    virtual void instance_exported(Instance& i) = 0;
    // The handle is done with (released, or its first launch failed): forget it.
    virtual void instance_done(Instance& i) = 0;
    // A process of the instance's uid started (true) or ended (false).
    virtual void process_count_changed(uid_t uid, bool started) = 0;
    // Something the status line or shutdown depends on changed.
    virtual void instances_changed() = 0;
    virtual bool shutting_down() const = 0;
    // Whether a restart of `i` may happen now under its owner's spawn rate (taking a token):
    // 0, or how many µs to wait for one.
    virtual uint64_t restart_admission(const Instance& i) = 0;
};

struct InstanceContext {
    sd_bus* bus;
    sd_event* event;
    const DaemonOptions& options;
    Callers& callers;  // who is calling (bus/instance_object.cpp)
    InstanceObserver& observer;
    CgroupEngine& cgroups;                   // where instances are accounted and limited
    const NamespacePaths& namespace_paths;   // what the namespace steps bind from
};

class Instance {
public:
    Instance(const InstanceContext& context, uint64_t id, InstanceSpec spec);
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;
    ~Instance();

    uint64_t id() const { return id_; }
    const InstanceContext& context() const { return ctx_; }
    const std::string& path() const { return path_; }
    const InstanceSpec& spec() const { return spec_; }
    State state() const { return state_; }
    const std::string& result() const { return result_; }
    int exit_code() const { return exit_code_; }
    int exit_signal() const { return exit_signal_; }
    pid_t main_pid() const { return pid_; }
    const std::string& address() const { return address_; }
    // What the task's run() handed back in the last process; none while it runs.
    const std::optional<ReturnValue>& return_value() const { return return_value_; }
    bool exported() const { return exported_; }
    bool launching() const { return launching_; }
    bool has_process() const { return pid_ > 0; }
    // Between a process's end and the restart its policy asks for (RestartSec=).
    bool restart_pending() const { return static_cast<bool>(restart_timer_); }
    uint32_t n_restarts() const { return n_restarts_; }
    // The running process's cgroup (its usage, ControlGroup, Unit); null without a process.
    const InstanceCgroup* cgroup() const { return launching_ ? nullptr : cgroup_.get(); }

    // The handle appears on the bus without a process (Spawn with start=false), for whoever
    // starts it.
    void publish();
    // Launches a process. `reply` (Spawn or Start) is answered once the worker is ready, or
    // with SpawnFailed. A null reply means nobody waits. Throws SpawnFailed when no process
    // could be started; nothing is left behind then.
    void launch(MessagePtr reply);
    // Start while a restart is pending: `reply` is answered once the restarted worker is
    // ready (as systemd's start job waits out a service's auto-restart), or with SpawnFailed
    // saying why it will not be.
    void start_after_restart(MessagePtr reply);
    // Asks the process to stop (SIGTERM; the worker knows its stop mode), escalating to
    // SIGKILL after the stop timeout. `reply` is answered once the process is gone.
    void stop(MessagePtr reply);
    void kill(int sig);
    // Wait or WaitReturnValue: answered once no process is left (at once if none is).
    void wait(MessagePtr reply);
    // The ReturnValue property's value, 'av': what the last process's run() handed back, as
    // one element, or none (also while a process runs).
    int append_return_value(sd_bus_message* m) const;
    // Forgets the handle once no process is left (stopping it first).
    void release(MessagePtr reply);
    // The owner's bus connection went away.
    void owner_vanished();
    // offshootd is shutting down: stop in terminate mode, whatever the instance asked for.
    void shutdown();

    // The journal fields every event of this instance carries, and `extra`.
    log::FieldList fields(std::initializer_list<log::Field> extra = {}) const;

private:
    // launch()'s steps after the fork: the process is watched, its readiness awaited.
    void watch(Spawned child, Fd readiness, Fd output, MessagePtr reply);
    void drain_readiness();
    // Reads one datagram from the readiness channel and acts on it; false when there was none
    // (or the channel is closed now).
    bool read_readiness();
    void take_return_value(std::string_view datagram);
    void close_readiness();
    static int on_readiness(sd_event_source* s, int fd, uint32_t revents, void* userdata);
    static int on_child(sd_event_source* s, const siginfo_t* si, void* userdata);
    static int on_start_timeout(sd_event_source* s, uint64_t usec, void* userdata);
    static int on_stop_timeout(sd_event_source* s, uint64_t usec, void* userdata);

    void ready();
    void process_exited(const siginfo_t& si);
    // The process is gone for good: State, Result and Exited say so, waiters are answered.
    void ended();
    // Restarts: whether an end with `result` restarts; the wait (RestartSec=); the new launch;
    // a pending restart called off (Stop, Release, shutdown) or refused (the start limit).
    bool restart_due(std::string_view result) const;
    void begin_restart();
    bool arm_restart_timer(uint64_t usec);
    static int on_restart_due(sd_event_source* s, uint64_t usec, void* userdata);
    void restart();
    // Ends a pending restart for good: with `result` (start-limit-hit), or with the Result of
    // the end that led to it; `why` goes to the Starts waiting for it.
    void end_restarting(const char* result, const std::string& why);
    void restore_restart_cause();
    bool start_limit_hit();
    void answer_queued_starts(const std::string& error);  // "" : success
    void launch_failed(const siginfo_t& si);
    // The cgroup engine has put the child in place (why = "") or could not.
    void placed(const std::string& why);
    std::string result_of(const siginfo_t& si) const;
    std::string launch_failure(const siginfo_t& si) const;
    void send_signal(int sig);
    void set_state(State s);
    void emit_changed(std::initializer_list<const char*> props);
    void reply_waiters();
    void answer_wait(sd_bus_message* call);
    // `keep_listening`: a restart follows, so the socket and its address stay.
    void cleanup_process(bool keep_listening = false);
    // Every change of pid_ goes through here: the daemon counts running processes per uid.
    void set_pid(pid_t pid);

    InstanceContext ctx_;
    uint64_t id_;
    std::string path_;
    InstanceSpec spec_;

    State state_ = State::created;
    std::string result_;
    int exit_code_ = 0;
    int exit_signal_ = 0;
    pid_t pid_ = 0;
    std::string address_;
    std::optional<ReturnValue> return_value_;
    bool exported_ = false;
    bool launching_ = false;
    bool stop_requested_ = false;
    bool timed_out_ = false;
    bool release_requested_ = false;
    int signalled_ = 0;    // the last signal Kill() sent: a death by it is no OOM kill
    uint64_t launches_ = 0;
    uint32_t n_restarts_ = 0;        // NRestarts: automatic restarts since the last Spawn/Start
    bool restarting_ = false;        // the launch under way is an automatic restart
    std::string restart_cause_;      // the Result that caused the last restart, and its figures
    int restart_cause_code_ = 0;
    int restart_cause_signal_ = 0;
    std::deque<uint64_t> starts_;    // CLOCK_MONOTONIC µs of the last launches (the start limit)
    EventSourcePtr restart_timer_;
    std::vector<MessagePtr> queued_starts_;  // Starts that arrived while a restart was pending

    // While a process runs: its socket file, its readiness channel and what it said there,
    // its output, and the sources that watch it.
    SocketFile socket_;
    Fd readiness_;
    wire::Readiness report_;
    std::unique_ptr<OutputRelay> output_;
    std::unique_ptr<InstanceCgroup> cgroup_;
    EventSourcePtr readiness_source_;
    EventSourcePtr child_source_;
    EventSourcePtr start_timer_;
    EventSourcePtr stop_timer_;

    MessagePtr launch_reply_;
    std::vector<MessagePtr> stop_replies_;
    std::vector<MessagePtr> wait_replies_;
    std::vector<MessagePtr> release_replies_;
};

}  // namespace offshoot

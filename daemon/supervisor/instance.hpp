// instance.hpp — one instance handle: its identity, its process and its lifecycle.
//
// States: created → (Start) → running → (Stop) → stopping → exited | failed; Start from
// exited/failed launches a fresh process on the same handle. A launch is "pending" until the
// worker reports READY=1 (the Spawn/Start reply is held until then); its failure ends in
// SpawnFailed. Exits are learnt through the pidfd in the event loop, never by polling.
#pragma once

#include "options.hpp"
#include "users.hpp"

#include "offshoot/common/class_config.hpp"
#include "offshoot/common/fd.hpp"
#include "offshoot/common/sd_ptr.hpp"

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace offshoot {

class Daemon;

enum class State { created, running, stopping, exited, failed };
const char* to_string(State s);

// Everything about how the instance runs, resolved at Spawn time.
struct InstanceSpec {
    ClassConfig cls;
    Caller owner;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
    std::string cwd;
    std::vector<std::string> environment;  // complete worker environment (minus LISTEN_PID)
    mode_t umask = 0022;
    std::vector<std::string> arguments;
    StopMode stop_mode = StopMode::terminate;
    uint64_t stop_timeout_usec = 10'000'000;
    bool tie_to_caller = false;
};

class Instance {
public:
    Instance(Daemon& daemon, uint64_t id, InstanceSpec spec);
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;
    ~Instance();

    uint64_t id() const { return id_; }
    Daemon& daemon() const { return daemon_; }
    const std::string& path() const { return path_; }
    const InstanceSpec& spec() const { return spec_; }
    State state() const { return state_; }
    const std::string& result() const { return result_; }
    int exit_code() const { return exit_code_; }
    int exit_signal() const { return exit_signal_; }
    pid_t main_pid() const { return pid_; }
    const std::string& address() const { return address_; }
    bool exported() const { return exported_; }
    bool launching() const { return launching_; }
    bool has_process() const { return pid_ > 0; }
    // Called by Daemon::export_instance when the handle appears on the bus.
    void mark_exported() { exported_ = true; }

    // Launches a process. `reply` (Spawn or Start) is answered once the worker is ready, or
    // with SpawnFailed. A null reply means nobody waits.
    void launch(MessagePtr reply);
    // Asks the process to stop (SIGTERM, or nothing in stop-mode "wait"), escalating to
    // SIGKILL after the stop timeout. `reply` is answered once the process is gone.
    void stop(MessagePtr reply);
    void kill(int sig);
    void wait(MessagePtr reply);
    // Forgets the handle once no process is left (stopping it first).
    void release(MessagePtr reply);
    // The owner's bus connection went away.
    void owner_vanished();
    // offshootd is shutting down: stop in terminate mode, whatever the instance asked for.
    void shutdown();

private:
    // The readiness channel's lines: READY=1 (returned), or a failed step's ERROR=/ERRNO=/MESSAGE=.
    bool parse_notification(std::string_view msg);
    void drain_notifications();
    static int on_notify(sd_event_source* s, int fd, uint32_t revents, void* userdata);
    static int on_child(sd_event_source* s, const siginfo_t* si, void* userdata);
    static int on_start_timeout(sd_event_source* s, uint64_t usec, void* userdata);
    static int on_stop_timeout(sd_event_source* s, uint64_t usec, void* userdata);

    void process_exited(const siginfo_t& si);
    void launch_failed(const std::string& message);
    void send_signal(int sig);
    void set_state(State s);
    void emit_changed(std::initializer_list<const char*> props);
    void reply_waiters();
    void cleanup_process();
    // Every change of pid_ goes through here: the daemon counts running processes per uid.
    void set_pid(pid_t pid);

    Daemon& daemon_;
    uint64_t id_;
    std::string path_;
    InstanceSpec spec_;

    State state_ = State::created;
    std::string result_;
    int exit_code_ = 0;
    int exit_signal_ = 0;
    pid_t pid_ = 0;
    std::string address_;
    std::string socket_path_;
    bool exported_ = false;
    bool launching_ = false;
    bool stop_requested_ = false;
    bool timed_out_ = false;
    bool release_requested_ = false;

    // Start-up failure details reported by the child or the worker.
    std::string fail_step_;
    int fail_errno_ = 0;
    std::string fail_message_;

    Fd notify_;
    EventSourcePtr notify_source_;
    EventSourcePtr child_source_;
    EventSourcePtr start_timer_;
    EventSourcePtr stop_timer_;

    MessagePtr launch_reply_;
    std::vector<MessagePtr> stop_replies_;
    std::vector<MessagePtr> wait_replies_;
    std::vector<MessagePtr> release_replies_;
};

}  // namespace offshoot

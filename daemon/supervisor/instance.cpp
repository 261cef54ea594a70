// instance.cpp — an instance's lifecycle: launch, readiness, stop, exit, release.
#include "instance.hpp"

#include "daemon.hpp"
#include "errors.hpp"
#include "spawn.hpp"

#include "offshoot/common/log.hpp"
#include "offshoot/common/protocol.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace offshoot {
namespace {

// sd-event reads an accuracy of 0 as its default, 250 ms of allowed coalescing: a stop timeout
// must fire when it says.
constexpr uint64_t timer_accuracy_usec = 1000;

// D-Bus address escaping: bytes outside [-0-9A-Za-z_/.\*] become %xx.
std::string escape_address_value(const std::string& v) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : v) {
        if (std::isalnum(c) || std::strchr("-_/.\\*", c)) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

void reply_error(MessagePtr& m, const char* name, const std::string& text) {
    if (!m) return;
    int r = sd_bus_reply_method_errorf(m.get(), name, "%s", text.c_str());
    if (r < 0) log::debug("cannot send error reply: {}", errno_text(r));
    m.reset();
}

void reply_empty(MessagePtr& m) {
    if (!m) return;
    int r = sd_bus_reply_method_return(m.get(), "");
    if (r < 0) log::debug("cannot send reply: {}", errno_text(r));
    m.reset();
}

std::string describe_status(const siginfo_t& si) {
    switch (si.si_code) {
    case CLD_EXITED: return fmt::format("exited with status {}", si.si_status);
    case CLD_KILLED: return fmt::format("was killed by signal {} ({})", si.si_status, sigabbrev_np(si.si_status) ? sigabbrev_np(si.si_status) : "?");
    case CLD_DUMPED: return fmt::format("dumped core on signal {} ({})", si.si_status, sigabbrev_np(si.si_status) ? sigabbrev_np(si.si_status) : "?");
    default: return "ended";
    }
}

}  // namespace

const char* to_string(State s) {
    switch (s) {
    case State::created: return "created";
    case State::running: return "running";
    case State::stopping: return "stopping";
    case State::exited: return "exited";
    case State::failed: return "failed";
    }
    return "failed";
}

Instance::Instance(Daemon& daemon, uint64_t id, InstanceSpec spec)
    : daemon_(daemon), id_(id), path_(fmt::format("{}/{}", instance_prefix, id)), spec_(std::move(spec)) {}

Instance::~Instance() {
    // Only reached with no process left, except when offshootd itself exits abnormally:
    // then the child source's "process own" flag SIGKILLs it and the socket goes.
    if (!socket_path_.empty()) ::unlink(socket_path_.c_str());
}

void Instance::launch(MessagePtr reply) {
    const auto& opt = daemon_.options();
    socket_path_ = fmt::format("{}/instances/{}", opt.runtime_dir, id_);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (socket_path_.size() >= sizeof sa.sun_path)
        fail(error_name::spawn_failed, "socket: runtime directory path too long for a socket ({} bytes)", socket_path_.size());
    std::memcpy(sa.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
    ::unlink(socket_path_.c_str());

    // The listening socket: created 0600 (offshootd's umask is 0077), owned by the instance's
    // owner so only they (and root) can connect, in a directory only root can write.
    Fd listen_fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (!listen_fd) fail(error_name::spawn_failed, "socket: {}", errno_text(errno));
    if (::bind(listen_fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
        fail(error_name::spawn_failed, "bind {}: {}", socket_path_, errno_text(errno));
    if (::chmod(socket_path_.c_str(), 0600) < 0 ||
        (geteuid() == 0 && ::chown(socket_path_.c_str(), spec_.owner.uid, 0) < 0)) {
        int err = errno;
        ::unlink(socket_path_.c_str());
        fail(error_name::spawn_failed, "socket permissions: {}", errno_text(err));
    }
    if (::listen(listen_fd.get(), SOMAXCONN) < 0) {
        int err = errno;
        ::unlink(socket_path_.c_str());
        fail(error_name::spawn_failed, "listen: {}", errno_text(err));
    }

    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) < 0) {
        int err = errno;
        ::unlink(socket_path_.c_str());
        fail(error_name::spawn_failed, "socketpair: {}", errno_text(err));
    }
    Fd ours{sp[0]}, theirs{sp[1]};

    SpawnPlan plan;
    plan.worker_path = opt.worker_path;
    plan.argv = {opt.worker_path,
                 "--class=" + spec_.cls.name,
                 "--plugin=" + spec_.cls.plugin,
                 fmt::format("--instance={}", id_),
                 fmt::format("--owner-uid={}", spec_.owner.uid),
                 fmt::format("--stop-mode={}", to_string(spec_.stop_mode)),
                 "--"};
    plan.argv.insert(plan.argv.end(), spec_.arguments.begin(), spec_.arguments.end());
    plan.envp = spec_.environment;
    plan.uid = spec_.uid;
    plan.gid = spec_.gid;
    plan.groups = spec_.groups;
    plan.cwd = spec_.cwd;
    plan.umask = spec_.umask;
    plan.change_ids = geteuid() == 0;
    plan.listen_fd = listen_fd.get();
    plan.notify_fd = theirs.get();
    // Under systemd the worker's stdout/stderr are a journal stream of its own
    // (SYSLOG_IDENTIFIER=offshoot-<Class>); otherwise it shares offshootd's stderr. Our end
    // closes when launch() returns: the child has its copy by then.
    Fd journal_out = log::open_journal_stream("offshoot-" + spec_.cls.name, log::Level::info);
    plan.stdout_fd = journal_out ? journal_out.get() : STDERR_FILENO;
    plan.limits = spec_.cls.limits;
    // offshootd raised its own soft descriptor limit; workers get the conventional 1024 back
    // (select() breaks above it) unless their class sets LimitNOFILE=.
    if (std::none_of(plan.limits.begin(), plan.limits.end(), [](auto& l) { return l.resource == RLIMIT_NOFILE; })) {
        struct rlimit cur {};
        if (getrlimit(RLIMIT_NOFILE, &cur) == 0 && cur.rlim_cur > 1024)
            plan.limits.push_back({RLIMIT_NOFILE, 1024, cur.rlim_max});
    }
    std::unique_ptr<SyscallFilter> filter;
    try {
        filter = SyscallFilter::build(spec_.cls);
    } catch (...) {
        ::unlink(socket_path_.c_str());
        throw;
    }
    plan.syscall_filter = filter.get();

    Spawned child;
    try {
        child = spawn_worker(plan);
    } catch (...) {
        ::unlink(socket_path_.c_str());
        throw;
    }
    // The worker holds its own copies now.
    listen_fd.reset();
    theirs.reset();

    set_pid(child.pid);
    launching_ = true;
    stop_requested_ = timed_out_ = false;
    fail_step_.clear();
    fail_message_.clear();
    fail_errno_ = 0;
    launch_reply_ = std::move(reply);

    sd_event_source* src = nullptr;
    int r = sd_event_add_child_pidfd(daemon_.event(), &src, child.pidfd.get(), WEXITED, on_child, this);
    if (r < 0) {
        // Without a child source nobody would reap it: kill and reap synchronously.
        ::kill(pid_, SIGKILL);
        siginfo_t si{};
        ::waitid(P_PID, static_cast<id_t>(pid_), &si, WEXITED);
        set_pid(0);
        launching_ = false;
        ::unlink(socket_path_.c_str());
        launch_reply_.reset();
        fail(error_name::spawn_failed, "watching the worker: {}", errno_text(r));
    }
    child_source_.reset(src);
    (void)sd_event_source_set_child_pidfd_own(src, 1);
    (void)child.pidfd.release();
    // If offshootd goes away without stopping it, the worker is killed with the source.
    (void)sd_event_source_set_child_process_own(src, 1);

    notify_ = std::move(ours);
    src = nullptr;
    r = sd_event_add_io(daemon_.event(), &src, notify_.get(), EPOLLIN, on_notify, this);
    if (r >= 0) notify_source_.reset(src);
    src = nullptr;
    r = sd_event_add_time_relative(daemon_.event(), &src, CLOCK_MONOTONIC, opt.start_timeout_usec,
                                   timer_accuracy_usec, on_start_timeout, this);
    if (r >= 0) start_timer_.reset(src);

    log::event(log::Level::info, nullptr,
               {{"OFFSHOOT_INSTANCE", id_}, {"OFFSHOOT_CLASS", spec_.cls.name}, {"OFFSHOOT_UID", spec_.uid},
                {"OFFSHOOT_GID", spec_.gid}, {"OFFSHOOT_OWNER_UID", spec_.owner.uid}, {"OFFSHOOT_PID", pid_},
                {"OFFSHOOT_CWD", spec_.cwd}},
               "instance {} ({}) launching as uid {} gid {} in {}, pid {}", id_, spec_.cls.name,
               spec_.uid, spec_.gid, spec_.cwd, pid_);
}

bool Instance::parse_notification(std::string_view msg) {
    bool ready = false;
    size_t pos = 0;
    while (pos < msg.size()) {
        size_t nl = msg.find('\n', pos);
        auto line = msg.substr(pos, nl == msg.npos ? msg.npos : nl - pos);
        pos = nl == msg.npos ? msg.size() : nl + 1;
        if (line == protocol::ready_message) ready = true;
        else if (line.rfind("ERROR=", 0) == 0) fail_step_ = line.substr(6, 64);
        else if (line.rfind("ERRNO=", 0) == 0) fail_errno_ = std::atoi(std::string(line.substr(6, 12)).c_str());
        else if (line.rfind("MESSAGE=", 0) == 0) fail_message_ = line.substr(8, 1024);
    }
    return ready;
}

void Instance::drain_notifications() {
    // The exit and the child's last words can be ready at once; sd-event may report the exit
    // first. What the child said before it died is in the channel still: read it all.
    char buf[protocol::max_message + 1];
    for (int i = 0; notify_ && i < 16; ++i) {
        ssize_t n = ::recv(notify_.get(), buf, protocol::max_message, MSG_DONTWAIT);
        if (n <= 0) break;
        (void)parse_notification({buf, static_cast<size_t>(n)});
    }
}

int Instance::on_notify(sd_event_source*, int fd, uint32_t revents, void* userdata) {
    auto& self = *static_cast<Instance*>(userdata);
    char buf[protocol::max_message + 1];
    ssize_t n = ::recv(fd, buf, protocol::max_message, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (n <= 0 || (revents & (EPOLLHUP | EPOLLERR) && n <= 0)) {
        // End of file: the worker closed the channel (after READY=1) or died.
        self.notify_source_.reset();
        self.notify_.reset();
        return 0;
    }
    const bool ready = self.parse_notification({buf, static_cast<size_t>(n)});
    if (!ready || !self.launching_) return 0;

    // READY=1: the object is registered and callable.
    self.launching_ = false;
    self.start_timer_.reset();
    self.notify_source_.reset();
    self.notify_.reset();
    self.address_ = "unix:path=" + escape_address_value(self.socket_path_);
    self.result_.clear();
    self.exit_code_ = self.exit_signal_ = 0;
    const bool first = !self.exported_;
    if (first) self.state_ = State::running;
    if (first) self.daemon_.export_instance(self);
    else {
        self.set_state(State::running);
        self.emit_changed({"MainPID", "Address", "Result", "ExitCode", "ExitSignal"});
    }
    log::event(log::Level::info, log::message_id::spawn,
               {{"OFFSHOOT_INSTANCE", self.id_}, {"OFFSHOOT_CLASS", self.spec_.cls.name},
                {"OFFSHOOT_UID", self.spec_.uid}, {"OFFSHOOT_GID", self.spec_.gid},
                {"OFFSHOOT_OWNER_UID", self.spec_.owner.uid}, {"OFFSHOOT_PID", self.pid_},
                {"OFFSHOOT_CWD", self.spec_.cwd}, {"OFFSHOOT_ADDRESS", self.address_}},
               "instance {} ({}) ready at {}, pid {} as uid {}", self.id_, self.spec_.cls.name,
               self.address_, self.pid_, self.spec_.uid);
    if (auto& m = self.launch_reply_) {
        // Spawn answers (instance, address); Start answers nothing.
        const char* member = sd_bus_message_get_member(m.get());
        int r = member && std::strcmp(member, "Start") == 0
                    ? sd_bus_reply_method_return(m.get(), "")
                    : sd_bus_reply_method_return(m.get(), "os", self.path_.c_str(), self.address_.c_str());
        if (r < 0) log::debug("instance {}: cannot send the launch reply: {}", self.id_, errno_text(r));
        m.reset();
    }
    // A Stop that arrived while launching already sent SIGTERM; the handle shows it.
    if (self.stop_requested_) self.set_state(State::stopping);
    self.daemon_.instances_changed();
    return 0;
}

int Instance::on_start_timeout(sd_event_source*, uint64_t, void* userdata) {
    auto& self = *static_cast<Instance*>(userdata);
    self.start_timer_.reset();
    if (!self.launching_) return 0;
    log::event(log::Level::warning, nullptr,
               {{"OFFSHOOT_INSTANCE", self.id_}, {"OFFSHOOT_CLASS", self.spec_.cls.name}, {"OFFSHOOT_PID", self.pid_}},
               "instance {} did not report ready in time; killing it", self.id_);
    self.fail_step_ = "ready";
    self.fail_message_ = fmt::format("the worker did not report ready within {} s",
                                     self.daemon_.options().start_timeout_usec / 1'000'000);
    self.send_signal(SIGKILL);
    return 0;
}

int Instance::on_stop_timeout(sd_event_source*, uint64_t, void* userdata) {
    auto& self = *static_cast<Instance*>(userdata);
    self.stop_timer_.reset();
    if (!self.has_process()) return 0;
    log::event(log::Level::warning, nullptr,
               {{"OFFSHOOT_INSTANCE", self.id_}, {"OFFSHOOT_CLASS", self.spec_.cls.name}, {"OFFSHOOT_PID", self.pid_}},
               "instance {} still running {} ms after it was asked to stop; sending SIGKILL",
               self.id_, self.spec_.stop_timeout_usec / 1000);
    self.timed_out_ = true;
    self.send_signal(SIGKILL);
    return 0;
}

int Instance::on_child(sd_event_source* s, const siginfo_t* si, void* userdata) {
    // sd-event reaps the child only after this callback returns; reap it now, so that when a
    // Stop/Wait reply arrives the process is really gone (no zombie in /proc). sd-event's own
    // waitid then finds nothing, which it handles.
    siginfo_t reaped{};
    int pidfd = sd_event_source_get_child_pidfd(s);
    if (pidfd >= 0) (void)::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &reaped, WEXITED | WNOHANG);
    static_cast<Instance*>(userdata)->process_exited(*si);
    return 0;
}

void Instance::send_signal(int sig) {
    if (!child_source_) return;
    int r = sd_event_source_send_child_signal(child_source_.get(), sig, nullptr, 0);
    if (r < 0 && r != -ESRCH) log::warning("instance {}: cannot send signal {}: {}", id_, sig, errno_text(r));
}

void Instance::set_pid(pid_t pid) {
    if ((pid_ > 0) != (pid > 0)) daemon_.process_count_changed(spec_.uid, pid > 0);
    pid_ = pid;
}

void Instance::cleanup_process() {
    set_pid(0);
    child_source_.reset();  // safe inside its own callback: sd-event defers the free
    notify_source_.reset();
    notify_.reset();
    start_timer_.reset();
    stop_timer_.reset();
    if (!socket_path_.empty()) ::unlink(socket_path_.c_str());
    socket_path_.clear();
    address_.clear();
}

void Instance::process_exited(const siginfo_t& si) {
    const pid_t pid = pid_;
    const bool was_launching = launching_;
    if (was_launching) drain_notifications();
    launching_ = false;
    cleanup_process();

    std::string result;
    int code = 0, sig = 0;
    switch (si.si_code) {
    case CLD_EXITED:
        code = si.si_status;
        result = code == 0 ? "success" : "exit-code";
        break;
    case CLD_KILLED:
        sig = si.si_status;
        // Dying of the SIGTERM we sent to stop it is a clean stop (as systemd counts it).
        result = (stop_requested_ && sig == SIGTERM) ? "success" : "signal";
        break;
    case CLD_DUMPED:
        sig = si.si_status;
        result = "core-dump";
        break;
    default:
        result = "signal";
    }
    if (timed_out_) result = "timeout";

    if (was_launching) {
        std::string why;
        if (!fail_step_.empty()) {
            const std::string reason = !fail_message_.empty() ? fail_message_ : errno_text(fail_errno_);
            if (fail_step_ == "chdir")
                why = fmt::format("chdir: cannot enter {} as uid {}: {}", spec_.cwd, spec_.uid, reason);
            else if (fail_step_ == "exec")
                why = fmt::format("exec: cannot run {}: {}", daemon_.options().worker_path, reason);
            else
                why = fail_step_ + ": " + reason;
        } else {
            why = fmt::format("the worker {} before it was ready", describe_status(si));
        }
        launch_failed(why);
        return;
    }

    result_ = result;
    exit_code_ = code;
    exit_signal_ = sig;
    const int reported = sig ? sig : code;
    log::event(result_ == "success" ? log::Level::info : log::Level::notice, log::message_id::exit,
               {{"OFFSHOOT_INSTANCE", id_}, {"OFFSHOOT_CLASS", spec_.cls.name}, {"OFFSHOOT_UID", spec_.uid},
                {"OFFSHOOT_OWNER_UID", spec_.owner.uid}, {"OFFSHOOT_PID", pid}, {"OFFSHOOT_RESULT", result_},
                {"OFFSHOOT_EXIT_CODE", code}, {"OFFSHOOT_EXIT_SIGNAL", sig}},
               "instance {} ({}) pid {} {}: {}", id_, spec_.cls.name, pid, describe_status(si), result_);
    // One PropertiesChanged for the whole transition: whoever sees the new State also sees
    // the Result that goes with it.
    state_ = result_ == "success" ? State::exited : State::failed;
    emit_changed({"State", "Result", "ExitCode", "ExitSignal", "MainPID", "Address"});
    if (exported_) {
        int r = sd_bus_emit_signal(daemon_.bus(), path_.c_str(), instance_interface, "Exited", "si",
                                   result_.c_str(), reported);
        if (r < 0) log::debug("instance {}: cannot emit Exited: {}", id_, errno_text(r));
    }
    reply_waiters();
}

void Instance::launch_failed(const std::string& why) {
    log::event(log::Level::warning, log::message_id::spawn_failed,
               {{"OFFSHOOT_INSTANCE", id_}, {"OFFSHOOT_CLASS", spec_.cls.name}, {"OFFSHOOT_UID", spec_.uid},
                {"OFFSHOOT_OWNER_UID", spec_.owner.uid}, {"OFFSHOOT_SPAWN_ERROR", why}},
               "instance {} ({}) failed to start: {}", id_, spec_.cls.name, why);
    result_ = "spawn-failed";
    exit_code_ = exit_signal_ = 0;
    reply_error(launch_reply_, error_name::spawn_failed, why);
    if (!exported_) {
        // A Spawn that failed leaves nothing behind: no process, no handle.
        reply_waiters();
        daemon_.remove_instance(*this);
        return;
    }
    state_ = State::failed;
    emit_changed({"State", "Result", "ExitCode", "ExitSignal", "MainPID", "Address"});
    reply_waiters();
}

void Instance::reply_waiters() {
    for (auto& m : stop_replies_) reply_empty(m);
    stop_replies_.clear();
    const int reported = exit_signal_ ? exit_signal_ : exit_code_;
    for (auto& m : wait_replies_) {
        int r = sd_bus_reply_method_return(m.get(), "si", result_.c_str(), reported);
        if (r < 0) log::debug("instance {}: cannot answer Wait: {}", id_, errno_text(r));
    }
    wait_replies_.clear();
    stop_requested_ = false;
    if (release_requested_) {
        for (auto& m : release_replies_) reply_empty(m);
        release_replies_.clear();
        if (exported_ || !launching_) daemon_.remove_instance(*this);
    }
    daemon_.instances_changed();
}

void Instance::set_state(State s) {
    if (state_ == s) return;
    state_ = s;
    emit_changed({"State"});
}

void Instance::emit_changed(std::initializer_list<const char*> props) {
    if (!exported_) return;
    std::vector<char*> names;
    for (auto p : props) names.push_back(const_cast<char*>(p));
    names.push_back(nullptr);
    int r = sd_bus_emit_properties_changed_strv(daemon_.bus(), path_.c_str(), instance_interface, names.data());
    if (r < 0) log::debug("instance {}: cannot emit PropertiesChanged: {}", id_, errno_text(r));
}

void Instance::stop(MessagePtr reply) {
    if (!has_process()) {
        reply_empty(reply);
        return;
    }
    if (reply) stop_replies_.push_back(std::move(reply));
    if (stop_requested_) return;  // already on its way down; the timer is armed
    stop_requested_ = true;
    if (!launching_) set_state(State::stopping);
    // SIGTERM in both modes: the worker knows its stop mode — "terminate" runs the class's
    // stop() hook and exits, "wait" lets run()/the loop finish by itself (a plain object has
    // nothing to wait for and stops). Either way SIGKILL follows once the stop timeout has
    // passed, so every Stop is bounded.
    {
        send_signal(SIGTERM);
        sd_event_source* src = nullptr;
        int r = sd_event_add_time_relative(daemon_.event(), &src, CLOCK_MONOTONIC,
                                           spec_.stop_timeout_usec, timer_accuracy_usec, on_stop_timeout, this);
        if (r >= 0) stop_timer_.reset(src);
        else send_signal(SIGKILL);
    }
}

void Instance::shutdown() {
    if (!has_process()) return;
    spec_.stop_mode = StopMode::terminate;
    stop(nullptr);
}

void Instance::kill(int sig) {
    if (!has_process())
        fail(error_name::not_running, "instance {} has no process to signal (state {})", id_, to_string(state_));
    if (sig <= 0 || sig >= _NSIG)
        fail(error_name::invalid_argument, "{} is not a signal number (1 to {})", sig, _NSIG - 1);
    int r = sd_event_source_send_child_signal(child_source_.get(), sig, nullptr, 0);
    if (r < 0) fail(error_name::failed, "cannot send signal {} to instance {}: {}", sig, id_, errno_text(r));
}

void Instance::wait(MessagePtr reply) {
    if (has_process()) {
        wait_replies_.push_back(std::move(reply));
        return;
    }
    // No process (never started, or already gone): answer at once. A never-started instance
    // answers an empty result.
    const int reported = exit_signal_ ? exit_signal_ : exit_code_;
    int r = sd_bus_reply_method_return(reply.get(), "si", result_.c_str(), reported);
    if (r < 0) log::debug("instance {}: cannot answer Wait: {}", id_, errno_text(r));
}

void Instance::release(MessagePtr reply) {
    release_requested_ = true;
    if (reply) release_replies_.push_back(std::move(reply));
    if (has_process()) {
        stop(nullptr);
        return;
    }
    for (auto& m : release_replies_) reply_empty(m);
    release_replies_.clear();
    daemon_.remove_instance(*this);
}

void Instance::owner_vanished() {
    if (spec_.tie_to_caller && has_process()) {
        log::event(log::Level::info, log::message_id::stop,
                   {{"OFFSHOOT_INSTANCE", id_}, {"OFFSHOOT_CLASS", spec_.cls.name}, {"OFFSHOOT_UID", spec_.uid},
                    {"OFFSHOOT_OWNER_UID", spec_.owner.uid}, {"OFFSHOOT_PID", pid_}},
                   "instance {}: owner {} disconnected; stopping it", id_, spec_.owner.unique_name);
        release(nullptr);
    } else if (!has_process() && state_ != State::created) {
        // A finished handle is kept for its owner until they release it or go away. A handle
        // created with start=false and never started waits for whoever starts it (e.g.
        // `offshootctl spawn --no-start` followed by `offshootctl start`).
        release(nullptr);
    }
}

}  // namespace offshoot

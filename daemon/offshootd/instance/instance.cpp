// instance.cpp — an instance's lifecycle: launch, readiness, stop, exit, release.
#include "instance/instance.hpp"

#include "config/daemon_config.hpp"

#include "offshoot/common/errors.hpp"
#include "offshoot/common/log.hpp"

#include <offshoot/wire/readiness.hpp>
#include <offshoot/wire/worker_command.hpp>

#include <signal.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <cstring>
#include <utility>

namespace offshoot {
namespace {

// sd-event reads an accuracy of 0 as its default, 250 ms of allowed coalescing: a stop timeout
// must fire when it says.
constexpr uint64_t timer_accuracy_usec = 1000;

uint64_t monotonic_usec() {
    timespec ts{};
    (void)::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
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
    case State::restarting: return "restarting";
    }
    return "failed";
}

Instance::Instance(const InstanceContext& context, uint64_t id, InstanceSpec spec)
    : ctx_(context), id_(id), path_(fmt::format("{}/{}", names::instance_tree, id)), spec_(std::move(spec)) {}

// Only reached with no process left, except when offshootd itself exits abnormally: then the
// child source's "process own" flag SIGKILLs it, and the socket file goes with socket_.
Instance::~Instance() = default;

log::FieldList Instance::fields(std::initializer_list<log::Field> extra) const {
    log::FieldList f{{"OFFSHOOT_INSTANCE", id_}, {"OFFSHOOT_CLASS", spec_.cls.name}, {"OFFSHOOT_UID", spec_.uid},
                     {"OFFSHOOT_OWNER_UID", spec_.owner.uid}};
    if (pid_ > 0) f.emplace_back("OFFSHOOT_PID", pid_);
    f.insert(f.end(), extra.begin(), extra.end());
    return f;
}

namespace {

// The readiness channel: the child's end becomes the worker's fd 4.
std::pair<Fd, Fd> readiness_channel() {
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) < 0)
        fail(errors::spawn_failed, "socketpair: {}", errno_text(errno));
    return {Fd{sp[0]}, Fd{sp[1]}};
}

// The worker's stdout/stderr: under systemd a journal stream of its own
// (SYSLOG_IDENTIFIER=offshoot-<Class>); otherwise a pipe whose lines offshootd logs as this
// instance's (OutputRelay) — never offshootd's own stderr, which class code could otherwise
// write lines into that look like offshootd's. Returns (offshootd's end or none, the child's).
std::pair<Fd, Fd> output_channel(const std::string& class_name) {
    Fd journal = log::open_journal_stream("offshoot-" + class_name, log::Level::info);
    if (journal) return {Fd{}, std::move(journal)};
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) fail(errors::spawn_failed, "pipe: {}", errno_text(errno));
    return {keep_long_lived(Fd{p[0]}), Fd{p[1]}};  // offshootd keeps its end for the instance's life
}

std::vector<std::string> worker_argv(const InstanceSpec& spec, uint64_t id, const std::string& program) {
    wire::WorkerCommand command;
    command.class_name = spec.cls.name;
    command.plugin = spec.cls.plugin;
    command.interface = spec.cls.interface;
    command.instance_id = id;
    command.owner_uid = spec.owner.uid;
    command.stop_mode = spec.stop_mode;
    command.max_connections = spec.cls.max_connections;
    command.dumpable = spec.cls.dumpable;
    command.arguments = spec.arguments;
    return command.to_argv(program);
}

}  // namespace

void Instance::publish() {
    if (exported_) return;
    exported_ = true;
    ctx_.observer.instance_exported(*this);
}

void Instance::launch(MessagePtr reply) {
    // Everything the child needs, made before the fork; each step throws SpawnFailed and
    // whatever was made so far goes with its owner.
    const auto& opt = ctx_.options;
    // Every attempt counts toward the start limit, as systemd tests it when a start begins: a
    // restart that fails before the fork (no descriptors, no cgroup) must not loop for ever.
    starts_.push_back(monotonic_usec());
    if (starts_.size() > spec_.restart.start_limit_burst) starts_.pop_front();
    // A restart hands the new worker the socket offshootd kept: the address stays, and whoever
    // connected meanwhile waits in its backlog for the new worker. It stays socket_ until the
    // fork has succeeded, so a launch that fails keeps it (and its backlog) for the next try.
    SocketFile fresh;
    if (!socket_.listening()) socket_ = {};  // (nothing of a previous process is left in it)
    if (!socket_.listening())
        fresh = SocketFile::listen(fmt::format("{}/instances/{}", opt.runtime_dir, id_), spec_.owner.uid);
    SocketFile& socket = socket_.listening() ? socket_ : fresh;
    auto [readiness, child_readiness] = readiness_channel();
    auto [output, child_output] = output_channel(spec_.cls.name);
    const std::unique_ptr<SyscallFilter> filter = SyscallFilter::build(spec_.cls);
    ++launches_;
    std::unique_ptr<InstanceCgroup> cgroup =
        ctx_.cgroups.prepare(spec_, id_, instance_cgroup_name(spec_.cls.name, id_, launches_));
    NamespacePlan namespaces = plan_namespaces(spec_.containment.sandbox, ctx_.namespace_paths);

    SpawnPlan plan{.spec = spec_, .program = opt.worker_path, .argv = worker_argv(spec_, id_, opt.worker_path)};
    // The spawn child's first step closes everything from 1024 up: a kept socket (which lives
    // up there) goes to the child through a copy below.
    Fd listen_copy{socket.fd() >= kLongLivedFdBase ? ::fcntl(socket.fd(), F_DUPFD_CLOEXEC, 3) : -1};
    if (socket.fd() >= kLongLivedFdBase && !listen_copy) fail(errors::spawn_failed, "socket: {}", errno_text(errno));
    plan.listen_fd = listen_copy ? listen_copy.get() : socket.fd();
    plan.notify_fd = child_readiness.get();
    plan.output_fd = child_output.get();
    plan.limits = worker_limits(spec_.cls);
    plan.filter = filter.get();
    plan.change_ids = geteuid() == 0;
    plan.cgroup_fds = cgroup->join_fds();
    plan.wait_for_scope = cgroup->parks_child();
    plan.namespaces = namespaces.empty() ? nullptr : &namespaces;
    Spawned child = spawn_worker(plan);

    // The worker holds its own copies now; offshootd keeps only the file to remove later, and
    // the socket itself when the instance may restart.
    if (spec_.restart.policy == RestartPolicy::no) socket.close_socket();
    else socket.keep_listening();
    if (&socket == &fresh) socket_ = std::move(fresh);
    if (!restarting_ && n_restarts_ != 0) {
        n_restarts_ = 0;  // a Start by hand begins the count again, as systemd's does
        emit_changed({"NRestarts"});
    }
    const pid_t pid = child.pid;
    watch(std::move(child), std::move(readiness), std::move(output), std::move(reply));
    cgroup_ = std::move(cgroup);
    cgroup_->place(pid, [this](const std::string& why) { placed(why); });
}

void Instance::placed(const std::string& why) {
    if (!launching_) return;
    if (why.empty()) {
        // The child waits for this before it goes on (spawn.cpp, step "scope").
        if (cgroup_ && cgroup_->parks_child() &&
            ::send(readiness_.get(), proceed_message.data(), proceed_message.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
            report_.step = "scope";
            report_.err = errno;
            report_.message = "cannot tell the worker to go on";
            send_signal(SIGKILL);
        }
        return;
    }
    log::event(log::Level::warning, nullptr, fields(), "instance {}: {}", id_, why);
    report_.step = "scope";
    report_.err = 0;
    report_.message = why;
    send_signal(SIGKILL);
}

void Instance::watch(Spawned child, Fd readiness, Fd output, MessagePtr reply) {
    sd_event_source* src = nullptr;
    int r = sd_event_add_child_pidfd(ctx_.event, &src, child.pidfd.get(), WEXITED, on_child, this);
    if (r < 0) {
        // Without a child source nobody would reap it: kill and reap synchronously.
        ::kill(child.pid, SIGKILL);
        siginfo_t si{};
        ::waitid(P_PID, static_cast<id_t>(child.pid), &si, WEXITED);
        socket_ = {};
        fail(errors::spawn_failed, "watching the worker: {}", errno_text(r));
    }
    child_source_.reset(src);
    (void)sd_event_source_set_child_pidfd_own(src, 1);
    (void)child.pidfd.release();
    // If offshootd goes away without stopping it, the worker is killed with the source.
    (void)sd_event_source_set_child_process_own(src, 1);

    set_pid(child.pid);
    launching_ = true;
    stop_requested_ = timed_out_ = false;
    signalled_ = 0;
    report_ = {};
    return_value_.reset();
    launch_reply_ = std::move(reply);
    if (output)
        output_ = std::make_unique<OutputRelay>(ctx_.event, std::move(output),
                                                fmt::format("instance {} ({}) pid {}", id_, spec_.cls.name, child.pid));

    readiness_ = std::move(readiness);
    src = nullptr;
    if (sd_event_add_io(ctx_.event, &src, readiness_.get(), EPOLLIN, on_readiness, this) >= 0) readiness_source_.reset(src);
    src = nullptr;
    if (sd_event_add_time_relative(ctx_.event, &src, CLOCK_MONOTONIC, ctx_.options.start_timeout_usec,
                                   timer_accuracy_usec, on_start_timeout, this) >= 0)
        start_timer_.reset(src);

    log::event(log::Level::info, nullptr, fields({{"OFFSHOOT_GID", spec_.gid}, {"OFFSHOOT_CWD", spec_.cwd}}),
               "instance {} ({}) launching as uid {} gid {} in {}, pid {}", id_, spec_.cls.name, spec_.uid,
               spec_.gid, spec_.cwd, pid_);
}

void Instance::drain_readiness() {
    // The exit and the child's last words can be ready at once; sd-event may report the exit
    // first. What the child said before it died (a failed step, a task's return value) is in
    // the channel still: read it all.
    for (int i = 0; readiness_ && i < 16; ++i)
        if (!read_readiness()) break;
}

bool Instance::read_readiness() {
    // One buffer for every instance: offshootd has one thread, and a datagram is used up
    // before the next is read. Room for one byte more than a datagram may have, so that
    // MSG_TRUNC tells a longer one apart.
    static char buf[wire::max_value_message + 1];
    const ssize_t n = ::recv(readiness_.get(), buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    if (n <= 0) {
        // End of file: the worker closed the channel (after READY=1) or died.
        close_readiness();
        return false;
    }
    const std::string_view datagram(buf, std::min(static_cast<size_t>(n), sizeof buf));
    // Never read as KEY=VALUE lines: a string in a value may well say "READY=1".
    if (datagram.starts_with(wire::value_prefix)) {
        take_return_value(static_cast<size_t>(n) < sizeof buf ? datagram : std::string_view());
        return static_cast<bool>(readiness_);
    }
    if (static_cast<size_t>(n) <= wire::max_message) report_.read(datagram);
    if (report_.ready && launching_) ready();
    return true;
}

void Instance::take_return_value(std::string_view datagram) {
    // A worker sends one value, after READY=1, just before it exits; the channel is closed
    // once one has come, so a class that writes to it in a loop cannot keep offshootd busy.
    if (launching_) {
        log::warning("instance {}: a return value before the worker was ready; ignored", id_);
        return;
    }
    close_readiness();
    std::string error = datagram.empty() ? "larger than " + std::to_string(wire::max_value_message) + " bytes" : "";
    std::optional<ReturnValue> value;
    if (!datagram.empty()) value = ReturnValue::from_datagram(ctx_.bus, datagram, error);
    if (!value) {
        log::event(log::Level::warning, nullptr, fields(), "instance {} ({}): its return value is not usable: {}", id_,
                   spec_.cls.name, error);
        return;
    }
    log::debug("instance {}: run() handed back a value of type {}", id_, value->signature());
    return_value_ = std::move(value);
}

void Instance::close_readiness() {
    readiness_source_.reset();
    readiness_.reset();
}

int Instance::on_readiness(sd_event_source*, int, uint32_t, void* userdata) {
    (void)static_cast<Instance*>(userdata)->read_readiness();
    return 0;
}

void Instance::ready() {
    // READY=1: the object is registered and callable. The channel stays open: a task's worker
    // sends its return value on it, any other closes it (end of file, on_readiness).
    launching_ = false;
    start_timer_.reset();
    address_ = socket_.address();
    result_.clear();
    exit_code_ = exit_signal_ = 0;
    if (!exported_) {
        state_ = State::running;
        publish();
    } else {
        set_state(State::running);
        emit_changed({"MainPID", "Address", "Result", "ExitCode", "ExitSignal", "ControlGroup", "Unit"});
    }
    log::event(log::Level::info, log::message_id::spawn,
               fields({{"OFFSHOOT_GID", spec_.gid}, {"OFFSHOOT_CWD", spec_.cwd}, {"OFFSHOOT_ADDRESS", address_}}),
               "instance {} ({}) ready at {}, pid {} as uid {}", id_, spec_.cls.name, address_, pid_, spec_.uid);
    if (launch_reply_) {
        // Spawn answers (instance, address); Start answers nothing.
        sd_bus_message* m = launch_reply_.get();
        const char* member = sd_bus_message_get_member(m);
        int r = member && std::strcmp(member, "Start") == 0
                    ? sd_bus_reply_method_return(m, "")
                    : sd_bus_reply_method_return(m, "os", path_.c_str(), address_.c_str());
        if (r < 0) log::debug("instance {}: cannot send the launch reply: {}", id_, errno_text(r));
        launch_reply_.reset();
    }
    if (restarting_) {
        restarting_ = false;
        answer_queued_starts({});
        int r = sd_bus_emit_signal(ctx_.bus, path_.c_str(), names::instance_interface, "Restarted", "siu",
                                   restart_cause_.c_str(), restart_cause_signal_ ? restart_cause_signal_ : restart_cause_code_,
                                   n_restarts_);
        if (r < 0) log::debug("instance {}: cannot emit Restarted: {}", id_, errno_text(r));
    }
    // A Stop that arrived while launching already sent SIGTERM; the handle shows it.
    if (stop_requested_) set_state(State::stopping);
    ctx_.observer.instances_changed();
}

int Instance::on_start_timeout(sd_event_source*, uint64_t, void* userdata) {
    auto& self = *static_cast<Instance*>(userdata);
    self.start_timer_.reset();
    if (!self.launching_) return 0;
    log::event(log::Level::warning, nullptr, self.fields(), "instance {} did not report ready in time; killing it", self.id_);
    self.report_.step = "ready";
    self.report_.message = fmt::format("the worker did not report ready within {} s",
                                     self.ctx_.options.start_timeout_usec / 1'000'000);
    self.send_signal(SIGKILL);
    return 0;
}

int Instance::on_stop_timeout(sd_event_source*, uint64_t, void* userdata) {
    auto& self = *static_cast<Instance*>(userdata);
    self.stop_timer_.reset();
    if (!self.has_process()) return 0;
    log::event(log::Level::warning, nullptr, self.fields(),
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
    if ((pid_ > 0) != (pid > 0)) ctx_.observer.process_count_changed(spec_.uid, pid > 0);
    pid_ = pid;
}

void Instance::cleanup_process(bool keep_listening) {
    if (cgroup_) cgroup_->release();  // kills what the worker left behind
    cgroup_.reset();
    set_pid(0);
    child_source_.reset();  // safe inside its own callback: sd-event defers the free
    readiness_source_.reset();
    readiness_.reset();
    start_timer_.reset();
    stop_timer_.reset();
    if (keep_listening) return;
    socket_ = {};
    address_.clear();
}

void Instance::process_exited(const siginfo_t& si) {
    // Its last words (a crash report, say) before the line that says it ended.
    if (output_) output_->drain();
    if (launching_) {
        drain_readiness();
        if (launching_) {
            launching_ = false;
            launch_failed(si);
            return;
        }
        // READY=1 was still in the channel (sd-event reported the exit first): the worker was
        // ready — ready() has answered the Spawn — and has ended since, like any other.
    }
    drain_readiness();  // a task's return value, sent just before it exited
    const pid_t pid = pid_;
    result_ = result_of(si);
    const bool again = restart_due(result_);
    // The socket is kept for the next worker only where nothing the old one left can still
    // accept on it: when its cgroup takes whatever it left behind (release()).
    cleanup_process(again && cgroup_ && cgroup_->contains_leftovers());

    const int code = si.si_code == CLD_EXITED ? si.si_status : 0;
    const int sig = si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED ? si.si_status : 0;
    exit_code_ = code;
    exit_signal_ = sig;
    log::event(result_ == "success" ? log::Level::info : log::Level::notice, log::message_id::exit,
               fields({{"OFFSHOOT_PID", pid}, {"OFFSHOOT_RESULT", result_}, {"OFFSHOOT_EXIT_CODE", code},
                       {"OFFSHOOT_EXIT_SIGNAL", sig}}),
               "instance {} ({}) pid {} {}: {}", id_, spec_.cls.name, pid, describe_status(si), result_);
    if (again) begin_restart();
    else ended();
}

void Instance::ended() {
    // One PropertiesChanged for the whole transition: whoever sees the new State also sees
    // the Result that goes with it.
    state_ = result_ == "success" ? State::exited : State::failed;
    emit_changed({"State", "Result", "ExitCode", "ExitSignal", "MainPID", "Address", "ReturnValue", "ControlGroup", "Unit"});
    if (exported_) {
        int r = sd_bus_emit_signal(ctx_.bus, path_.c_str(), names::instance_interface, "Exited", "si",
                                   result_.c_str(), exit_signal_ ? exit_signal_ : exit_code_);
        if (r < 0) log::debug("instance {}: cannot emit Exited: {}", id_, errno_text(r));
    }
    reply_waiters();
}

// Before cleanup_process(): an OOM kill is read from the instance's cgroup.
std::string Instance::result_of(const siginfo_t& si) const {
    if (timed_out_) return "timeout";
    switch (si.si_code) {
    case CLD_EXITED: return si.si_status == 0 ? "success" : "exit-code";
    case CLD_KILLED:
    case CLD_DUMPED: {
        const int sig = si.si_status;
        // Dying of the SIGTERM we sent to stop it is a clean stop (as systemd counts it).
        if (stop_requested_ && sig == SIGTERM) return "success";
        // A signal nobody here sent, and the kernel's OOM killer acted in the instance's
        // cgroup (it SIGKILLs; a scope's OOMPolicy=stop SIGTERMs what is left).
        if (sig != signalled_ && cgroup_ && cgroup_->oom_killed()) return "oom-kill";
        return si.si_code == CLD_DUMPED ? "core-dump" : "signal";
    }
    default: return "signal";
    }
}

std::string Instance::launch_failure(const siginfo_t& si) const {
    if (report_.step.empty()) return fmt::format("the worker {} before it was ready", describe_status(si));
    // The caller gets everything the worker said: its message and, when the step failed with
    // a system error, that error's text ("cannot read plugin /x.so: No such file or
    // directory"), unless the message already names it.
    std::string reason = report_.message;
    if (report_.err != 0) {
        const std::string err = errno_text(report_.err);
        if (reason.empty()) reason = err;
        else if (reason.find(err) == std::string::npos) reason += ": " + err;
    }
    if (report_.step == "chdir") return fmt::format("chdir: cannot enter {} as uid {}: {}", spec_.cwd, spec_.uid, reason);
    if (report_.step == "exec") return fmt::format("exec: cannot run {}: {}", ctx_.options.worker_path, reason);
    if (report_.step == "interface")
        return fmt::format("interface: {} (Interface= in {}; the plugin is {})", reason, spec_.cls.source, spec_.cls.plugin);
    // What was being done, and the kernel's answer.
    if (!report_.message.empty() && report_.err && (report_.step == "namespace" || report_.step == "cgroup"))
        return fmt::format("{}: {}: {}", report_.step, report_.message, errno_text(report_.err));
    return report_.step + ": " + reason;
}

void Instance::launch_failed(const siginfo_t& si) {
    const std::string why = launch_failure(si);
    // A restart that could not start is a failure like any other: its policy decides.
    const bool was_restart = restarting_;
    const bool again = was_restart && restart_due("spawn-failed");
    restarting_ = false;
    cleanup_process(again && cgroup_ && cgroup_->contains_leftovers());
    log::event(log::Level::warning, log::message_id::spawn_failed, fields({{"OFFSHOOT_SPAWN_ERROR", why}}),
               "instance {} ({}) failed to start: {}", id_, spec_.cls.name, why);
    result_ = "spawn-failed";
    exit_code_ = exit_signal_ = 0;
    reply_error(launch_reply_, errors::spawn_failed, why);
    if (!exported_) {
        // A Spawn that failed leaves nothing behind: no process, no handle.
        reply_waiters();
        ctx_.observer.instance_done(*this);
        return;
    }
    if (again) {
        begin_restart();
        return;
    }
    if (was_restart) {
        // The instance ends here (Exited, Wait answered); stopped during its relaunch, with the
        // Result of the end that led to it.
        if (stop_requested_) restore_restart_cause();
        answer_queued_starts(fmt::format("instance {} {}", id_, stop_requested_ ? "was stopped while it restarted"
                                                                                 : "could not be restarted: " + why));
        ended();
        return;
    }
    state_ = State::failed;
    emit_changed({"State", "Result", "ExitCode", "ExitSignal", "MainPID", "Address", "ControlGroup", "Unit"});
    reply_waiters();
}

void Instance::reply_waiters() {
    for (auto& m : stop_replies_) reply_empty(m);
    stop_replies_.clear();
    for (auto& m : wait_replies_) answer_wait(m.get());
    wait_replies_.clear();
    stop_requested_ = false;
    if (release_requested_) {
        for (auto& m : release_replies_) reply_empty(m);
        release_replies_.clear();
        if (exported_ || !launching_) ctx_.observer.instance_done(*this);
    }
    ctx_.observer.instances_changed();
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
    int r = sd_bus_emit_properties_changed_strv(ctx_.bus, path_.c_str(), names::instance_interface, names.data());
    if (r < 0) log::debug("instance {}: cannot emit PropertiesChanged: {}", id_, errno_text(r));
}

void Instance::stop(MessagePtr reply) {
    if (!has_process()) {
        if (restart_pending()) {
            stop_requested_ = true;  // stopped for good: no restart
            end_restarting(nullptr, "it was stopped");
        }
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
        int r = sd_event_add_time_relative(ctx_.event, &src, CLOCK_MONOTONIC,
                                           spec_.stop_timeout_usec, timer_accuracy_usec, on_stop_timeout, this);
        if (r >= 0) stop_timer_.reset(src);
        else send_signal(SIGKILL);
    }
}

void Instance::shutdown() {
    if (restart_pending()) {
        stop_requested_ = true;
        end_restarting(nullptr, "offshootd is shutting down");
    }
    if (!has_process()) return;
    spec_.stop_mode = StopMode::terminate;
    stop(nullptr);
}

void Instance::kill(int sig) {
    if (!has_process())
        fail(errors::not_running, "instance {} has no process to signal (state {})", id_, to_string(state_));
    if (sig <= 0 || sig >= _NSIG)
        fail(errors::invalid_argument, "{} is not a signal number (1 to {})", sig, _NSIG - 1);
    int r = sd_event_source_send_child_signal(child_source_.get(), sig, nullptr, 0);
    if (r < 0) fail(errors::failed, "cannot send signal {} to instance {}: {}", sig, id_, errno_text(r));
    signalled_ = sig;
}

void Instance::wait(MessagePtr reply) {
    if (has_process() || restart_pending()) {
        wait_replies_.push_back(std::move(reply));
        return;
    }
    // No process (never started, or already gone): answer at once. A never-started instance
    // answers an empty result.
    answer_wait(reply.get());
}

void Instance::answer_wait(sd_bus_message* call) {
    // Wait → (result, code); WaitReturnValue → (result, code, the value as 0 or 1 elements).
    const int reported = exit_signal_ ? exit_signal_ : exit_code_;
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_return(call, &raw);
    MessagePtr reply(raw);
    if (r >= 0) r = sd_bus_message_append(raw, "si", result_.c_str(), reported);
    const char* member = sd_bus_message_get_member(call);
    if (r >= 0 && member && std::strcmp(member, "WaitReturnValue") == 0) r = append_return_value(raw);
    if (r >= 0) r = sd_bus_send(nullptr, raw, nullptr);
    if (r < 0) log::debug("instance {}: cannot answer {}: {}", id_, member ? member : "Wait", errno_text(r));
}

int Instance::append_return_value(sd_bus_message* m) const {
    int r = sd_bus_message_open_container(m, 'a', "v");
    if (r >= 0 && return_value_ && !has_process()) r = return_value_->append_variant(m);
    return r < 0 ? r : sd_bus_message_close_container(m);
}

void Instance::release(MessagePtr reply) {
    release_requested_ = true;
    if (reply) release_replies_.push_back(std::move(reply));
    if (restart_pending()) {
        end_restarting(nullptr, "it was released");  // answers the Release, forgets the handle
        return;
    }
    if (has_process()) {
        stop(nullptr);
        return;
    }
    for (auto& m : release_replies_) reply_empty(m);
    release_replies_.clear();
    ctx_.observer.instance_done(*this);
}

void Instance::owner_vanished() {
    // A pending restart is a process on its way: tied, it ends with its owner; untied, it
    // lives on as a running one would.
    if (restart_pending() && !spec_.tie_to_caller) return;
    if (spec_.tie_to_caller && (has_process() || restart_pending())) {
        log::event(log::Level::info, log::message_id::stop, fields(), "instance {}: owner {} disconnected; stopping it", id_, spec_.owner.unique_name);
        release(nullptr);
    } else if (!has_process() && state_ != State::created) {
        // A finished handle is kept for its owner until they release it or go away. A handle
        // created with start=false and never started waits for whoever starts it (e.g.
        // `offshootctl spawn --no-start` followed by `offshootctl start`).
        release(nullptr);
    }
}

// ---- restarts (config/restart.hpp) ----

bool Instance::restart_due(std::string_view result) const {
    // Only a process that ended by itself: never after Stop, Release or the owner's going
    // away (tie-to-caller releases), nor while offshootd shuts down.
    return exported_ && restarts_after(spec_.restart.policy, result) && !stop_requested_ && !release_requested_ &&
           !ctx_.observer.shutting_down();
}

void Instance::begin_restart() {
    restart_cause_ = result_;
    restart_cause_signal_ = exit_signal_;
    restart_cause_code_ = exit_code_;
    state_ = State::restarting;
    if (!arm_restart_timer(spec_.restart.restart_usec)) return;
    // The address stays (the socket is kept); the rest describes the process that ended.
    emit_changed({"State", "Result", "ExitCode", "ExitSignal", "MainPID", "ReturnValue", "ControlGroup", "Unit"});
    log::event(log::Level::notice, log::message_id::restart, fields({{"OFFSHOOT_RESULT", result_}}),
               "instance {} ({}) ended ({}); restarting in {} ms (Restart={}, {} restart{} so far)", id_,
               spec_.cls.name, result_, spec_.restart.restart_usec / 1000, to_string(spec_.restart.policy),
               n_restarts_, n_restarts_ == 1 ? "" : "s");
    ctx_.observer.instances_changed();
}

bool Instance::arm_restart_timer(uint64_t usec) {
    sd_event_source* src = nullptr;
    int r = sd_event_add_time_relative(ctx_.event, &src, CLOCK_MONOTONIC, usec, timer_accuracy_usec, on_restart_due, this);
    if (r >= 0) {
        restart_timer_.reset(src);
        return true;
    }
    log::event(log::Level::err, log::message_id::restart, fields(), "instance {}: cannot arm the restart timer: {}", id_,
               errno_text(r));
    end_restarting(nullptr, "the restart timer could not be armed");
    return false;
}

int Instance::on_restart_due(sd_event_source*, uint64_t, void* userdata) {
    auto& self = *static_cast<Instance*>(userdata);
    // Nothing may escape into sd-event's C frames: a failure ends the restarts instead.
    try {
        self.restart();
    } catch (const std::exception& e) {
        log::event(log::Level::err, log::message_id::restart, self.fields(), "instance {}: restart failed: {}", self.id_,
                   e.what());
        if (self.state_ == State::restarting && !self.has_process()) self.end_restarting(nullptr, "the restart failed");
    }
    return 0;
}

void Instance::restart() {
    restart_timer_.reset();
    // The owner's spawn rate (SpawnRatePerSecond=) covers restarts as it covers Spawn: past it,
    // the restart waits for a token rather than failing.
    if (const uint64_t wait = ctx_.observer.restart_admission(*this); wait > 0) {
        log::debug("instance {}: restart deferred {} ms by uid {}'s spawn rate", id_, wait / 1000, spec_.owner.uid);
        (void)arm_restart_timer(wait);
        return;
    }
    if (start_limit_hit()) {
        log::event(log::Level::warning, log::message_id::restart, fields({{"OFFSHOOT_RESULT", "start-limit-hit"}}),
                   "instance {} ({}) started {} times within {} ms; not restarting it again (StartLimitBurst=, "
                   "StartLimitIntervalSec=)",
                   id_, spec_.cls.name, starts_.size(), spec_.restart.start_limit_interval_usec / 1000);
        end_restarting("start-limit-hit", "it reached its start limit (start-limit-hit)");
        return;
    }
    ++n_restarts_;
    emit_changed({"NRestarts"});
    restarting_ = true;
    try {
        launch(nullptr);
    } catch (const Error& e) {
        // Nothing was started (no process to watch): as a launch that failed.
        restarting_ = false;
        log::event(log::Level::warning, log::message_id::spawn_failed,
                   fields({{"OFFSHOOT_SPAWN_ERROR", e.getMessage()}}), "instance {} ({}) could not be restarted: {}", id_,
                   spec_.cls.name, e.getMessage());
        result_ = "spawn-failed";
        exit_code_ = exit_signal_ = 0;
        if (restart_due(result_)) begin_restart();
        else end_restarting(nullptr, "it could not be restarted: " + e.getMessage());
    }
}

void Instance::end_restarting(const char* result, const std::string& why) {
    restart_timer_.reset();
    restarting_ = false;
    if (result) {
        result_ = result;
        exit_code_ = exit_signal_ = 0;
    } else if (stop_requested_ || release_requested_) {
        restore_restart_cause();  // called off: the Result of the end that led to the restart
        log::event(log::Level::info, log::message_id::restart, fields({{"OFFSHOOT_RESULT", result_}}),
                   "instance {} ({}): its pending restart is called off ({})", id_, spec_.cls.name,
                   release_requested_ ? "released" : "stopped");
    }
    answer_queued_starts(fmt::format("instance {} will not be restarted: {}", id_, why));
    socket_ = {};
    address_.clear();
    ended();
}

void Instance::restore_restart_cause() {
    result_ = restart_cause_;
    exit_signal_ = restart_cause_signal_;
    exit_code_ = restart_cause_code_;
}

bool Instance::start_limit_hit() {
    const uint64_t interval = spec_.restart.start_limit_interval_usec;
    if (interval == 0) return false;
    const uint64_t now = monotonic_usec();
    while (!starts_.empty() && now - starts_.front() > interval) starts_.pop_front();
    return starts_.size() >= spec_.restart.start_limit_burst;
}

void Instance::start_after_restart(MessagePtr reply) {
    // Bounded as the waiters of Stop and Wait are, by the bus's own pending-reply limits.
    queued_starts_.push_back(std::move(reply));
}

void Instance::answer_queued_starts(const std::string& error) {
    for (auto& m : queued_starts_) {
        if (error.empty()) reply_empty(m);
        else reply_error(m, errors::spawn_failed, error);
    }
    queued_starts_.clear();
}

}  // namespace offshoot

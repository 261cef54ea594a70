// daemon.cpp — offshootd's set-up, event loop, instance registry and shutdown.
#include "daemon.hpp"

#include "bus/boundary.hpp"

#include "offshoot/common/errors.hpp"

#include "offshoot/common/log.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace offshoot {
namespace {

constexpr int supervisor_nice = -10;
// Below the bus (SD_EVENT_PRIORITY_NORMAL) and the workers' readiness and exit sources.
constexpr int launch_priority = SD_EVENT_PRIORITY_NORMAL + 10;

// WatchdogSec= on the unit: systemd expects WATCHDOG=1 within each interval. The ping comes
// from a timer on the one event loop, at half the interval, so a loop that hangs (a handler
// stuck, a deadlock) stops the pings and systemd restarts the service. `userdata` is the
// half-interval in µs.
int on_watchdog(sd_event_source* s, uint64_t, void* userdata) {
    const auto half = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(userdata));
    (void)sd_notify(0, "WATCHDOG=1");
    int r = sd_event_source_set_time_relative(s, half);
    if (r >= 0) r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
    if (r < 0) log::warning("cannot re-arm the watchdog timer: {}", errno_text(r));
    return 0;
}

void arm_watchdog(sd_event* event) {
    uint64_t usec = 0;
    // unset_environment=1: nothing we start must believe it is the watched process.
    int r = sd_watchdog_enabled(/* unset_environment= */ 1, &usec);
    if (r < 0) log::warning("ignoring the watchdog settings: {}", errno_text(r));
    if (r <= 0 || usec == 0) return;
    const uint64_t half = usec / 2;
    // Floating (null source pointer): the loop owns the timer and frees it with itself.
    r = sd_event_add_time_relative(event, nullptr, CLOCK_MONOTONIC, half, /* accuracy= */ half / 20,
                                   on_watchdog, reinterpret_cast<void*>(static_cast<uintptr_t>(half)));
    if (r < 0) {
        log::error("cannot arm the watchdog timer: {}", errno_text(r));
        return;
    }
    (void)sd_notify(0, "WATCHDOG=1");
    log::debug("watchdog: pinging every {} ms", half / 1000);
}

}  // namespace

Daemon::Daemon(DaemonOptions options)
    : options_(std::move(options)), callers_(*this), quotas_(options_.limits) {}

Daemon::~Daemon() {
    // Instances first: their event sources belong to the loop, and they ask callers_. The
    // rest goes in member order: the callers' slots before the bus, the bus before the loop.
    doomed_.clear();
    instances_.clear();
    cgroups_.reset();
    slots_.clear();
}

void Daemon::load_classes() {
    auto result = load_class_configs(options_.config_dirs, options_.plugin_dir);
    for (auto& w : result.warnings) log::warning("{}", w);
    // Loudly, with a MESSAGE_ID to find them by: a class that silently isn't there shows up
    // only as a caller's UnknownClass, far from the file that is wrong.
    for (const BrokenClass& b : result.broken)
        log::event(log::Level::err, log::message_id::class_broken,
                   {{"OFFSHOOT_CLASS", b.name}, {"OFFSHOOT_CLASS_CONFIG", b.source}, {"OFFSHOOT_CLASS_PROBLEM", b.problem}},
                   "class configuration {}{} is not usable: {}; offshootd serves no class from it until it is fixed "
                   "and offshootd restarted",
                   b.source, b.name.empty() ? "" : " (class " + b.name + ")", b.problem);
    classes_ = std::move(result.classes);
    broken_classes_ = std::move(result.broken);
    for (auto& [name, c] : classes_) log::debug("class {} → {} ({})", name, c.plugin, c.source);
    if (broken_classes_.empty()) log::info("{} classes configured", classes_.size());
    else log::info("{} classes configured, {} class configuration{} not usable (offshootctl classes lists them)",
                   classes_.size(), broken_classes_.size(), broken_classes_.size() == 1 ? "" : "s");
}

void Daemon::prepare_runtime_dir() {
    namespace fs = std::filesystem;
    // <runtime>/instances holds one socket per running instance. It is writable by
    // offshootd alone, so nobody can put a socket of their own where a caller looks.
    auto dir = options_.runtime_dir + "/instances";
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) fail(errors::failed, "cannot create {}: {}", dir, ec.message());
    if (::chmod(options_.runtime_dir.c_str(), 0755) < 0 || ::chmod(dir.c_str(), 0755) < 0)
        fail(errors::failed, "cannot set the mode of {}: {}", dir, errno_text(errno));
    struct stat st {};
    if (::lstat(dir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        fail(errors::failed, "{} is not a directory owned by offshootd's user", dir);
    // A previous offshootd that was killed leaves its sockets: start clean.
    size_t stale = 0;
    for (fs::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec)) {
        fs::remove_all(it->path(), ec);
        ++stale;
    }
    if (stale) log::notice("removed {} stale entries from {}", stale, dir);
    // What the namespace steps bind over inaccessible paths, and where a private /dev is made.
    namespace_paths_ = namespace_paths(options_.runtime_dir);
    prepare_namespace_paths(namespace_paths_);
}

void Daemon::connect() {
    sd_event* e = nullptr;
    int r = sd_event_new(&e);
    if (r < 0) fail(errors::failed, "sd_event_new: {}", errno_text(r));
    event_.reset(e);

    sd_bus* b = nullptr;
    switch (options_.bus) {
    case DaemonOptions::Bus::system: r = sd_bus_open_system_with_description(&b, "offshootd"); break;
    case DaemonOptions::Bus::session: r = sd_bus_open_user_with_description(&b, "offshootd"); break;
    case DaemonOptions::Bus::address:
        r = sd_bus_new(&b);
        if (r >= 0) r = sd_bus_set_address(b, options_.address.c_str());
        if (r >= 0) r = sd_bus_set_bus_client(b, 1);
        if (r >= 0) r = sd_bus_set_description(b, "offshootd");
        if (r >= 0) r = sd_bus_start(b);
        break;
    }
    bus_.reset(b);
    if (r < 0) fail(errors::failed, "cannot connect to the bus: {}", errno_text(r));

    r = sd_bus_attach_event(b, e, SD_EVENT_PRIORITY_NORMAL);
    if (r < 0) fail(errors::failed, "sd_bus_attach_event: {}", errno_text(r));
    // Losing the bus ends the daemon (its instances are stopped on the way out).
    (void)sd_bus_set_exit_on_disconnect(b, 1);

    callers_.attach(b);
    register_objects();
}

void Daemon::register_objects() {
    sd_bus* b = bus_.get();
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_add_object_vtable(b, &slot, names::supervisor_path, names::supervisor_interface, supervisor_vtable(), this);
    if (r < 0) fail(errors::failed, "cannot register {}: {}", names::supervisor_path, errno_text(r));
    slots_.emplace_back(slot);
    r = sd_bus_add_fallback_vtable(
        b, &slot, names::instance_tree, names::instance_interface, instance_vtable(),
        [](sd_bus*, const char* path, const char*, void* userdata, void** found, sd_bus_error*) -> int {
            auto* inst = static_cast<Daemon*>(userdata)->find_instance(path);
            if (!inst) return 0;
            *found = inst;
            return 1;
        },
        this);
    if (r < 0) fail(errors::failed, "cannot register {}: {}", names::instance_tree, errno_text(r));
    slots_.emplace_back(slot);
    r = sd_bus_add_node_enumerator(
        b, &slot, names::instance_tree,
        [](sd_bus*, const char*, void* userdata, char*** nodes, sd_bus_error*) -> int {
            auto& self = *static_cast<Daemon*>(userdata);
            size_t n = 0;
            for (auto& [id, i] : self.instances_) n += i->exported();
            char** v = static_cast<char**>(calloc(n + 1, sizeof(char*)));
            if (!v) return -ENOMEM;
            size_t k = 0;
            for (auto& [id, i] : self.instances_) {
                if (!i->exported()) continue;
                v[k] = strdup(i->path().c_str());
                if (!v[k]) {
                    for (size_t j = 0; j < k; ++j) free(v[j]);
                    free(v);
                    return -ENOMEM;
                }
                ++k;
            }
            *nodes = v;
            return 1;
        },
        this);
    if (r < 0) fail(errors::failed, "cannot register the node enumerator: {}", errno_text(r));
    slots_.emplace_back(slot);
    r = sd_bus_add_object_manager(b, &slot, names::supervisor_path);
    if (r < 0) fail(errors::failed, "cannot register the object manager: {}", errno_text(r));
    slots_.emplace_back(slot);
}

int Daemon::on_signal(sd_event_source*, const struct signalfd_siginfo* si, void* userdata) {
    auto& self = *static_cast<Daemon*>(userdata);
    log::notice("received {}; stopping all instances", sigabbrev_np(static_cast<int>(si->ssi_signo)) ?: "signal");
    self.begin_shutdown();
    return 0;
}

void Daemon::begin_shutdown() {
    if (shutting_down_) {
        maybe_finish_shutdown();
        return;
    }
    shutting_down_ = true;
    (void)sd_notify(0, "STOPPING=1\nSTATUS=Stopping all instances");
    drop_queued_launches(errors::shutting_down, "offshootd is shutting down");
    // Give up the name first so no new Spawn arrives while we wind down. Asynchronously: a
    // synchronous call would block the loop, and the calls it read meanwhile would wait in
    // sd-bus's queue behind the workers' exits.
    int r = sd_bus_release_name_async(bus_.get(), nullptr, names::bus_name, nullptr, nullptr);
    if (r < 0) log::debug("cannot release {}: {}", names::bus_name, errno_text(r));
    // In id order; each gets SIGTERM now (its class's stop() runs) and SIGKILL after its own
    // stop timeout. The service's TimeoutStopSec= must cover the longest of those.
    for (auto& [id, i] : instances_) {
        if (i->has_process())
            log::event(log::Level::info, log::message_id::stop, i->fields(), "stopping instance {} ({}, pid {}) for shutdown", id, i->spec().cls.name, i->main_pid());
        i->shutdown();
    }
    maybe_finish_shutdown();
}

void Daemon::maybe_finish_shutdown() {
    if (!shutting_down_ || running_ > 0) return;
    // Not at once: the loop's exit closes the bus (sd-bus's own exit handler), and calls that
    // have reached us by now deserve their answer (ShuttingDown) rather than the bus's NoReply.
    // The exit source runs below everything else, so the bus is drained first.
    if (exit_source_) sd_event_source_set_enabled(exit_source_.get(), SD_EVENT_ONESHOT);
    else sd_event_exit(event_.get(), 0);
}

int Daemon::on_exit_due(sd_event_source*, void* userdata) {
    auto& self = *static_cast<Daemon*>(userdata);
    // Calls held for their caller's uid are answered first (the bus's reply re-arms this).
    if (self.shutting_down_ && self.running_ == 0 && !self.callers_.holding()) sd_event_exit(self.event_.get(), 0);
    return 0;
}

int Daemon::run() {
    // One thread, one loop: these signals arrive as events, and SIGCHLD is consumed by the
    // per-child pidfd sources (sd-event requires it blocked).
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    signal(SIGPIPE, SIG_IGN);
    ::umask(0077);

    // The supervisor stays responsive when its workers saturate the CPUs: it runs at a higher
    // priority (when allowed), and each worker is set back to nice 0 in the spawn child.
    if (getpriority(PRIO_PROCESS, 0) > supervisor_nice && setpriority(PRIO_PROCESS, 0, supervisor_nice) < 0)
        log::debug("cannot raise offshootd's priority: {}", errno_text(errno));

    // One pidfd per running instance (plus its readiness channel while it starts): raise the
    // soft descriptor limit to the hard one, as systemd recommends for daemons that need many.
    struct rlimit nofile {};
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &nofile);
    }

    load_classes();
    prepare_runtime_dir();
    connect();
    add_sources();
    cgroups_ = make_cgroup_engine(event_.get());
    log::info("resource control: {}", cgroups_->describe());

    int r = sd_bus_request_name(bus_.get(), names::bus_name, 0);
    if (r < 0) fail(errors::failed, "cannot own {}: {}", names::bus_name, errno_text(r));
    // Ready only once the name is ours: a caller activated by name can call us now.
    update_status();
    (void)sd_notify(0, "READY=1");
    arm_watchdog(event_.get());
    log::info("serving {} (version {})", names::bus_name, OFFSHOOT_VERSION);

    r = sd_event_loop(event_.get());
    if (r < 0) {
        log::error("event loop failed: {}", errno_text(r));
        return 1;
    }
    // The loop also ends when the bus goes away: make sure nothing outlives us.
    for (auto& [id, i] : instances_) i->shutdown();
    // The timer pings no more: give the tear-down (the bus's close, the instances' and the
    // cgroup engine's destructors) a whole interval rather than what was left of the last one.
    (void)sd_notify(0, "WATCHDOG=1");
    log::info("exiting");
    return 0;
}

void Daemon::add_sources() {
    sd_event_source* s = nullptr;
    sd_event_add_signal(event_.get(), &s, SIGTERM, on_signal, this);
    sigterm_.reset(s);
    sd_event_add_signal(event_.get(), &s, SIGINT, on_signal, this);
    sigint_.reset(s);
    sd_event_add_defer(event_.get(), &s, on_deferred_removal, this);
    removal_source_.reset(s);
    sd_event_source_set_enabled(s, SD_EVENT_OFF);
    sd_event_add_defer(event_.get(), &s, on_status_due, this);
    status_source_.reset(s);
    sd_event_source_set_enabled(s, SD_EVENT_OFF);
    sd_event_add_defer(event_.get(), &s, on_launch_due, this);
    launch_source_.reset(s);
    sd_event_source_set_priority(s, launch_priority);
    sd_event_source_set_enabled(s, SD_EVENT_OFF);
    sd_event_add_defer(event_.get(), &s, on_exit_due, this);
    exit_source_.reset(s);
    sd_event_source_set_priority(s, SD_EVENT_PRIORITY_IDLE);
    sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

Instance* Daemon::find_instance(const char* path) {
    std::string_view p{path};
    std::string_view prefix{names::instance_tree};
    if (p.size() <= prefix.size() + 1 || p.substr(0, prefix.size()) != prefix || p[prefix.size()] != '/')
        return nullptr;
    auto tail = p.substr(prefix.size() + 1);
    uint64_t id = 0;
    for (char c : tail) {
        if (c < '0' || c > '9' || id > UINT64_MAX / 10) return nullptr;
        id = id * 10 + static_cast<uint64_t>(c - '0');
    }
    if (tail.size() > 1 && tail[0] == '0') return nullptr;
    auto it = instances_.find(id);
    return it != instances_.end() && it->second->exported() ? it->second.get() : nullptr;
}

void Daemon::admit(const Caller& caller) {
    uint64_t now = 0;
    (void)sd_event_now(event_.get(), CLOCK_MONOTONIC, &now);
    quotas_.admit(caller, instances_.size(), now);
}

uint64_t Daemon::restart_admission(const Instance& i) {
    uint64_t now = 0;
    (void)sd_event_now(event_.get(), CLOCK_MONOTONIC, &now);
    return quotas_.admit_restart(i.spec().owner.uid, now);
}

Instance& Daemon::add_instance(InstanceSpec spec) {
    const uint64_t id = next_id_++;
    const InstanceContext context{bus_.get(), event_.get(), options_, callers_, *this, *cgroups_, namespace_paths_};
    auto [it, inserted] = instances_.emplace(id, std::make_unique<Instance>(context, id, std::move(spec)));
    Instance& i = *it->second;
    quotas_.handle_added(i.spec().owner.uid);
    // Watched for every instance: tied ones stop when their owner goes, and finished handles
    // are forgotten then.
    callers_.watch(i.spec().owner);
    return i;
}

void Daemon::queue_launch(Instance& i, sd_bus_message* m) {
    launch_queue_.push_back({i.id(), MessagePtr{sd_bus_message_ref(m)}});
    sd_event_source_set_enabled(launch_source_.get(), SD_EVENT_ON);
}

void Daemon::instance_exported(Instance& i) {
    ++exported_;
    int r = sd_bus_emit_object_added(bus_.get(), i.path().c_str());
    if (r < 0) log::debug("cannot emit InterfacesAdded for {}: {}", i.path(), errno_text(r));
    instances_changed();
}

void Daemon::instance_done(Instance& i) {
    auto it = instances_.find(i.id());
    if (it == instances_.end()) return;
    if (i.exported()) {
        --exported_;
        int r = sd_bus_emit_object_removed(bus_.get(), i.path().c_str());
        if (r < 0) log::debug("cannot emit InterfacesRemoved for {}: {}", i.path(), errno_text(r));
    }
    quotas_.handle_removed(i.spec().owner.uid);
    // Destroyed after the current dispatch: we may be inside one of its own callbacks.
    doomed_.push_back(std::move(it->second));
    instances_.erase(it);
    sd_event_source_set_enabled(removal_source_.get(), SD_EVENT_ONESHOT);
    instances_changed();
}

int Daemon::on_deferred_removal(sd_event_source*, void* userdata) {
    static_cast<Daemon*>(userdata)->doomed_.clear();
    return 0;
}

void Daemon::process_count_changed(uid_t uid, bool started) {
    if (started) {
        ++running_;
        ++running_by_uid_[uid];
        return;
    }
    --running_;
    if (auto it = running_by_uid_.find(uid); it != running_by_uid_.end() && --it->second == 0)
        running_by_uid_.erase(it);
}

void Daemon::instances_changed() {
    if (exported_ != last_emitted_count_) {
        last_emitted_count_ = exported_;
        int r = sd_bus_emit_properties_changed(bus_.get(), names::supervisor_path, names::supervisor_interface, "InstanceCount", nullptr);
        if (r < 0) log::debug("cannot emit PropertiesChanged for InstanceCount: {}", errno_text(r));
    }
    // One STATUS= per loop iteration, however many changes it saw.
    if (status_source_) sd_event_source_set_enabled(status_source_.get(), SD_EVENT_ONESHOT);
    maybe_finish_shutdown();
}

int Daemon::on_launch_due(sd_event_source* s, void* userdata) {
    auto& self = *static_cast<Daemon*>(userdata);
    if (self.launch_queue_.empty()) {
        sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
    }
    QueuedLaunch q = std::move(self.launch_queue_.front());
    self.launch_queue_.pop_front();
    if (self.launch_queue_.empty()) sd_event_source_set_enabled(s, SD_EVENT_OFF);
    auto it = self.instances_.find(q.id);
    if (it == self.instances_.end()) return 0;  // forgotten meanwhile (its caller went away)
    Instance& i = *it->second;
    // launch() answers the Spawn itself once the worker is ready or has failed; what it throws
    // before a process exists is answered here, and leaves nothing behind.
    MessagePtr m{sd_bus_message_ref(q.reply.get())};
    int r = 0;
    try {
        i.launch(std::move(q.reply));
        return 0;
    } catch (const Error& e) {
        r = sd_bus_reply_method_errorf(m.get(), e.getName().c_str(), "%s", e.getMessage().c_str());
    } catch (const std::exception& e) {
        log::error("unexpected failure launching instance {}: {}", i.id(), e.what());
        r = sd_bus_reply_method_errorf(m.get(), errors::failed, "%s", e.what());
    }
    if (r < 0) log::debug("cannot answer Spawn: {}", errno_text(r));
    self.instance_done(i);
    return 0;
}

void Daemon::drop_queued_launches(const char* error, const char* message) {
    if (const std::size_t n = launch_queue_.size())
        log::notice("answering {} Spawn call{} not started yet: {}", n, n == 1 ? "" : "s", message);
    auto queue = std::move(launch_queue_);
    launch_queue_.clear();
    for (auto& q : queue) {
        int r = sd_bus_reply_method_errorf(q.reply.get(), error, "%s", message);
        if (r < 0) log::debug("cannot answer Spawn: {}", errno_text(r));
        if (auto it = instances_.find(q.id); it != instances_.end()) instance_done(*it->second);
    }
    if (launch_source_) sd_event_source_set_enabled(launch_source_.get(), SD_EVENT_OFF);
}

int Daemon::on_status_due(sd_event_source*, void* userdata) {
    static_cast<Daemon*>(userdata)->update_status();
    return 0;
}

void Daemon::update_status() {
    const uint32_t running = running_;
    const auto& users = running_by_uid_;
    auto status = shutting_down_
        ? fmt::format("STATUS=Stopping: {} instance{} still running", running, running == 1 ? "" : "s")
        : fmt::format("STATUS={} instance{} running ({} user{}), {} handle{}", running,
                      running == 1 ? "" : "s", users.size(), users.size() == 1 ? "" : "s",
                      instances_.size(), instances_.size() == 1 ? "" : "s");
    if (status == last_status_) return;
    last_status_ = status;
    (void)sd_notify(0, status.c_str());
}

void Daemon::owner_gone(const std::string& name) {
    std::vector<Instance*> owned;
    for (auto& [id, i] : instances_)
        if (i->spec().owner.unique_name == name) owned.push_back(i.get());
    for (auto* i : owned) i->owner_vanished();
    // A queued Spawn of a tied instance whose caller has gone: nothing to start it for.
    const std::size_t dropped = std::erase_if(launch_queue_, [&](QueuedLaunch& q) {
        auto it = instances_.find(q.id);
        if (it == instances_.end()) return true;
        Instance& i = *it->second;
        if (i.spec().owner.unique_name != name || !i.spec().tie_to_caller) return false;
        instance_done(i);
        return true;
    });
    if (dropped)
        log::info("dropped {} queued Spawn call{} of {}: the caller is gone", dropped, dropped == 1 ? "" : "s", name);
}

}  // namespace offshoot

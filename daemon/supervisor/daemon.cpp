// daemon.cpp — offshootd's set-up, event loop, instance registry and shutdown.
#include "daemon.hpp"

#include "boundary.hpp"

#include "errors.hpp"

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

const Daemon* the_daemon = nullptr;  // for known_caller_uid(): one Daemon runs per process
// Calls one connection may have waiting while the bus is asked who it is (Daemon::on_incoming);
// the system bus lets a connection have 128 calls awaiting replies in all (max_replies_per_connection).
constexpr std::size_t max_held_calls = 64;

// boundary.hpp's caller_uid_lookup() while a Daemon runs.
std::optional<uid_t> known_caller_uid(sd_bus_message* m) noexcept {
    if (!the_daemon || !m) return std::nullopt;
    const char* sender = sd_bus_message_get_sender(m);
    if (!sender) {  // a direct connection: the socket's peer credentials, no bus involved
        sd_bus_creds* c = nullptr;
        uid_t uid = 0;
        const bool known = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &c) >= 0 && sd_bus_creds_get_euid(c, &uid) >= 0;
        sd_bus_creds_unref(c);
        return known ? std::optional<uid_t>(uid) : std::nullopt;
    }
    try {
        return the_daemon->known_uid(sender);
    } catch (...) {
        return std::nullopt;
    }
}

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

Daemon::Daemon(DaemonOptions options) : options_(std::move(options)) {}

Daemon::~Daemon() {
    if (the_daemon == this) {
        the_daemon = nullptr;
        caller_uid_lookup() = nullptr;
    }
    // Instances first: their event sources belong to the loop below.
    doomed_.clear();
    instances_.clear();
    owner_watches_.clear();
    held_.clear();
    doomed_held_.clear();
    slots_.clear();
    bus_.reset();
}

void Daemon::load_classes() {
    auto result = load_class_configs(options_.config_dirs, options_.plugin_dir);
    for (auto& w : result.warnings) log::warning("{}", w);
    classes_ = std::move(result.classes);
    for (auto& [name, c] : classes_) log::debug("class {} → {} ({})", name, c.plugin, c.source);
    log::info("{} classes configured", classes_.size());
}

void Daemon::prepare_runtime_dir() {
    namespace fs = std::filesystem;
    // <runtime>/instances holds one socket per running instance. It is writable by
    // offshootd alone, so nobody can put a socket of their own where a caller looks.
    auto dir = options_.runtime_dir + "/instances";
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) fail(error_name::failed, "cannot create {}: {}", dir, ec.message());
    if (::chmod(options_.runtime_dir.c_str(), 0755) < 0 || ::chmod(dir.c_str(), 0755) < 0)
        fail(error_name::failed, "cannot set the mode of {}: {}", dir, errno_text(errno));
    struct stat st {};
    if (::lstat(dir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        fail(error_name::failed, "{} is not a directory owned by offshootd's user", dir);
    // A previous offshootd that was killed leaves its sockets: start clean.
    size_t stale = 0;
    for (fs::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec)) {
        fs::remove_all(it->path(), ec);
        ++stale;
    }
    if (stale) log::notice("removed {} stale entries from {}", stale, dir);
}

void Daemon::connect() {
    sd_event* e = nullptr;
    int r = sd_event_new(&e);
    if (r < 0) fail(error_name::failed, "sd_event_new: {}", errno_text(r));
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
    if (r < 0) fail(error_name::failed, "cannot connect to the bus: {}", errno_text(r));

    r = sd_bus_attach_event(b, e, SD_EVENT_PRIORITY_NORMAL);
    if (r < 0) fail(error_name::failed, "sd_bus_attach_event: {}", errno_text(r));
    // Losing the bus ends the daemon (its instances are stopped on the way out).
    (void)sd_bus_set_exit_on_disconnect(b, 1);

    sd_bus_slot* slot = nullptr;
    r = sd_bus_add_filter(b, &slot, on_incoming, this);
    if (r < 0) fail(error_name::failed, "cannot add the bus filter: {}", errno_text(r));
    slots_.emplace_back(slot);
    r = sd_bus_add_object_vtable(b, &slot, supervisor_path, supervisor_interface, supervisor_vtable(), this);
    if (r < 0) fail(error_name::failed, "cannot register {}: {}", supervisor_path, errno_text(r));
    slots_.emplace_back(slot);
    r = sd_bus_add_fallback_vtable(
        b, &slot, instance_prefix, instance_interface, instance_vtable(),
        [](sd_bus*, const char* path, const char*, void* userdata, void** found, sd_bus_error*) -> int {
            auto* inst = static_cast<Daemon*>(userdata)->find_instance(path);
            if (!inst) return 0;
            *found = inst;
            return 1;
        },
        this);
    if (r < 0) fail(error_name::failed, "cannot register {}: {}", instance_prefix, errno_text(r));
    slots_.emplace_back(slot);
    r = sd_bus_add_node_enumerator(
        b, &slot, instance_prefix,
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
    if (r < 0) fail(error_name::failed, "cannot register the node enumerator: {}", errno_text(r));
    slots_.emplace_back(slot);
    r = sd_bus_add_object_manager(b, &slot, supervisor_path);
    if (r < 0) fail(error_name::failed, "cannot register the object manager: {}", errno_text(r));
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
    drop_queued_launches(error_name::shutting_down, "offshootd is shutting down");
    // Give up the name first so no new Spawn arrives while we wind down. Asynchronously: a
    // synchronous call would block the loop, and the calls it read meanwhile would wait in
    // sd-bus's queue behind the workers' exits.
    int r = sd_bus_release_name_async(bus_.get(), nullptr, bus_name, nullptr, nullptr);
    if (r < 0) log::debug("cannot release {}: {}", bus_name, errno_text(r));
    // In id order; each gets SIGTERM now (its class's stop() runs) and SIGKILL after its own
    // stop timeout. The service's TimeoutStopSec= must cover the longest of those.
    for (auto& [id, i] : instances_) {
        if (i->has_process())
            log::event(log::Level::info, log::message_id::stop,
                       {{"OFFSHOOT_INSTANCE", id}, {"OFFSHOOT_CLASS", i->spec().cls.name},
                        {"OFFSHOOT_UID", i->spec().uid}, {"OFFSHOOT_OWNER_UID", i->spec().owner.uid},
                        {"OFFSHOOT_PID", i->main_pid()}},
                       "stopping instance {} ({}, pid {}) for shutdown", id, i->spec().cls.name, i->main_pid());
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
    if (self.shutting_down_ && self.running_ == 0 && self.held_.empty()) sd_event_exit(self.event_.get(), 0);
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

    the_daemon = this;
    caller_uid_lookup() = &known_caller_uid;
    load_classes();
    prepare_runtime_dir();
    connect();

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

    int r = sd_bus_request_name(bus_.get(), bus_name, 0);
    if (r < 0) fail(error_name::failed, "cannot own {}: {}", bus_name, errno_text(r));
    // Ready only once the name is ours: a caller activated by name can call us now.
    update_status();
    (void)sd_notify(0, "READY=1");
    arm_watchdog(event_.get());
    log::info("serving {} (version {})", bus_name, OFFSHOOT_VERSION);

    r = sd_event_loop(event_.get());
    if (r < 0) {
        log::error("event loop failed: {}", errno_text(r));
        return 1;
    }
    // The loop also ends when the bus goes away: make sure nothing outlives us.
    for (auto& [id, i] : instances_) i->shutdown();
    log::info("exiting");
    return 0;
}

Instance* Daemon::find_instance(const char* path) {
    std::string_view p{path};
    std::string_view prefix{instance_prefix};
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

void Daemon::export_instance(Instance& i) {
    // `exported_` is private to Instance; the friend-free way is to let the instance flag it.
    i.mark_exported();
    ++exported_;
    int r = sd_bus_emit_object_added(bus_.get(), i.path().c_str());
    if (r < 0) log::debug("cannot emit InterfacesAdded for {}: {}", i.path(), errno_text(r));
    instances_changed();
}

void Daemon::remove_instance(Instance& i) {
    auto it = instances_.find(i.id());
    if (it == instances_.end()) return;
    if (i.exported()) {
        --exported_;
        int r = sd_bus_emit_object_removed(bus_.get(), i.path().c_str());
        if (r < 0) log::debug("cannot emit InterfacesRemoved for {}: {}", i.path(), errno_text(r));
    }
    // Destroyed after the current dispatch: we may be inside one of its own callbacks.
    if (auto owned = handles_by_owner_.find(i.spec().owner.uid); owned != handles_by_owner_.end() && --owned->second == 0)
        handles_by_owner_.erase(owned);
    doomed_.push_back(std::move(it->second));
    instances_.erase(it);
    sd_event_source_set_enabled(removal_source_.get(), SD_EVENT_ONESHOT);
    instances_changed();
}

int Daemon::on_deferred_removal(sd_event_source*, void* userdata) {
    auto& self = *static_cast<Daemon*>(userdata);
    self.doomed_.clear();
    self.doomed_watches_.clear();
    self.doomed_held_.clear();
    return 0;
}

namespace {

// Calls whose handler asks who the caller is: Spawn (the owner, the policy, the quotas),
// instance control (Start, Stop, Kill, Release) and property reads on a handle,
// GetManagedObjects included (Address is for the owner and root only).
bool needs_caller(sd_bus_message* m) {
    const char* path = sd_bus_message_get_path(m);
    const char* iface = sd_bus_message_get_interface(m);
    const char* member = sd_bus_message_get_member(m);
    if (!path || !iface || !member) return false;
    if (std::string_view(member) == "GetManagedObjects") return true;
    if (std::string_view(path) == supervisor_path && std::string_view(iface) == supervisor_interface)
        return std::string_view(member) == "Spawn" || std::string_view(member) == "SpawnWithOptions";
    const std::string_view p{path}, prefix{instance_prefix};
    if (p.size() <= prefix.size() || p.substr(0, prefix.size()) != prefix || p[prefix.size()] != '/') return false;
    const std::string_view i{iface}, mem{member};
    if (i == instance_interface) return mem == "Start" || mem == "Stop" || mem == "Kill" || mem == "Release";
    return i == "org.freedesktop.DBus.Properties" && (mem == "Get" || mem == "GetAll");
}

}  // namespace


std::optional<uid_t> Daemon::known_uid(const char* sender) const {
    if (!sender) return std::nullopt;
    if (auto it = owner_watches_.find(sender); it != owner_watches_.end() && it->second->uid) return it->second->uid;
    if (auto it = caller_uids_.find(sender); it != caller_uids_.end()) return it->second;
    return std::nullopt;
}

void Daemon::remember_uid(const std::string& sender, uid_t uid) {
    if (caller_uids_.size() >= 8192) caller_uids_.clear();  // cheap to ask again
    caller_uids_[sender] = uid;
}

int Daemon::on_incoming(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto& self = *static_cast<Daemon*>(userdata);
    uint8_t type = 0;
    if (sd_bus_message_get_type(m, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL) return 0;
    const char* sender = sd_bus_message_get_sender(m);
    if (!sender) return 0;  // a direct connection: its peer credentials are local
    if (auto it = self.held_.find(sender); it != self.held_.end()) {
        if (it->second->calls.size() >= max_held_calls) {  // a flood while the bus is asked
            (void)sd_bus_reply_method_errorf(m, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                             "%zu calls are already waiting for the bus to say who sent them",
                                             it->second->calls.size());
            return 1;
        }
        it->second->calls.emplace_back(sd_bus_message_ref(m));  // behind the held ones
        return 1;
    }
    if (!needs_caller(m) || self.known_uid(sender) || self.unresolved_.count(sender)) return 0;
    auto held = std::make_unique<HeldCalls>(HeldCalls{&self, sender, {}, nullptr});
    held->calls.emplace_back(sd_bus_message_ref(m));
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_call_method_async(self.bus_.get(), &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "GetConnectionUnixUser", on_held_caller_known,
                                     held.get(), "s", sender);
    if (r < 0) return 0;  // the handler asks synchronously instead
    held->query.reset(slot);
    self.held_.emplace(sender, std::move(held));
    log::debug("holding calls from {} until the bus says whose they are", sender);
    return 1;
}

int Daemon::on_held_caller_known(sd_bus_message* reply, void* userdata, sd_bus_error*) {
    auto* held = static_cast<HeldCalls*>(userdata);
    Daemon& self = *held->daemon;
    uint32_t uid = 0;
    if (!sd_bus_message_is_method_error(reply, nullptr) && sd_bus_message_read(reply, "u", &uid) >= 0)
        self.remember_uid(held->sender, uid);
    else {
        if (self.unresolved_.size() >= 8192) self.unresolved_.clear();
        self.unresolved_.insert(held->sender);  // its calls are denied (caller_of)
    }
    auto it = self.held_.find(held->sender);
    if (it == self.held_.end()) return 1;
    auto mine = std::move(it->second);  // its slot is running this callback: freed later
    self.held_.erase(it);
    for (auto& call : mine->calls) {
        int r = sd_bus_enqueue_for_read(self.bus_.get(), call.get());
        if (r < 0) {
            log::warning("cannot requeue a call from {}: {}", mine->sender, errno_text(r));
            (void)sd_bus_reply_method_errorf(call.get(), error_name::failed, "offshootd lost this call: %s",
                                             errno_text(r).c_str());
        }
    }
    self.doomed_held_.push_back(std::move(mine));
    sd_event_source_set_enabled(self.removal_source_.get(), SD_EVENT_ONESHOT);
    self.maybe_finish_shutdown();  // it waited for these to be answered
    return 1;
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
        int r = sd_bus_emit_properties_changed(bus_.get(), supervisor_path, supervisor_interface, "InstanceCount", nullptr);
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
        r = sd_bus_reply_method_errorf(m.get(), error_name::failed, "%s", e.what());
    }
    if (r < 0) log::debug("cannot answer Spawn: {}", errno_text(r));
    self.remove_instance(i);
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
        if (auto it = instances_.find(q.id); it != instances_.end()) remove_instance(*it->second);
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

void Daemon::watch_owner(const std::string& name) {
    if (name.empty() || owner_watches_.count(name)) return;
    auto w = std::make_unique<OwnerWatch>(OwnerWatch{this, name, nullptr, nullptr});
    sd_bus_slot* slot = nullptr;
    // Match only this name's NameOwnerChanged; the async AddMatch keeps the loop responsive.
    auto rule = fmt::format(
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='{}'", name);
    int r = sd_bus_add_match_async(bus_.get(), &slot, rule.c_str(), on_name_owner_changed, nullptr, w.get());
    if (r < 0) {
        log::warning("cannot watch {}: {}", name, errno_text(r));
        return;
    }
    w->match.reset(slot);
    // The owner may be gone before the match is in place: ask once, after it.
    slot = nullptr;
    r = sd_bus_call_method_async(
        bus_.get(), &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "NameHasOwner",
        [](sd_bus_message* m, void* userdata, sd_bus_error*) -> int {
            auto* w = static_cast<OwnerWatch*>(userdata);
            int has = 1;
            if (!sd_bus_message_is_method_error(m, nullptr)) (void)sd_bus_message_read(m, "b", &has);
            if (!has) w->daemon->owner_gone(std::string(w->name));
            return 0;
        },
        w.get(), "s", name.c_str());
    if (r >= 0) w->query.reset(slot);
    owner_watches_[name] = std::move(w);
}

int Daemon::on_name_owner_changed(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto* w = static_cast<OwnerWatch*>(userdata);
    const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0) return 0;
    if (new_owner && *new_owner) return 0;
    w->daemon->owner_gone(std::string(w->name));
    return 0;
}

void Daemon::owner_gone(const std::string& name) {
    auto it = owner_watches_.find(name);
    if (it == owner_watches_.end()) return;
    // Destroying the watch frees the slot whose callback may be running: defer it.
    auto watch = std::move(it->second);
    owner_watches_.erase(it);
    caller_uids_.erase(name);
    unresolved_.erase(name);
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
        remove_instance(i);
        return true;
    });
    if (dropped)
        log::info("dropped {} queued Spawn call{} of {}: the caller is gone", dropped, dropped == 1 ? "" : "s", name);
    doomed_watches_.push_back(std::move(watch));
    sd_event_source_set_enabled(removal_source_.get(), SD_EVENT_ONESHOT);
}

}  // namespace offshoot

// scope.cpp — see scope.hpp.
#include "cgroup/scope.hpp"

#include "offshoot/common/errors.hpp"
#include "offshoot/common/log.hpp"

#include <signal.h>

#include <cstring>

namespace offshoot {

namespace {

constexpr const char* systemd_name = "org.freedesktop.systemd1";
constexpr const char* systemd_path = "/org/freedesktop/systemd1";
constexpr const char* manager_interface = "org.freedesktop.systemd1.Manager";
constexpr const char* slice = "offshoot.slice";
constexpr uint64_t job_timeout_usec = 10'000'000;

bool ends_with_unit(const std::string& path, const std::string& unit) {
    return path.size() > unit.size() && path.compare(path.size() - unit.size(), unit.size(), unit) == 0 &&
           path[path.size() - unit.size() - 1] == '/';
}

}  // namespace

class ScopeCgroup final : public InstanceCgroup {
public:
    ScopeCgroup(SystemdScopes& engine, const InstanceSpec& spec, uint64_t id, const std::string& name)
        : engine_(engine), unit_(name + ".scope"), limits_(spec.containment.resources),
          description_(fmt::format("offshoot instance {} ({} as uid {})", id, spec.cls.name, spec.uid)),
          stop_timeout_usec_(spec.stop_timeout_usec) {}
    ~ScopeCgroup() override {
        if (!job_.empty()) engine_.forget_job(job_);
    }
    bool parks_child() const override { return true; }
    const std::string& unit() const override { return unit_; }
    void place(pid_t pid, std::function<void(const std::string&)> done) override;
    void release() override;
    void job_removed(const std::string& result);

private:
    int append_properties(sd_bus_message* m, pid_t pid) const;
    static int on_reply(sd_bus_message* m, void* userdata, sd_bus_error* error);
    static int on_timeout(sd_event_source* s, uint64_t usec, void* userdata);
    void finish(const std::string& why);
    std::string check_placement();

    SystemdScopes& engine_;
    std::string unit_;
    ResourceControl limits_;
    std::string description_;
    uint64_t stop_timeout_usec_;
    pid_t pid_ = 0;
    std::string job_;
    SlotPtr call_;
    EventSourcePtr timer_;
    std::function<void(const std::string&)> done_;
};

int ScopeCgroup::append_properties(sd_bus_message* m, pid_t pid) const {
    const char* own = engine_.own_unit().c_str();
    int r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "Description", "s", description_.c_str(), "PIDs", "au", 1,
                                  static_cast<uint32_t>(pid), "Slice", "s", slice, "CollectMode", "s", "inactive-or-failed");
    if (r >= 0)
        r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)", "PartOf", "as", 1, own, "Before", "as", 1, own,
                                  "MemoryAccounting", "b", 1, "TasksAccounting", "b", 1, "CPUAccounting", "b", 1);
    // TasksMax= always: without it systemd's DefaultTasksMax= (15% of the system's) applies.
    if (r >= 0)
        r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "TasksMax", "t", limits_[Resource::tasks_max], "KillMode", "s",
                                  "control-group", "TimeoutStopUSec", "t", stop_timeout_usec_, "OOMPolicy", "s", "stop");
    for (const auto& k : resource_keys)
        if (r >= 0 && k.id != Resource::tasks_max && limits_.set(k.id))
            r = sd_bus_message_append(m, "(sv)", k.property, "t", limits_[k.id]);
    return r;
}

void ScopeCgroup::place(pid_t pid, std::function<void(const std::string&)> done) {
    pid_ = pid;
    done_ = std::move(done);
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(engine_.bus(), &raw, systemd_name, systemd_path, manager_interface,
                                           "StartTransientUnit");
    MessagePtr m{raw};
    // Mode "fail": as systemd-run --scope, logind and machined (a conflicting job fails ours).
    if (r >= 0) r = sd_bus_message_append(m.get(), "ss", unit_.c_str(), "fail");
    if (r >= 0) r = sd_bus_message_open_container(m.get(), 'a', "(sv)");
    if (r >= 0) r = append_properties(m.get(), pid);
    if (r >= 0) r = sd_bus_message_close_container(m.get());
    if (r >= 0) r = sd_bus_message_append(m.get(), "a(sa(sv))", 0);
    sd_bus_slot* slot = nullptr;
    if (r >= 0) r = sd_bus_call_async(engine_.bus(), &slot, m.get(), on_reply, this, job_timeout_usec);
    if (r < 0) return finish(fmt::format("cannot ask systemd for {}: {}", unit_, errno_text(r)));
    call_.reset(slot);
    sd_event_source* t = nullptr;
    r = sd_event_add_time_relative(engine_.event(), &t, CLOCK_MONOTONIC, job_timeout_usec, 1000, on_timeout, this);
    if (r < 0) return finish(fmt::format("cannot arm a timer: {}", errno_text(r)));
    timer_.reset(t);
}

int ScopeCgroup::on_reply(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto& self = *static_cast<ScopeCgroup*>(userdata);
    self.call_.reset();
    if (const sd_bus_error* e = sd_bus_message_get_error(m)) {
        self.finish(fmt::format("systemd refused {}: {}: {}", self.unit_, e->name ? e->name : "?", e->message ? e->message : ""));
        return 0;
    }
    const char* job = nullptr;
    if (sd_bus_message_read(m, "o", &job) < 0 || !job) {
        self.finish("systemd's answer to StartTransientUnit names no job");
        return 0;
    }
    // JobRemoved comes after this reply: systemd runs the job on a later iteration of its loop.
    self.job_ = job;
    self.engine_.watch_job(self.job_, &self);
    return 0;
}

int ScopeCgroup::on_timeout(sd_event_source*, uint64_t, void* userdata) {
    auto& self = *static_cast<ScopeCgroup*>(userdata);
    self.finish(fmt::format("systemd did not start {} within {} s", self.unit_, job_timeout_usec / 1'000'000));
    return 0;
}

void ScopeCgroup::job_removed(const std::string& result) {
    engine_.forget_job(job_);
    job_.clear();
    if (result != "done") return finish(fmt::format("systemd's job to start {} ended '{}'", unit_, result));
    finish(check_placement());
}

// What the kernel did: the child is in the scope's cgroup, and the limits are in force.
std::string ScopeCgroup::check_placement() {
    const auto m = read_membership(pid_);
    if (!m) return fmt::format("cannot read /proc/{}/cgroup", pid_);
    InstanceDirs dirs = dirs_of(engine_.hierarchies(), *m);
    // Only the hierarchies systemd made the scope in: in the others (a v1 controller no unit
    // asked for) the worker stays where offshootd was, among others' processes.
    std::erase_if(dirs.dirs, [&](const auto& d) { return !ends_with_unit(d.second.path, unit_); });
    if (!ends_with_unit(dirs.control_group, unit_))
        return fmt::format("the worker is in {}, not in {} as systemd said", dirs.control_group, unit_);
    if (std::string e = verify_limits(dirs, limits_); !e.empty()) return e;
    InstanceDirs named = dirs;
    named.control_group = engine_.as_systemd_names(dirs.control_group);
    set_dirs(std::move(named), engine_.writable_memory(), engine_.memory_mount());
    return "";
}

void ScopeCgroup::finish(const std::string& why) {
    timer_.reset();
    call_.reset();
    if (!job_.empty()) engine_.forget_job(job_);
    job_.clear();
    if (!why.empty()) log::debug("scope {}: {}", unit_, why);
    if (auto done = std::move(done_)) done(why);  // may destroy this: nothing after it
}

void ScopeCgroup::release() {
    // What the worker left: every process in the scope, grandchildren included; systemd then
    // collects the empty scope. Killed here rather than by KillUnit: systemd authorizes that
    // call by looking up the caller's credentials after the fact, which fails when offshootd
    // has exited meanwhile (its own stop), and the processes would wait for the scope's stop.
    if (!dirs().empty()) kill_members(dirs());
}

SystemdScopes::SystemdScopes(sd_event* event, std::string own_unit)
    : event_(event), own_unit_(std::move(own_unit)), hierarchies_(read_hierarchies()) {
    sd_bus* b = nullptr;
    int r = sd_bus_open_system_with_description(&b, "offshootd-systemd");
    bus_.reset(b);
    if (r < 0) fail(errors::failed, "cannot reach systemd on the system bus: {}", errno_text(r));
    r = sd_bus_attach_event(b, event, SD_EVENT_PRIORITY_NORMAL);
    if (r < 0) fail(errors::failed, "sd_bus_attach_event: {}", errno_text(r));
    // Before any StartTransientUnit, so no job's end can be missed. (systemd sends JobRemoved
    // to the client that queued the job without Subscribe(): it tracks the job's sender.)
    sd_bus_slot* slot = nullptr;
    r = sd_bus_match_signal(b, &slot, systemd_name, systemd_path, manager_interface, "JobRemoved", on_job_removed, this);
    if (r < 0) fail(errors::failed, "cannot watch systemd's jobs: {}", errno_text(r));
    job_match_.reset(slot);
    find_root();
    kill_leftovers();
    if (const auto mem = hierarchies_.v1.find(Controller::memory); mem != hierarchies_.v1.end()) {
        memory_mount_ = mem->second;
        writable_memory_ = writable_memory_hierarchy(memory_mount_);
    }
}

// Once, at start-up (before the loop runs): offshootd's own cgroup as the kernel shows it, and
// as systemd names it; the difference is systemd's root.
void SystemdScopes::find_root() {
    char* path = nullptr;
    int r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", own_unit_.c_str(), &path);
    std::unique_ptr<char, decltype(&free)> owned(path, free);
    char* named = nullptr;
    BusError e;
    if (r >= 0)
        r = sd_bus_get_property_string(bus_.get(), systemd_name, path, "org.freedesktop.systemd1.Service", "ControlGroup",
                                       &e, &named);
    std::unique_ptr<char, decltype(&free)> owned_named(named, free);
    const auto m = read_membership(0);
    const std::string kernel = m ? dirs_of(hierarchies_, *m).control_group : std::string();
    if (r < 0 || !named || kernel.size() < std::strlen(named) || !kernel.ends_with(named)) {
        log::debug("cannot tell systemd's cgroup root (own cgroup {}, {}): {}", kernel, named ? named : "?", e.message());
        return;
    }
    root_ = kernel.substr(0, kernel.size() - std::strlen(named));
}

// Once, at start-up: the scopes of an offshootd that died. Its workers died with it (their
// parent-death signal), but what they left behind is still in their scopes — which systemd
// does not stop when it restarts offshootd after a failure — and a new instance must not meet
// an old scope of its name.
void SystemdScopes::kill_leftovers() {
    sd_bus_message* raw = nullptr;
    BusError e;
    int r = sd_bus_call_method(bus_.get(), systemd_name, systemd_path, manager_interface, "ListUnitsByPatterns", &e, &raw,
                               "asas", 0, 1, "offshoot-*.scope");
    MessagePtr reply{raw};
    if (r >= 0) r = sd_bus_message_enter_container(raw, 'a', "(ssssssouso)");
    if (r < 0) return log::warning("cannot list the scopes of an earlier offshootd: {}", e.message());
    const char *name = nullptr, *active = nullptr;
    while (sd_bus_message_read(raw, "(ssssssouso)", &name, nullptr, nullptr, &active, nullptr, nullptr, nullptr, nullptr,
                               nullptr, nullptr) > 0) {
        if (std::strcmp(active, "inactive") == 0) continue;
        log::info("killing what is left in {}, a scope of an earlier offshootd", name);
        BusError k;
        if (sd_bus_call_method(bus_.get(), systemd_name, systemd_path, manager_interface, "KillUnit", &k, nullptr, "ssi",
                               name, "all", SIGKILL) < 0)
            log::warning("cannot kill what is left in {}: {}", name, k.message());
    }
}

std::string SystemdScopes::as_systemd_names(const std::string& kernel_path) const {
    return !root_.empty() && kernel_path.starts_with(root_ + "/") ? kernel_path.substr(root_.size()) : kernel_path;
}

SystemdScopes::~SystemdScopes() = default;

int SystemdScopes::on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto& self = *static_cast<SystemdScopes*>(userdata);
    uint32_t id = 0;
    const char *job = nullptr, *unit = nullptr, *result = nullptr;
    if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0) return 0;
    const auto it = self.jobs_.find(job);
    if (it != self.jobs_.end()) it->second->job_removed(result);
    return 0;
}

std::unique_ptr<InstanceCgroup> SystemdScopes::prepare(const InstanceSpec& spec, uint64_t id, const std::string& name) {
    return std::make_unique<ScopeCgroup>(*this, spec, id, name);
}

std::string SystemdScopes::describe() const {
    return fmt::format("transient scopes of systemd in {} (PartOf={})", slice, own_unit_);
}

}  // namespace offshoot

// supervisor_object.cpp — org.offshoot1.Supervisor at /org/offshoot1.
//
// Each handler: read → validate → authorize → act → reply (hostnamed's shape). Spawn's reply
// is deferred until the worker reports ready.
#include "boundary.hpp"
#include "daemon.hpp"

#include "offshoot/common/protocol.hpp"

#include <unistd.h>

namespace offshoot {
namespace {

Daemon& self(void* userdata) { return *static_cast<Daemon*>(userdata); }

int method_spawn(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(m, error, [&] {
        const char* cls = nullptr;
        uint32_t uid = 0;
        check_read(sd_bus_message_read(m, "su", &cls, &uid), "arguments");
        SpawnRequest req;
        req.class_name = cls;
        req.uid = uid;
        self(userdata).spawn(m, std::move(req));
        return 1;
    });
}

int method_spawn_with_options(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(m, error, [&] {
        const char* cls = nullptr;
        check_read(sd_bus_message_read(m, "s", &cls), "class");
        SpawnRequest req;
        req.class_name = cls;
        decode_spawn_options(m, req);
        self(userdata).spawn(m, std::move(req));
        return 1;
    });
}

int method_list_classes(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(error, [&] {
        sd_bus_message* reply = nullptr;
        int r = sd_bus_message_new_method_return(m, &reply);
        MessagePtr owned{reply};
        if (r >= 0) r = sd_bus_message_open_container(reply, 'a', "(ss)");
        for (auto& [name, c] : self(userdata).classes())
            if (r >= 0) r = sd_bus_message_append(reply, "(ss)", name.c_str(), c.interface.c_str());
        if (r >= 0) r = sd_bus_message_close_container(reply);
        if (r >= 0) r = sd_bus_send(nullptr, reply, nullptr);
        return r;
    });
}

int append_strings(sd_bus_message* m, const char* key, const std::vector<std::string>& v) {
    int r = sd_bus_message_open_container(m, 'e', "sv");
    if (r >= 0) r = sd_bus_message_append(m, "s", key);
    if (r >= 0) r = sd_bus_message_open_container(m, 'v', "as");
    if (r >= 0) r = sd_bus_message_open_container(m, 'a', "s");
    for (auto& s : v)
        if (r >= 0) r = sd_bus_message_append(m, "s", s.c_str());
    if (r >= 0) r = sd_bus_message_close_container(m);
    if (r >= 0) r = sd_bus_message_close_container(m);
    if (r >= 0) r = sd_bus_message_close_container(m);
    return r;
}

int method_describe_classes(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(error, [&] {
        sd_bus_message* reply = nullptr;
        int r = sd_bus_message_new_method_return(m, &reply);
        MessagePtr owned{reply};
        if (r >= 0) r = sd_bus_message_open_container(reply, 'a', "(ssa{sv})");
        for (auto& [name, c] : self(userdata).classes()) {
            if (r >= 0) r = sd_bus_message_open_container(reply, 'r', "ssa{sv}");
            if (r >= 0) r = sd_bus_message_append(reply, "ss", name.c_str(), c.interface.c_str());
            if (r >= 0) r = sd_bus_message_open_container(reply, 'a', "{sv}");
            if (r >= 0) r = append_strings(reply, "allowed-users", c.allowed_users);
            if (r >= 0) r = append_strings(reply, "allowed-callers", c.allowed_callers);
            if (r >= 0) r = sd_bus_message_append(reply, "{sv}", "allow-any-group", "b", static_cast<int>(c.allow_any_group));
            if (r >= 0) r = sd_bus_message_append(reply, "{sv}", "working-directory", "s", c.working_directory.c_str());
            if (r >= 0 && c.umask) r = sd_bus_message_append(reply, "{sv}", "umask", "u", static_cast<uint32_t>(*c.umask));
            if (r >= 0) r = sd_bus_message_append(reply, "{sv}", "source", "s", c.source.c_str());
            if (r >= 0) r = sd_bus_message_close_container(reply);
            if (r >= 0) r = sd_bus_message_close_container(reply);
        }
        if (r >= 0) r = sd_bus_message_close_container(reply);
        if (r >= 0) r = sd_bus_send(nullptr, reply, nullptr);
        return r;
    });
}

int method_list_instances(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(error, [&] {
        sd_bus_message* reply = nullptr;
        int r = sd_bus_message_new_method_return(m, &reply);
        MessagePtr owned{reply};
        if (r >= 0) r = sd_bus_message_open_container(reply, 'a', "(ossuus)");
        for (auto& [id, i] : self(userdata).instances()) {
            if (!i->exported() || r < 0) continue;
            r = sd_bus_message_append(reply, "(ossuus)", i->path().c_str(), i->spec().cls.name.c_str(),
                                      to_string(i->state()), i->spec().uid,
                                      static_cast<uint32_t>(i->main_pid()),
                                      i->spec().owner.unique_name.c_str());
        }
        if (r >= 0) r = sd_bus_message_close_container(reply);
        if (r >= 0) r = sd_bus_send(nullptr, reply, nullptr);
        return r;
    });
}

int property_version(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void*,
                     sd_bus_error*) {
    return sd_bus_message_append(reply, "s", OFFSHOOT_VERSION);
}

int property_instance_count(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply,
                            void* userdata, sd_bus_error*) {
    return sd_bus_message_append(reply, "u", self(userdata).exported_count());
}

// Every method is callable by anyone on the bus: offshootd authorizes each request itself
// from the caller's bus credentials.
constexpr sd_bus_vtable vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_NAMES("Spawn", "su", SD_BUS_PARAM(class) SD_BUS_PARAM(uid), "os",
                             SD_BUS_PARAM(instance) SD_BUS_PARAM(address), method_spawn,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("SpawnWithOptions", "sa{sv}", SD_BUS_PARAM(class) SD_BUS_PARAM(options),
                             "os", SD_BUS_PARAM(instance) SD_BUS_PARAM(address),
                             method_spawn_with_options, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("ListClasses", "", , "a(ss)", SD_BUS_PARAM(classes), method_list_classes,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("DescribeClasses", "", , "a(ssa{sv})", SD_BUS_PARAM(classes),
                             method_describe_classes, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("ListInstances", "", , "a(ossuus)", SD_BUS_PARAM(instances),
                             method_list_instances, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("InstanceCount", "u", property_instance_count, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_VTABLE_END};

}  // namespace

const sd_bus_vtable* Daemon::supervisor_vtable() { return vtable; }

Caller Daemon::caller_of(sd_bus_message* m) {
    // The caller's identity comes from the bus alone (credentials the bus stamps on the
    // connection), never from arguments or /proc. Not knowing it means no.
    const char* sender = sd_bus_message_get_sender(m);
    // dbus-daemon doesn't stamp credentials on messages. A unique name is never reused and its
    // connection's credentials never change, so what the bus said once is kept (known_uid);
    // calls that need it are held by the bus filter until the bus has answered asynchronously
    // (Daemon::on_incoming). Only a call that got past it unknown — the bus would not say —
    // asks here, synchronously, and is denied if the bus still won't say.
    if (auto uid = known_uid(sender)) return Caller{*uid, sender};
    if (sender && unresolved_.count(sender))  // the bus already said it can't tell (gone, mostly)
        fail(error_name::access_denied, "cannot determine the caller's user from the bus; denied");
    sd_bus_creds* c = nullptr;
    int r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UNIQUE_NAME, &c);
    CredsPtr creds{c};
    uid_t uid = 0;
    if (r < 0 || sd_bus_creds_get_euid(c, &uid) < 0)
        fail(error_name::access_denied, "cannot determine the caller's user from the bus; denied");
    Caller caller;
    caller.uid = uid;
    caller.unique_name = sender ? sender : "";
    if (sender) remember_uid(sender, uid);
    return caller;
}

void Daemon::check_quota(const Caller& caller) {
    const auto& lim = options_.limits;
    if (instances_.size() >= lim.max_instances)
        fail(error_name::limit_exceeded, "offshootd holds {} instance handles, its limit (MaxInstances=)",
             instances_.size());
    if (caller.uid == 0) return;  // root is trusted with the daemon itself
    const auto it_owned = handles_by_owner_.find(caller.uid);
    const uint32_t owned = it_owned == handles_by_owner_.end() ? 0 : it_owned->second;
    if (owned >= lim.max_instances_per_user)
        fail(error_name::limit_exceeded,
             "uid {} holds {} instance handles, its limit (MaxInstancesPerUser=); release finished ones",
             caller.uid, owned);
    uint64_t now = 0;
    sd_event_now(event(), CLOCK_MONOTONIC, &now);
    if (rate_limiters_.size() > 4096)  // forget callers whose bucket has refilled
        for (auto it = rate_limiters_.begin(); it != rate_limiters_.end();)
            it = it->second.full(now) ? rate_limiters_.erase(it) : std::next(it);
    auto it = rate_limiters_.try_emplace(caller.uid, lim.spawn_rate_per_second, lim.spawn_rate_burst).first;
    uint64_t retry = 0;
    if (!it->second.take(now, retry))
        fail(error_name::limit_exceeded,
             "uid {} is spawning faster than {} per second (SpawnRatePerSecond=); try again in {} ms",
             caller.uid, lim.spawn_rate_per_second, (retry + 999) / 1000);
}

void Daemon::spawn(sd_bus_message* m, SpawnRequest req) {
    if (shutting_down_) fail(error_name::shutting_down, "offshootd is shutting down");
    validate_request(req);
    // A caller offshootd did not know yet was held by the bus filter until the bus said who it
    // is (Daemon::on_incoming), so this does not wait for the bus.
    spawn_as(m, std::move(req), caller_of(m));
}

void Daemon::spawn_as(sd_bus_message* m, SpawnRequest req, const Caller& caller) {

    auto cit = classes_.find(req.class_name);
    if (cit == classes_.end())
        fail(error_name::unknown_class, "no class named '{:.128}' is configured (ListClasses shows those that are)", req.class_name);
    const ClassConfig& cls = cit->second;

    check_quota(caller);

    InstanceSpec spec;
    spec.cls = cls;
    spec.owner = caller;
    spec.uid = req.uid.value_or(caller.uid);
    auto user = lookup_user(spec.uid);
    if (!user && !req.gid)
        fail(error_name::invalid_argument,
             "uid {} has no user database entry; pass an explicit gid (SpawnWithOptions, key 'gid') to run as it",
             spec.uid);
    spec.gid = req.gid.value_or(user ? user->gid : 0);
    if (req.groups) spec.groups.assign(req.groups->begin(), req.groups->end());
    else if (user) spec.groups = user_groups(*user);
    authorize_spawn(cls, caller, spec.uid, spec.gid, spec.groups, user);

    if (geteuid() != 0 && (spec.uid != geteuid() || spec.gid != getegid()))
        fail(error_name::access_denied,
             "offshootd runs unprivileged (uid {}), so it can only run instances as itself", geteuid());

    spec.cwd = req.cwd.value_or(cls.working_directory);
    spec.umask = static_cast<mode_t>(req.umask.value_or(cls.umask.value_or(0022)));
    spec.arguments = std::move(req.arguments);
    spec.stop_mode = req.stop_mode;
    spec.stop_timeout_usec = req.stop_timeout_usec;
    spec.tie_to_caller = req.tie_to_caller;

    // The worker's environment, from scratch: the user's basics, the class's, the caller's.
    const std::string name = user ? user->name : std::to_string(spec.uid);
    spec.environment = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=" + (user ? user->home : std::string("/")),
        "USER=" + name,
        "LOGNAME=" + name,
        "SHELL=" + (user ? user->shell : std::string("/usr/sbin/nologin")),
        "LISTEN_FDS=1",
        fmt::format("{}={}", protocol::notify_fd_env, protocol::notify_fd),
    };
    auto set_env = [&](const std::string& kv) {
        auto key = kv.substr(0, kv.find('=') + 1);
        for (auto& e : spec.environment)
            if (e.compare(0, key.size(), key) == 0) {
                e = kv;
                return;
            }
        spec.environment.push_back(kv);
    };
    for (auto& e : cls.environment) set_env(e);
    for (auto& e : req.environment) set_env(e);

    const uint64_t id = next_id_++;
    auto inst = std::make_unique<Instance>(*this, id, std::move(spec));
    Instance& ref = *inst;
    instances_.emplace(id, std::move(inst));
    ++handles_by_owner_[ref.spec().owner.uid];
    // Watched for every instance: tied ones stop when their owner goes, and finished handles
    // are forgotten then.
    watch_owner(caller.unique_name);
    if (auto w = owner_watches_.find(caller.unique_name); w != owner_watches_.end()) w->second->uid = caller.uid;

    if (!req.start) {
        export_instance(ref);
        int r = sd_bus_reply_method_return(m, "os", ref.path().c_str(), "");
        if (r < 0) log::debug("cannot reply to Spawn: {}", errno_text(r));
        return;
    }
    // Launched from the queue (on_launch_due), after the calls already waiting are answered.
    launch_queue_.push_back({id, MessagePtr{sd_bus_message_ref(m)}});
    sd_event_source_set_enabled(launch_source_.get(), SD_EVENT_ON);
}

}  // namespace offshoot

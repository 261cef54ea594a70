// instance_object.cpp — org.offshoot1.Instance at /org/offshoot1/instance/<id>.
//
// Reading is open to anyone who can see the handle (except Address and ReturnValue); acting on
// it (Start, Stop, Kill, Release, WaitReturnValue) is for the owner's uid and root.
#include "bus/boundary.hpp"
#include "daemon.hpp"

namespace offshoot {
namespace {

Instance& inst(void* userdata) { return *static_cast<Instance*>(userdata); }

void authorize_control(sd_bus_message* m, const Instance& i, const char* action) {
    const Caller c = i.context().callers.caller_of(m);
    if (c.uid != 0 && c.uid != i.spec().owner.uid)
        fail(errors::access_denied, "uid {} may not {} instance {}: only its owner (uid {}) and root may",
             c.uid, action, i.id(), i.spec().owner.uid);
}

int method_start(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(&inst(userdata).context().callers, m, error, [&] {
        auto& i = inst(userdata);
        authorize_control(m, i, "start");
        if (i.context().observer.shutting_down()) fail(errors::shutting_down, "offshootd is shutting down");
        if (i.has_process())
            fail(errors::invalid_argument, "instance {} is already {}", i.id(), to_string(i.state()));
        if (i.restart_pending()) i.start_after_restart(MessagePtr{sd_bus_message_ref(m)});
        else i.launch(MessagePtr{sd_bus_message_ref(m)});
        return 1;
    });
}

int method_stop(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(&inst(userdata).context().callers, m, error, [&] {
        auto& i = inst(userdata);
        authorize_control(m, i, "stop");
        i.stop(MessagePtr{sd_bus_message_ref(m)});
        return 1;
    });
}

int method_kill(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(&inst(userdata).context().callers, m, error, [&] {
        int32_t sig = 0;
        check_read(sd_bus_message_read(m, "i", &sig), "signal");
        auto& i = inst(userdata);
        authorize_control(m, i, "signal");
        i.kill(sig);
        return sd_bus_reply_method_return(m, "");
    });
}

int method_wait(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(error, [&] {
        inst(userdata).wait(MessagePtr{sd_bus_message_ref(m)});
        return 1;
    });
}

int method_wait_return_value(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(&inst(userdata).context().callers, m, error, [&] {
        auto& i = inst(userdata);
        // The work's result is the owner's, as the address is.
        authorize_control(m, i, "read the return value of");
        i.wait(MessagePtr{sd_bus_message_ref(m)});
        return 1;
    });
}

int method_release(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(&inst(userdata).context().callers, m, error, [&] {
        auto& i = inst(userdata);
        authorize_control(m, i, "release");
        i.release(MessagePtr{sd_bus_message_ref(m)});
        return 1;
    });
}

#define OFFSHOOT_GETTER(fn, sig, expr)                                                              \
    int fn(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata, \
           sd_bus_error*) {                                                                         \
        const Instance& i = inst(userdata);                                                         \
        return sd_bus_message_append(reply, sig, expr);                                             \
    }

OFFSHOOT_GETTER(get_id, "t", i.id())
OFFSHOOT_GETTER(get_class, "s", i.spec().cls.name.c_str())
OFFSHOOT_GETTER(get_owner, "s", i.spec().owner.unique_name.c_str())
OFFSHOOT_GETTER(get_owner_uid, "u", i.spec().owner.uid)
OFFSHOOT_GETTER(get_uid, "u", i.spec().uid)
OFFSHOOT_GETTER(get_gid, "u", i.spec().gid)
OFFSHOOT_GETTER(get_cwd, "s", i.spec().cwd.c_str())
OFFSHOOT_GETTER(get_main_pid, "u", static_cast<uint32_t>(i.launching() ? 0 : i.main_pid()))
OFFSHOOT_GETTER(get_state, "s", to_string(i.state()))
OFFSHOOT_GETTER(get_result, "s", i.result().c_str())
OFFSHOOT_GETTER(get_exit_code, "i", i.exit_code())
OFFSHOOT_GETTER(get_exit_signal, "i", i.exit_signal())
OFFSHOOT_GETTER(get_n_restarts, "u", i.n_restarts())
OFFSHOOT_GETTER(get_restart, "s", to_string(i.spec().restart.policy))
OFFSHOOT_GETTER(get_control_group, "s", i.cgroup() ? i.cgroup()->control_group().c_str() : "")
OFFSHOOT_GETTER(get_unit, "s", i.cgroup() ? i.cgroup()->unit().c_str() : "")
OFFSHOOT_GETTER(get_private_tmp, "b", static_cast<int>(i.spec().containment.sandbox.private_tmp))
OFFSHOOT_GETTER(get_private_devices, "b", static_cast<int>(i.spec().containment.sandbox.private_devices))
OFFSHOOT_GETTER(get_private_network, "b", static_cast<int>(i.spec().containment.sandbox.private_network))
OFFSHOOT_GETTER(get_protect_system, "s", to_string(i.spec().containment.sandbox.protect_system))
OFFSHOOT_GETTER(get_protect_home, "s", to_string(i.spec().containment.sandbox.protect_home))
#undef OFFSHOOT_GETTER

// MemoryCurrent, MemoryPeak, TasksCurrent, CPUUsageNSec: read from the instance's cgroup when
// asked (no PropertiesChanged: they change all the time); UINT64_MAX without one, as systemd.
int get_usage(sd_bus*, const char*, const char*, const char* property, sd_bus_message* reply, void* userdata,
              sd_bus_error*) {
    const InstanceCgroup* cg = inst(userdata).cgroup();
    const CgroupUsage u = cg ? cg->usage() : CgroupUsage{};
    const std::string_view p = property;
    const uint64_t v = p == "MemoryCurrent" ? u.memory_current
                       : p == "MemoryPeak"  ? u.memory_peak
                       : p == "TasksCurrent" ? u.tasks_current
                                             : u.cpu_usage_nsec;
    return sd_bus_message_append(reply, "t", v);
}

// MemoryMax … IOWeight: the limits in force, by systemd's property names (UINT64_MAX: none).
int get_limit(sd_bus*, const char*, const char*, const char* property, sd_bus_message* reply, void* userdata,
              sd_bus_error*) {
    const ResourceControl& r = inst(userdata).spec().containment.resources;
    for (const auto& k : resource_keys)
        if (std::string_view(property) == k.property) return sd_bus_message_append(reply, "t", r[k.id]);
    return -ENOENT;
}

int get_paths(sd_bus*, const char*, const char*, const char* property, sd_bus_message* reply, void* userdata,
              sd_bus_error*) {
    const Sandbox& s = inst(userdata).spec().containment.sandbox;
    const std::string_view p = property;
    const auto& v = p == "ReadWritePaths" ? s.read_write_paths : p == "ReadOnlyPaths" ? s.read_only_paths : s.inaccessible_paths;
    int r = sd_bus_message_open_container(reply, 'a', "s");
    for (const auto& e : v)
        if (r >= 0) r = sd_bus_message_append(reply, "s", e.c_str());
    return r >= 0 ? sd_bus_message_close_container(reply) : r;
}

int get_groups(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
               sd_bus_error*) {
    const auto& g = inst(userdata).spec().groups;
    return sd_bus_message_append_array(reply, 'u', g.data(), g.size() * sizeof(gid_t));
}

// For a property only the owner and root may read (Address, ReturnValue): 1 when the current
// call's sender may, 0 when it may not but is reading every property at once (GetAll, the
// ObjectManager's GetManagedObjects: the caller then gets an empty value rather than a failure
// of the whole call — one other user's instance would otherwise make GetManagedObjects fail for
// everyone), and AccessDenied (negative, `error` set) for Get. PropertiesChanged only
// invalidates such properties, so their values are never broadcast.
int may_read_owners_property(sd_bus_message* reply, const Instance& i, const char* what, sd_bus_error* error) {
    sd_bus_message* call = sd_bus_get_current_message(sd_bus_message_get_bus(reply));
    if (!call) return 0;
    bool allowed = false;
    int r = guarded(error, [&] {
        authorize_control(call, i, what);
        allowed = true;
        return 0;
    });
    if (allowed) return 1;
    const char* member = sd_bus_message_get_member(call);
    if (member && (std::string_view(member) == "GetAll" || std::string_view(member) == "GetManagedObjects")) {
        sd_bus_error_free(error);
        return 0;
    }
    return r;
}

int get_address(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                sd_bus_error* error) {
    // The address leads to the object itself.
    const Instance& i = inst(userdata);
    const int may = may_read_owners_property(reply, i, "read the address of", error);
    if (may < 0) return may;
    return sd_bus_message_append(reply, "s", may && !i.launching() ? i.address().c_str() : "");
}

int get_return_value(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                     sd_bus_error* error) {
    // The work's result, as the owner's as the address is.
    const Instance& i = inst(userdata);
    const int may = may_read_owners_property(reply, i, "read the return value of", error);
    if (may < 0) return may;
    if (may) return i.append_return_value(reply);
    return sd_bus_message_append(reply, "av", 0);
}

constexpr sd_bus_vtable vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Start", "", "", method_start, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Stop", "", "", method_stop, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Kill", "i", SD_BUS_PARAM(signal), "", , method_kill, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Wait", "", , "si", SD_BUS_PARAM(result) SD_BUS_PARAM(code), method_wait,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Release", "", "", method_release, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("WaitReturnValue", "", , "siav",
                             SD_BUS_PARAM(result) SD_BUS_PARAM(code) SD_BUS_PARAM(value),
                             method_wait_return_value, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL_WITH_NAMES("Exited", "si", SD_BUS_PARAM(result) SD_BUS_PARAM(code), 0),
    SD_BUS_SIGNAL_WITH_NAMES("Restarted", "siu", SD_BUS_PARAM(result) SD_BUS_PARAM(code) SD_BUS_PARAM(n_restarts), 0),
    SD_BUS_PROPERTY("Id", "t", get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Class", "s", get_class, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Owner", "s", get_owner, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("OwnerUid", "u", get_owner_uid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Uid", "u", get_uid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Gid", "u", get_gid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Groups", "au", get_groups, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("WorkingDirectory", "s", get_cwd, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("MainPID", "u", get_main_pid, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("State", "s", get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Result", "s", get_result, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("ExitCode", "i", get_exit_code, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("ExitSignal", "i", get_exit_signal, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("NRestarts", "u", get_n_restarts, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Restart", "s", get_restart, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Address", "s", get_address, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
    SD_BUS_PROPERTY("ReturnValue", "av", get_return_value, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
    // Containment: where the process is accounted, what it uses, what limits and hides it.
    SD_BUS_PROPERTY("ControlGroup", "s", get_control_group, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Unit", "s", get_unit, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("MemoryCurrent", "t", get_usage, 0, 0),
    SD_BUS_PROPERTY("MemoryPeak", "t", get_usage, 0, 0),
    SD_BUS_PROPERTY("TasksCurrent", "t", get_usage, 0, 0),
    SD_BUS_PROPERTY("CPUUsageNSec", "t", get_usage, 0, 0),
    SD_BUS_PROPERTY("MemoryMax", "t", get_limit, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("MemoryHigh", "t", get_limit, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("MemorySwapMax", "t", get_limit, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("TasksMax", "t", get_limit, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("CPUQuotaPerSecUSec", "t", get_limit, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("CPUWeight", "t", get_limit, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("IOWeight", "t", get_limit, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("PrivateTmp", "b", get_private_tmp, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("PrivateDevices", "b", get_private_devices, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("PrivateNetwork", "b", get_private_network, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("ProtectSystem", "s", get_protect_system, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("ProtectHome", "s", get_protect_home, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("ReadWritePaths", "as", get_paths, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("ReadOnlyPaths", "as", get_paths, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("InaccessiblePaths", "as", get_paths, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_VTABLE_END};

}  // namespace

const sd_bus_vtable* Daemon::instance_vtable() { return vtable; }

}  // namespace offshoot

// instance_object.cpp — org.offshoot1.Instance at /org/offshoot1/instance/<id>.
//
// Reading is open to anyone who can see the handle (except Address); acting on it (Start,
// Stop, Kill, Release) is for the owner's uid and root.
#include "boundary.hpp"
#include "daemon.hpp"

namespace offshoot {
namespace {

Instance& inst(void* userdata) { return *static_cast<Instance*>(userdata); }

void authorize_control(sd_bus_message* m, const Instance& i, const char* action) {
    const Caller c = i.daemon().caller_of(m);
    if (c.uid != 0 && c.uid != i.spec().owner.uid)
        fail(error_name::access_denied, "uid {} may not {} instance {}: only its owner (uid {}) and root may",
             c.uid, action, i.id(), i.spec().owner.uid);
}

int method_start(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(m, error, [&] {
        auto& i = inst(userdata);
        authorize_control(m, i, "start");
        if (i.daemon().shutting_down()) fail(error_name::shutting_down, "offshootd is shutting down");
        if (i.has_process())
            fail(error_name::invalid_argument, "instance {} is already {}", i.id(), to_string(i.state()));
        i.launch(MessagePtr{sd_bus_message_ref(m)});
        return 1;
    });
}

int method_stop(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(m, error, [&] {
        auto& i = inst(userdata);
        authorize_control(m, i, "stop");
        i.stop(MessagePtr{sd_bus_message_ref(m)});
        return 1;
    });
}

int method_kill(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(m, error, [&] {
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

int method_release(sd_bus_message* m, void* userdata, sd_bus_error* error) {
    return guarded(m, error, [&] {
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
#undef OFFSHOOT_GETTER

int get_groups(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
               sd_bus_error*) {
    const auto& g = inst(userdata).spec().groups;
    return sd_bus_message_append_array(reply, 'u', g.data(), g.size() * sizeof(gid_t));
}

int get_address(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                sd_bus_error* error) {
    // The address leads to the object itself: only the owner and root may read it. Get by
    // anyone else is AccessDenied; GetAll shows them an empty string rather than failing as a
    // whole. PropertiesChanged only invalidates it, so its value is never broadcast.
    const Instance& i = inst(userdata);
    sd_bus_message* call = sd_bus_get_current_message(sd_bus_message_get_bus(reply));
    const char* value = i.launching() ? "" : i.address().c_str();
    if (!call) return sd_bus_message_append(reply, "s", "");
    bool allowed = false;
    int r = guarded(error, [&] {
        authorize_control(call, i, "read the address of");
        allowed = true;
        return 0;
    });
    if (!allowed) {
        const char* member = sd_bus_message_get_member(call);
        if (member && std::string_view(member) == "GetAll") {
            sd_bus_error_free(error);
            return sd_bus_message_append(reply, "s", "");
        }
        return r;
    }
    return sd_bus_message_append(reply, "s", value);
}

constexpr sd_bus_vtable vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Start", "", "", method_start, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Stop", "", "", method_stop, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Kill", "i", SD_BUS_PARAM(signal), "", , method_kill, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Wait", "", , "si", SD_BUS_PARAM(result) SD_BUS_PARAM(code), method_wait,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Release", "", "", method_release, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL_WITH_NAMES("Exited", "si", SD_BUS_PARAM(result) SD_BUS_PARAM(code), 0),
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
    SD_BUS_PROPERTY("Address", "s", get_address, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
    SD_BUS_VTABLE_END};

}  // namespace

const sd_bus_vtable* Daemon::instance_vtable() { return vtable; }

}  // namespace offshoot

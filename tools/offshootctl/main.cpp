// offshootctl — control offshootd from the shell, systemctl-style:
//
//   offshootctl [--system|--session|--address=ADDR|--host=[USER@]HOST] [--json] VERB …
//
// Verbs: classes, list, status, spawn, start, stop, kill, wait, release, call, introspect,
// get-property, set-property, monitor.
// This file defines the command line (CLI11) and maps failures to exit codes; the verbs live in
// supervisor_verbs.cpp and object_verbs.cpp.
#include <grp.h>
#include <pwd.h>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "verbs.hpp"

namespace {

using namespace offshootctl;

// CLI11 numbers may come with a K/M suffix and the like elsewhere; ids must be plain decimals.
bool is_uint32(const std::string& s) {
    if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    return std::stoull(s) <= 0xFFFFFFFFull;
}

// A uid/gid given as a number or a name. Names are this machine's: with --host (`remote`) only
// numbers are taken.
std::optional<uint32_t> parse_id(const std::string& text, bool group, const char* what, bool remote) {
    if (text.empty()) return std::nullopt;
    if (is_uint32(text)) return static_cast<uint32_t>(std::stoull(text));
    if (remote)
        throw UsageError(std::string("with --host give the ") + what + " as a number: '" + text +
                         "' would be looked up on this machine, not on the remote host");
    std::vector<char> buf(16384);
    if (group) {
        struct group gr{}, *found = nullptr;
        if (::getgrnam_r(text.c_str(), &gr, buf.data(), buf.size(), &found) == 0 && found) return found->gr_gid;
    } else {
        struct passwd pw{}, *found = nullptr;
        if (::getpwnam_r(text.c_str(), &pw, buf.data(), buf.size(), &found) == 0 && found) return found->pw_uid;
    }
    throw UsageError(std::string("no ") + what + " named '" + text + "'");
}

// --system, --session, --address, --json.
void add_global_options(CLI::App& app, Globals& globals, bool& system, bool& session) {
    auto* o_system = app.add_flag("--system", system, "Talk to offshootd on the system bus (the default)");
    auto* o_session = app.add_flag("--session", session, "Talk to offshootd on the session bus");
    auto* o_address = app.add_option("--address", globals.address, "Talk to offshootd on the bus at ADDR")
                          ->option_text("ADDR");
    auto* o_host = app.add_option("--host,-H", globals.host,
                                  "Talk to offshootd on HOST's system bus over ssh, as systemctl -H does "
                                  "([USER@]HOST[:PORT]); instances are called through ssh too")
                       ->option_text("HOST")
                       ->check([](const std::string& v) { return v.empty() ? std::string("an empty host") : std::string(); });
    o_system->excludes(o_session)->excludes(o_address);
    o_session->excludes(o_address)->excludes(o_host);
    o_address->excludes(o_host);
    app.add_flag("--json", globals.json, "Print JSON instead of text");
}

// The spawn verb's command line.
CLI::App* add_spawn_verb(CLI::App& app, SpawnArgs& spawn, std::string& uid_text, std::string& gid_text) {
    CLI::App* s = app.add_subcommand("spawn", "Spawn an instance of CLASS; print its handle path and address");
    s->add_option("CLASS", spawn.class_name, "Class name (see 'offshootctl classes')")->required();
    s->add_option("--uid", uid_text, "Run as this user (name or number; default: yourself)");
    s->add_option("--gid", gid_text, "Primary group (name or number; default: the user's)");
    s->add_option("--cwd", spawn.cwd, "Working directory (absolute; default: the class's)");
    s->add_option("--env", spawn.environment, "Environment variable KEY=VALUE (repeatable)")
        ->option_text("K=V")->allow_extra_args(false)->take_all();
    s->add_option("--arg", spawn.arguments, "Argument for the class's constructor (repeatable)")
        ->option_text("A")->allow_extra_args(false)->take_all();
    s->add_flag("--no-start", spawn.no_start, "Create the handle only; start it later with 'start'");
    s->add_option("--restart", spawn.restart,
                  "Restart policy for this instance, within the class's Restart=: no, on-success, on-failure, "
                  "on-abnormal, on-abort or always")
        ->option_text("POLICY");
    s->add_flag("--wait", spawn.wait,
                "Tie the instance to this command, wait for it to exit, print how it ended (and a task's "
                "return value) and exit with its status; Ctrl-C stops it. The handle is released at the "
                "end: its id names nothing afterwards");
    return s;
}

// The verbs that go to the instance's object over its private connection, and what they take.
struct ObjectVerbs {
    CLI::App *call = nullptr, *introspect = nullptr, *get_property = nullptr, *set_property = nullptr,
             *monitor = nullptr;
    std::string method, property;
    std::vector<std::string> args, properties, matches;
};

void add_object_verbs(CLI::App& app, std::string& id, ObjectVerbs& o) {
    o.call = app.add_subcommand("call", "Call a method on an instance's object over its private connection");
    o.call->add_option("ID", id, "Instance id or handle path")->required();
    o.call->add_option("METHOD", o.method, "Member of the class's interface, or Interface.Member")->required();
    o.call->add_option("ARGS", o.args, "SIGNATURE and values, as busctl takes them (e.g. 'x 5', 'as 2 a b')");
    o.call->footer("Arguments as busctl takes them: a signature, then one value per basic type; an array is its\n"
                   "element count then the elements; a variant its signature then its value. Use -- before\n"
                   "values that begin with '-' and are not numbers.");
    o.introspect = app.add_subcommand("introspect", "Print the introspection XML of an instance's object");
    o.introspect->add_option("ID", id, "Instance id or handle path")->required();

    o.get_property = app.add_subcommand("get-property", "Print properties of an instance's object, as busctl does");
    o.get_property->add_option("ID", id, "Instance id or handle path")->required();
    o.get_property->add_option("PROPERTY", o.properties, "Property of the class's interface, or Interface.Property")
        ->required();
    o.set_property = app.add_subcommand("set-property", "Set a property of an instance's object");
    o.set_property->add_option("ID", id, "Instance id or handle path")->required();
    o.set_property->add_option("PROPERTY", o.property, "Property of the class's interface, or Interface.Property")
        ->required();
    o.set_property->add_option("VALUE", o.args, "SIGNATURE and value, as busctl takes them (e.g. 's hello')")
        ->required();
    o.monitor = app.add_subcommand("monitor", "Print every message to and from an instance's object as it happens");
    o.monitor->add_option("ID", id, "Instance id or handle path")->required();
    o.monitor->add_option("--match", o.matches, "Only messages matching this D-Bus match rule (repeatable), e.g. "
                                              "\"type='signal'\"")
        ->option_text("RULE")->allow_extra_args(false)->take_all();
}

int run_object_verb(Context& ctx, const std::string& id, const ObjectVerbs& o) {
    if (*o.call) return verb_call(ctx, id, o.method, o.args);
    if (*o.introspect) return verb_introspect(ctx, id);
    if (*o.get_property) return verb_get_property(ctx, id, o.properties);
    if (*o.set_property) return verb_set_property(ctx, id, o.property, o.args);
    if (*o.monitor) return verb_monitor(ctx, id, o.matches);
    return exit_usage;
}

// Parses argv into `app`; an exit code when that is all there is to do (help, a usage error).
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);  // prints the message
        return exit_usage;
    }
    return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Control offshootd: list classes and instances, spawn and stop instances, and call them.\n"
                 "Exit codes: 0 ok, 1 a D-Bus error (\"Error <name>: <message>\"), 2 a usage error;\n"
                 "spawn --wait and wait exit with the instance's status (its exit code, 128+signal).",
                 "offshootctl"};
    app.require_subcommand(1, 1);
    app.fallthrough();  // global options may also follow the verb
    app.footer("Run 'offshootctl VERB --help' for a verb's options.");

    Globals globals;
    bool system = false, session = false;
    add_global_options(app, globals, system, session);

    std::string id, signal = "TERM";
    SpawnArgs spawn;
    std::string uid_text, gid_text;

    auto* classes = app.add_subcommand("classes", "List the configured classes and who may spawn them as whom");
    auto* list = app.add_subcommand("list", "List the instances: id, class, state, uid, pid, owner, age");
    auto* status = app.add_subcommand("status", "Show everything about one instance");
    status->add_option("ID", id, "Instance id or handle path")->required();

    CLI::App* s = add_spawn_verb(app, spawn, uid_text, gid_text);

    auto* start = app.add_subcommand("start", "Start a created or finished instance (a fresh process)");
    auto* stop = app.add_subcommand("stop", "Stop an instance; returns when its process is gone");
    auto* kill = app.add_subcommand("kill", "Send a signal to an instance's process");
    kill->add_option("--signal,-s", signal, "Signal name or number (default: TERM)")->option_text("SIG");
    auto* wait = app.add_subcommand("wait", "Wait for an instance's process to end; exit with its status");
    auto* release = app.add_subcommand("release", "Forget an instance's handle (stopping it first)");
    bool finished = false;
    for (auto* verb : {start, stop, kill, wait})
        verb->add_option("ID", id, "Instance id or handle path")->required();
    auto* release_id = release->add_option("ID", id, "Instance id or handle path");
    release->add_flag("--finished", finished,
                      "Instead of one ID: every exited or failed handle you may release (yours; all, for root)")
        ->excludes(release_id);

    ObjectVerbs object;
    add_object_verbs(app, id, object);

    if (const std::optional<int> done = parse_command_line(app, argc, argv)) return *done;

    if (session) globals.bus = BusKind::session;
    if (!globals.address.empty()) globals.bus = BusKind::address;
    if (!globals.host.empty()) globals.bus = BusKind::remote;

    try {
        const bool remote = globals.bus == BusKind::remote;
        spawn.uid = parse_id(uid_text, false, "user", remote);
        spawn.gid = parse_id(gid_text, true, "group", remote);
        Context ctx(globals);
        if (*classes) return verb_classes(ctx);
        if (*list) return verb_list(ctx);
        if (*status) return verb_status(ctx, id);
        if (*s) return verb_spawn(ctx, spawn);
        if (*start) return verb_start(ctx, id);
        if (*stop) return verb_stop(ctx, id);
        if (*kill) return verb_kill(ctx, id, signal);
        if (*wait) return verb_wait(ctx, id);
        if (*release) {
            if (finished) return verb_release_finished(ctx);
            if (id.empty()) throw UsageError("release needs an ID, or --finished");
            return verb_release(ctx, id);
        }
        return run_object_verb(ctx, id, object);
    } catch (const UsageError& e) {
        std::cerr << "offshootctl: " << e.what() << "\nRun 'offshootctl --help' for usage." << std::endl;
        return exit_usage;
    } catch (const sdbus::Error& e) {
        print_dbus_error(e);
        return exit_failure;
    } catch (const std::exception& e) {
        std::cerr << "offshootctl: " << e.what() << std::endl;
        return exit_failure;
    }
}

// supervisor_verbs.cpp — the verbs answered by offshootd: classes, list, status, spawn,
// start, stop, kill, wait, release. liboffshoot-client does the calls where it has them;
// DescribeClasses, GetAll and an unbounded Stop go through plain sdbus-c++ proxies.
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <limits>
#include <set>

#include "containment_view.hpp"
#include "table.hpp"
#include "verbs.hpp"

namespace offshootctl {
namespace {

namespace names = offshoot::names;

std::string join(const std::vector<std::string>& v, const char* sep = " ") {
    std::string out;
    for (auto& s : v) out += (out.empty() ? "" : sep) + s;
    return out;
}

// Names and process ages come from this machine: with --host they would be another host's
// guesses, so ids stay numbers and ages are not shown.
std::string user_name(const Context& ctx, uint32_t uid) {
    if (ctx.remote()) return {};
    passwd pw{}, *found = nullptr;
    std::vector<char> buf(16384);
    if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found) return found->pw_name;
    return {};
}

std::string group_name(const Context& ctx, uint32_t gid) {
    if (ctx.remote()) return {};
    group gr{}, *found = nullptr;
    std::vector<char> buf(16384);
    if (::getgrgid_r(gid, &gr, buf.data(), buf.size(), &found) == 0 && found) return found->gr_name;
    return {};
}

// "nobody (65534)", or just the number when the id has no name.
std::string named(uint32_t id, const std::string& name) {
    return name.empty() ? std::to_string(id) : name + " (" + std::to_string(id) + ")";
}

std::string describe_exit(const offshoot::ExitStatus& s) {
    if (s.result == "signal" || s.result == "core-dump") {
        const char* abbrev = ::sigabbrev_np(s.code);
        return s.result + " " + std::to_string(s.code) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
    }
    if (s.result == "exit-code") return s.result + " " + std::to_string(s.code);
    return s.result;
}

// A property value as JSON (the Instance interface's types, and anything basic added later).
json to_json(const sdbus::Variant& v) {
    const std::string type = v.peekValueType();
    if (type == "s" || type == "o" || type == "g") return v.get<std::string>();
    if (type == "b") return v.get<bool>();
    if (type == "y") return v.get<uint8_t>();
    if (type == "n") return v.get<int16_t>();
    if (type == "q") return v.get<uint16_t>();
    if (type == "i") return v.get<int32_t>();
    if (type == "u") return v.get<uint32_t>();
    if (type == "x") return v.get<int64_t>();
    if (type == "t") return v.get<uint64_t>();
    if (type == "d") return v.get<double>();
    if (type == "au") return v.get<std::vector<uint32_t>>();
    if (type == "as") return v.get<std::vector<std::string>>();
    return "(" + type + ")";
}

std::string to_text(const json& j) {
    if (j.is_string()) return j.get<std::string>();
    if (j.is_array()) {
        std::string out;
        for (auto& e : j) out += (out.empty() ? "" : " ") + to_text(e);
        return out;
    }
    return j.dump();
}

}  // namespace

int parse_signal(const std::string& text) {
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
        const int n = std::stoi(text.substr(0, 4));
        if (n >= 1 && n < NSIG) return n;
    } else {
        std::string name = text;
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
        if (name.rfind("SIG", 0) == 0) name.erase(0, 3);
        for (int n = 1; n < NSIG; ++n)
            if (const char* abbrev = ::sigabbrev_np(n); abbrev && name == abbrev) return n;
    }
    throw UsageError("'" + text + "' is not a signal (a name such as TERM or SIGKILL, or a number)");
}

int verb_classes(Context& ctx) {
    const auto classes = describe_classes(ctx);
    if (ctx.json()) {
        json out = json::array();
        for (auto& c : classes) {
            json j = {{"name", c.name},
                      {"interface", c.interface},
                      {"allowed_users", c.allowed_users},
                      {"allowed_callers", c.allowed_callers},
                      {"allow_any_group", c.allow_any_group},
                      {"working_directory", c.working_directory},
                      {"umask", c.umask ? json(*c.umask) : json(nullptr)},
                      {"source", c.source},
                      {"containment", c.containment}};
            out.push_back(std::move(j));
        }
        append_broken_classes(ctx, out);
        std::cout << out.dump(2) << '\n';
        return exit_ok;
    }
    Table table({"CLASS", "INTERFACE", "RUN AS", "SPAWNED BY", "CONTAINED BY"});
    for (auto& c : classes) {
        std::vector<std::string> contained;
        for (auto& [key, value] : c.containment) contained.push_back(key + "=" + value);
        table.add({c.name, c.interface, c.allowed_users.empty() ? "-" : join(c.allowed_users),
                   c.allowed_callers.empty() ? "root" : join(c.allowed_callers),
                   contained.empty() ? "-" : join(contained)});
    }
    table.print(std::cout, ctx.stdout_is_tty());
    if (ctx.stdout_is_tty())
        std::cout << "\n" << classes.size() << " classes. Anyone may spawn a class as themselves (as root only "
                  << "where RUN AS names root);\nSPAWNED BY may spawn it as the users in RUN AS.\n";
    print_broken_classes(ctx, std::cout);
    return exit_ok;
}

int verb_list(Context& ctx) {
    const auto instances = ctx.supervisor().instances();
    json out = json::array();
    Table table({"ID", "CLASS", "STATE", "UID", "PID", "OWNER", "AGE"});
    for (auto& i : instances) {
        const bool live = i.state == "running" || i.state == "stopping";
        const int64_t age = live && !ctx.remote() ? process_age_usec(i.pid, i.uid) : -1;
        if (ctx.json()) {
            out.push_back({{"id", std::stoull(id_of(i.path).empty() ? "0" : id_of(i.path))},
                           {"path", i.path},
                           {"class", i.class_name},
                           {"state", i.state},
                           {"uid", i.uid},
                           {"pid", i.pid},
                           {"owner", i.owner},
                           {"age_usec", age >= 0 ? json(age) : json(nullptr)}});
        } else {
            const std::string user = user_name(ctx, i.uid);
            table.add({id_of(i.path), i.class_name, i.state, user.empty() ? std::to_string(i.uid) : user,
                       i.pid ? std::to_string(i.pid) : "-", i.owner, age >= 0 ? format_age(age) : "-"});
        }
    }
    if (ctx.json()) {
        std::cout << out.dump(2) << '\n';
        return exit_ok;
    }
    table.print(std::cout, ctx.stdout_is_tty());
    if (ctx.stdout_is_tty()) std::cout << "\n" << instances.size() << " instances listed.\n";
    return exit_ok;
}

namespace {

// What an instance uses (systemctl status's lines), as offshootd reads it from its cgroup.
void add_usage_lines(std::vector<std::pair<std::string, std::string>>& lines, const json& p) {
    constexpr uint64_t unknown = std::numeric_limits<uint64_t>::max();
    auto usage = [&](const char* key) { return p.contains(key) && p[key].is_number_unsigned() ? p[key].get<uint64_t>() : unknown; };
    auto text = [&](const char* key) { return p.contains(key) && p[key].is_string() ? p[key].get<std::string>() : std::string(); };
    if (const uint64_t mem = usage("MemoryCurrent"); mem != unknown) {
        const uint64_t peak = usage("MemoryPeak");
        lines.emplace_back("Memory", human_bytes(mem) + (peak != unknown ? " (peak " + human_bytes(peak) + ")" : ""));
    }
    if (const uint64_t tasks = usage("TasksCurrent"); tasks != unknown) lines.emplace_back("Tasks", std::to_string(tasks));
    if (const uint64_t cpu = usage("CPUUsageNSec"); cpu != unknown) lines.emplace_back("CPU", human_cpu(cpu));
    if (!text("ControlGroup").empty())
        lines.emplace_back("CGroup", text("ControlGroup") + (text("Unit").empty() ? "" : " (" + text("Unit") + ")"));
}

// What contains it: the kernel's view of the worker, then offshootd's limits and view.
void add_containment_lines(std::vector<std::pair<std::string, std::string>>& lines, const ContainmentView& c,
                           const std::string& pid) {
    lines.emplace_back("Containment", c.unreadable.empty() ? "what the kernel enforces on pid " + pid + " now"
                                                           : "of the process: " + c.unreadable);
    for (const auto& line : c.lines) lines.push_back(line);
}

}  // namespace

int verb_status(Context& ctx, const std::string& id) {
    const std::string path = instance_path(id);
    const auto props = instance_properties(ctx, path);
    json p = json::object();
    for (auto& [name, value] : props) p[name] = to_json(value);
    auto str = [&](const char* key) { return p.contains(key) ? to_text(p[key]) : std::string(); };
    auto num = [&](const char* key) -> uint64_t {
        return p.contains(key) && p[key].is_number_unsigned() ? p[key].get<uint64_t>() : 0;
    };

    std::string interface;
    for (auto& c : ctx.supervisor().classes())
        if (c.name == str("Class")) interface = c.interface;
    const std::string state = str("State");
    const int64_t age = (state == "running" || state == "stopping") && !ctx.remote()
                            ? process_age_usec(static_cast<uint32_t>(num("MainPID")), static_cast<uint32_t>(num("Uid")))
                            : -1;

    const ContainmentView contained = read_containment(
        state == "running" || state == "stopping" ? static_cast<uint32_t>(num("MainPID")) : 0,
        static_cast<uint32_t>(num("Uid")), p, !ctx.remote());
    if (ctx.json()) {
        json out = {{"path", path}, {"interface", interface}, {"age_usec", age >= 0 ? json(age) : json(nullptr)},
                    {"properties", p}, {"containment", contained.facts}};
        std::cout << out.dump(2) << '\n';
        return exit_ok;
    }

    std::vector<std::pair<std::string, std::string>> lines;
    lines.emplace_back("Path", path);
    lines.emplace_back("Class", str("Class") + (interface.empty() ? "" : " (" + interface + ")"));
    lines.emplace_back("State", state + (age >= 0 ? " for " + format_age(age) : ""));
    std::string result = str("Result");
    if (result.empty()) result = "-";
    else if (result == "exit-code") result += " (code " + str("ExitCode") + ")";
    else if (result == "signal" || result == "core-dump") {
        const int sig = p.contains("ExitSignal") ? p["ExitSignal"].get<int>() : 0;
        result = describe_exit({result, sig});
    }
    lines.emplace_back("Result", result);
    lines.emplace_back("Main PID", num("MainPID") ? str("MainPID") : "-");
    const auto uid = static_cast<uint32_t>(num("Uid"));
    const auto gid = static_cast<uint32_t>(num("Gid"));
    lines.emplace_back("User", named(uid, user_name(ctx, uid)));
    lines.emplace_back("Group", named(gid, group_name(ctx, gid)));
    lines.emplace_back("Groups", str("Groups").empty() ? "-" : str("Groups"));
    lines.emplace_back("Directory", str("WorkingDirectory"));
    const auto owner_uid = static_cast<uint32_t>(num("OwnerUid"));
    const std::string owner_name = user_name(ctx, owner_uid);
    lines.emplace_back("Owner", str("Owner") + " (" + (owner_name.empty() ? "" : owner_name + ", ") + "uid " +
                                    std::to_string(owner_uid) + ")");
    lines.emplace_back("Address", str("Address").empty() ? "-" : str("Address"));
    if (p.contains("Restart")) {
        const std::string policy = str("Restart");
        const uint64_t n = num("NRestarts");
        lines.emplace_back("Restart", policy == "no" ? policy
                                                      : policy + " (" + std::to_string(n) + (n == 1 ? " restart)" : " restarts)"));
    }
    add_usage_lines(lines, p);
    add_containment_lines(lines, contained, str("MainPID"));
    // Properties offshootd may add later are shown too, by their D-Bus names.
    static const std::set<std::string> shown = {"Id", "Class", "State", "Result", "ExitCode", "ExitSignal",
                                                "MainPID", "Uid", "Gid", "Groups", "WorkingDirectory",
                                                "Owner", "OwnerUid", "Address", "Restart", "NRestarts",
                                                // summed up above (all of them in --json)
                                                "MemoryCurrent", "MemoryPeak", "TasksCurrent", "CPUUsageNSec",
                                                "ControlGroup", "Unit", "MemoryMax", "MemoryHigh", "MemorySwapMax",
                                                "TasksMax", "CPUQuotaPerSecUSec", "CPUWeight", "IOWeight",
                                                "PrivateTmp", "PrivateDevices", "PrivateNetwork", "ProtectSystem",
                                                "ProtectHome", "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths"};
    for (auto& [name, value] : p.items())
        if (!shown.count(name)) lines.emplace_back(name, to_text(value));

    std::size_t width = 0;
    for (auto& [label, value] : lines) width = std::max(width, label.size());
    std::cout << "Instance " << str("Id") << " — " << str("Class") << '\n';
    for (auto& [label, value] : lines)
        std::cout << std::string(width - label.size() + 4, ' ') << label << ": " << value << '\n';
    return exit_ok;
}

namespace {

// The signals `spawn --wait` turns into a Stop, and the one the Exited callback wakes it with.
sigset_t wait_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&set, s);
    return set;
}

void print_spawned(Context& ctx, const std::string& path, const std::string& address) {
    if (ctx.json()) return;
    std::cout << "Instance: " << path << '\n';
    if (!address.empty()) std::cout << "Address: " << address << '\n';
    std::cout.flush();
}

}  // namespace

int verb_spawn(Context& ctx, const SpawnArgs& args) {
    if (args.wait && args.no_start) throw UsageError("--wait and --no-start exclude each other");
    offshoot::SpawnOptions options;
    options.uid = args.uid;
    options.gid = args.gid;
    options.cwd = args.cwd;
    if (!args.environment.empty()) options.environment = args.environment;
    if (!args.arguments.empty()) options.arguments = args.arguments;
    if (args.no_start) options.start = false;
    options.restart = args.restart;
    // Without --wait the instance outlives this command (systemd-run's behaviour); with it,
    // it is tied to this process's bus connection, so it ends with us whatever happens.
    options.tie_to_caller = args.wait;

    if (!args.wait) {
        offshoot::Instance instance = ctx.supervisor().spawn(args.class_name, options);
        const std::string address = args.no_start ? std::string() : instance.address();
        const std::string path = instance.detach();
        if (ctx.json())
            std::cout << json{{"path", path}, {"id", std::stoull(id_of(path))}, {"address", address}}.dump(2) << '\n';
        print_spawned(ctx, path, address);
        return exit_ok;
    }

    // Ctrl-C (and SIGTERM/SIGHUP) become a Stop. They are blocked before the client library
    // starts its event-loop thread, so every thread inherits the mask and this thread alone
    // takes them, with sigwait; the Exited callback wakes it with SIGUSR1.
    const sigset_t set = wait_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    offshoot::Instance instance = ctx.supervisor().spawn(args.class_name, options);
    const std::string path = instance.path();
    const std::string address = instance.address();
    print_spawned(ctx, path, address);

    std::atomic<bool> exited{false};
    instance.on_exit([&exited](const offshoot::ExitStatus&) {
        exited = true;
        ::kill(::getpid(), SIGUSR1);
    });
    while (!exited) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0 || sig == SIGUSR1) continue;
        if (!ctx.json()) std::cerr << "Stopping " << path << " (" << sigabbrev_np(sig) << ")…" << std::endl;
        // Unbounded: the instance's own stop timeout (then SIGKILL) bounds it on the daemon.
        ctx.proxy(path)->callMethod("Stop").onInterface(names::instance_interface)
            .withTimeout(std::numeric_limits<uint64_t>::max()).storeResultsTo();
        break;
    }
    const offshoot::ExitStatus status = instance.wait();  // at once: the process is gone
    const json value = ctx.json() ? return_value_json(ctx, path) : json(nullptr);
    if (!ctx.json()) print_return_value(ctx, path);
    // The handle goes with the command: its id names nothing afterwards (UnknownObject).
    instance.release();
    if (ctx.json())
        std::cout << json{{"path", path}, {"id", std::stoull(id_of(path))}, {"address", address},
                          {"result", status.result}, {"code", status.code}, {"return_value", value}}.dump(2)
                  << '\n';
    else
        std::cout << "Finished: " << describe_exit(status) << " (handle " << path << " released)\n";
    return exit_code_of(status);
}

int verb_start(Context& ctx, const std::string& id) {
    Borrowed instance(ctx.supervisor(), instance_path(id));
    instance->start();
    const std::string address = instance->address();
    if (ctx.json()) std::cout << json{{"path", instance->path()}, {"address", address}}.dump(2) << '\n';
    else std::cout << "Address: " << address << '\n';
    return exit_ok;
}

int verb_stop(Context& ctx, const std::string& id) {
    const std::string path = instance_path(id);
    // Not Instance::stop(): its timeout assumes the stop mode this process spawned with, and an
    // instance spawned elsewhere may have stop-mode "wait". offshootd bounds the stop itself.
    ctx.proxy(path)->callMethod("Stop").onInterface(names::instance_interface)
        .withTimeout(std::numeric_limits<uint64_t>::max()).storeResultsTo();
    return exit_ok;
}

int verb_kill(Context& ctx, const std::string& id, const std::string& signal) {
    const int sig = parse_signal(signal);
    Borrowed instance(ctx.supervisor(), instance_path(id));
    instance->kill(sig);
    return exit_ok;
}

int verb_wait(Context& ctx, const std::string& id) {
    Borrowed instance(ctx.supervisor(), instance_path(id));
    const offshoot::ExitStatus status = instance->wait();
    if (ctx.json()) {
        std::cout << json{{"result", status.result}, {"code", status.code},
                          {"return_value", return_value_json(ctx, instance->path())}}.dump(2)
                  << '\n';
    } else {
        std::cout << describe_exit(status) << '\n';
        print_return_value(ctx, instance->path());
    }
    return exit_code_of(status);
}

int verb_release(Context& ctx, const std::string& id) {
    Borrowed instance(ctx.supervisor(), instance_path(id));
    instance->release();
    return exit_ok;
}

int verb_release_finished(Context& ctx) {
    const uint32_t me = ::geteuid();
    std::vector<std::string> released;
    for (auto& i : ctx.supervisor().instances()) {
        if (i.state != "exited" && i.state != "failed") continue;
        // Others' handles are theirs to release (offshootd would refuse): root releases all.
        if (me != 0 && instance_properties(ctx, i.path).at("OwnerUid").get<uint32_t>() != me) continue;
        try {
            ctx.proxy(i.path)->callMethod("Release").onInterface(names::instance_interface).storeResultsTo();
            released.push_back(i.path);
        } catch (const sdbus::Error& e) {
            // Gone meanwhile (its owner left, someone else released it): nothing to do.
            if (e.getName() != "org.freedesktop.DBus.Error.UnknownObject") throw;
        }
    }
    if (ctx.json()) std::cout << json{{"released", released}}.dump(2) << '\n';
    else
        for (auto& path : released) std::cout << "Released " << path << '\n';
    return exit_ok;
}

}  // namespace offshootctl

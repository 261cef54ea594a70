// offshoot-demo — spawns a Counter and two Identity instances as another user (nobody by
// default), each Identity in a working directory of its own, calls them through proxies
// generated from the classes' XML, and prints who and where each one runs next to the demo
// itself. Every claim in the table is checked against the kernel's view (/proc/PID) first;
// any mismatch is an error. At the end of the scope the instances are stopped (RAII) and the
// demo checks that their processes are gone.
//
//   offshoot-demo --address=ADDR [--uid=65534] [--gid=GID] [--dir-a=PATH --dir-b=PATH]
#include <sys/stat.h>
#include <sys/types.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include <offshoot/client.hpp>

#include "proxies.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A claim the demo makes that turned out false.
struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// What the demo is doing, for error messages ("while spawning Counter: …").
std::string step = "starting";

void check(bool ok, const std::string& what) {
    if (!ok)
        throw Failure(what);
}

struct Args {
    std::string address;  // empty: the system bus
    uint32_t uid = 65534;
    std::optional<uint32_t> gid;
    std::string dir_a;
    std::string dir_b;
};

// What the kernel says about a process.
struct ProcView {
    std::array<unsigned long, 4> uids{};  // real, effective, saved, filesystem
    std::array<unsigned long, 4> gids{};
    std::string cwd;
};

ProcView read_proc(uint32_t pid) {
    const fs::path dir = fs::path("/proc") / std::to_string(pid);
    std::ifstream status(dir / "status");
    check(status.good(), "cannot read " + (dir / "status").string() + ": no such process?");
    ProcView view;
    bool have_uid = false;
    bool have_gid = false;
    for (std::string line; std::getline(status, line);) {
        std::istringstream fields(line);
        std::string key;
        fields >> key;
        if (key == "Uid:")
            have_uid = static_cast<bool>(fields >> view.uids[0] >> view.uids[1] >> view.uids[2] >>
                                         view.uids[3]);
        else if (key == "Gid:")
            have_gid = static_cast<bool>(fields >> view.gids[0] >> view.gids[1] >> view.gids[2] >>
                                         view.gids[3]);
    }
    check(have_uid && have_gid, "cannot parse " + (dir / "status").string());
    std::error_code ec;
    view.cwd = fs::read_symlink(dir / "cwd", ec).string();
    check(!ec, "cannot read " + (dir / "cwd").string() + ": " + ec.message());
    return view;
}

bool all_equal(const std::array<unsigned long, 4>& ids, uint32_t expected) {
    return std::all_of(ids.begin(), ids.end(), [&](unsigned long id) { return id == expected; });
}

// Checks that the process runs as uid/gid (all four ids) in `cwd`, per /proc.
void verify_process(const std::string& who, uint32_t pid, uint32_t uid, uint32_t gid,
                    const std::string& cwd) {
    check(pid != 0, who + ": MainPID is 0 (not running?)");
    check(pid != static_cast<uint32_t>(getpid()), who + ": runs in the demo's own process");
    ProcView view = read_proc(pid);
    check(all_equal(view.uids, uid),
          who + ": /proc/" + std::to_string(pid) + " uids are not all " + std::to_string(uid));
    check(all_equal(view.gids, gid),
          who + ": /proc/" + std::to_string(pid) + " gids are not all " + std::to_string(gid));
    check(view.cwd == cwd, who + ": /proc/" + std::to_string(pid) + "/cwd is " + view.cwd +
                               ", expected " + cwd);
}

// Two working directories the target user may enter and write, under a fresh temporary
// directory (used when --dir-a/--dir-b are not given; removed at the end).
class TempDirs {
public:
    TempDirs(uint32_t uid, uint32_t gid) {
        std::string templ = (fs::temp_directory_path() / "offshoot-demo-XXXXXX").string();
        check(mkdtemp(templ.data()) != nullptr, "mkdtemp failed");
        base_ = templ;
        // mkdtemp makes it 0700; the target user must be able to pass through it.
        fs::permissions(base_, fs::perms(0755));
        for (const char* name : {"a", "b"}) {
            fs::path dir = base_ / name;
            fs::create_directory(dir);
            check(chown(dir.c_str(), uid, gid) == 0, "cannot chown " + dir.string());
        }
    }
    ~TempDirs() {
        std::error_code ec;
        fs::remove_all(base_, ec);
    }
    TempDirs(const TempDirs&) = delete;
    TempDirs& operator=(const TempDirs&) = delete;

    fs::path a() const { return base_ / "a"; }
    fs::path b() const { return base_ / "b"; }

private:
    fs::path base_;
};

// Collects the Exited statuses that Instance::on_exit reports (on the supervisor's loop thread).
class ExitLog {
public:
    std::function<void(const offshoot::ExitStatus&)> recorder(std::string who) {
        return [this, who = std::move(who)](const offshoot::ExitStatus& status) {
            {
                std::lock_guard lock(mutex_);
                statuses_[who] = status;
            }
            arrived_.notify_all();
        };
    }
    bool wait_for(size_t count, std::chrono::milliseconds deadline) {
        std::unique_lock lock(mutex_);
        return arrived_.wait_for(lock, deadline, [&] { return statuses_.size() >= count; });
    }
    std::map<std::string, offshoot::ExitStatus> statuses() {
        std::lock_guard lock(mutex_);
        return statuses_;
    }

private:
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::map<std::string, offshoot::ExitStatus> statuses_;
};

using Row = std::array<std::string, 7>;

void print_table(const std::vector<Row>& rows) {
    std::array<size_t, 7> width{};
    for (const auto& row : rows)
        for (size_t i = 0; i < row.size(); ++i)
            width[i] = std::max(width[i], row[i].size());
    for (const auto& row : rows) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size())
                line += std::string(width[i] - row[i].size() + 2, ' ');
        }
        std::cout << line << '\n';
    }
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    check(in.good(), "cannot read " + path.string());
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
}

bool process_gone(uint32_t pid, std::chrono::milliseconds deadline) {
    // A zombie keeps its /proc entry, so this also shows that offshootd reaped it.
    auto end = std::chrono::steady_clock::now() + deadline;
    while (fs::exists(fs::path("/proc") / std::to_string(pid))) {
        if (std::chrono::steady_clock::now() >= end)
            return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

int run(const Args& args) {
    std::optional<uint32_t> user_gid = args.gid;
    if (!user_gid) {
        const passwd* pw = getpwuid(args.uid);
        check(pw != nullptr,
              "uid " + std::to_string(args.uid) + " has no passwd entry; pass --gid=GID");
        user_gid = pw->pw_gid;
    }
    const uint32_t uid = args.uid;
    const uint32_t gid = *user_gid;

    step = "preparing the working directories";
    std::optional<TempDirs> temp;
    fs::path dir_a = args.dir_a;
    fs::path dir_b = args.dir_b;
    if (dir_a.empty() || dir_b.empty()) {
        temp.emplace(uid, gid);
        dir_a = temp->a();
        dir_b = temp->b();
    }
    dir_a = fs::canonical(dir_a);
    dir_b = fs::canonical(dir_b);

    ExitLog exits;  // outlives the supervisor and the instances that report to it
    step = "connecting to offshootd on " + (args.address.empty() ? "the system bus" : args.address);
    auto sup = args.address.empty() ? offshoot::Supervisor::system()
                                    : offshoot::Supervisor::at(args.address);
    std::cout << "offshootd " << sup.version() << " on "
              << (args.address.empty() ? "the system bus" : args.address) << "\n\n";

    std::vector<Row> rows{{"CLASS", "INSTANCE", "PID", "UID", "GID", "CWD", "CALL → RESULT"}};
    std::vector<uint32_t> pids;
    {
        offshoot::SpawnOptions as_user{.uid = uid, .gid = args.gid};

        // Counter: calls, a property and a signal through its generated proxy.
        step = "spawning Counter";
        auto counter = offshoot::make_bridge<demo::CounterProxy>(sup, "Counter", as_user);
        counter.instance().on_exit(exits.recorder("Counter"));
        step = "calling Counter";
        int64_t first = counter->Increment(5);
        int64_t second = counter->Increment(2);
        check(first == 5 && second == 7, "Counter.Increment answered " + std::to_string(first) +
                                             ", " + std::to_string(second) + " (expected 5, 7)");
        check(counter->Value() == 7, "Counter.Value is not 7");
        check(counter->wait_for_changed(7, 2s), "no Changed(7) signal within 2 s");

        // Two Identities, each in its own directory, each writing a file there.
        auto spawn_identity = [&](const fs::path& dir) {
            step = "spawning Identity in " + dir.string();
            offshoot::SpawnOptions options = as_user;
            options.cwd = dir.string();
            return offshoot::make_bridge<demo::IdentityProxy>(sup, "Identity", options);
        };
        auto identity_a = spawn_identity(dir_a);
        auto identity_b = spawn_identity(dir_b);
        identity_a.instance().on_exit(exits.recorder("Identity A"));
        identity_b.instance().on_exit(exits.recorder("Identity B"));

        // Counter row: the handle's properties, checked against /proc.
        step = "checking Counter";
        uint32_t counter_pid = counter.instance().pid();
        std::string counter_cwd = read_proc(counter_pid).cwd;
        verify_process("Counter", counter_pid, uid, gid, counter_cwd);
        check(counter.instance().uid() == uid && counter.instance().gid() == gid,
              "Counter: the handle's Uid/Gid disagree with the request");
        rows.push_back({"Counter", counter.instance().path(), std::to_string(counter_pid),
                        std::to_string(uid), std::to_string(gid), counter_cwd,
                        "Increment(5)=5, Increment(2)=7, Changed(7) received"});
        pids.push_back(counter_pid);

        // Identity rows: what each instance says about itself, checked against /proc, plus a
        // file written relative to its own cwd, read back here by the (root) demo.
        int n = 0;
        for (auto* identity : {&identity_a, &identity_b}) {
            const fs::path& dir = n++ == 0 ? dir_a : dir_b;
            const std::string who = "Identity in " + dir.string();
            step = "calling " + who;
            auto [self_uid, self_gid, self_groups, self_cwd, self_pid] = (*identity)->Describe();
            check(self_uid == uid && self_gid == gid,
                  who + ": Describe() says uid " + std::to_string(self_uid) + " gid " +
                      std::to_string(self_gid));
            check(self_cwd == dir.string(), who + ": Describe() says cwd " + self_cwd);
            check(self_pid == identity->instance().pid(),
                  who + ": Describe() pid differs from the handle's MainPID");
            verify_process(who, self_pid, uid, gid, dir.string());

            const std::string content = "written by pid " + std::to_string(self_pid) + "\n";
            (*identity)->WriteFile("greeting.txt", content);
            struct stat st {};
            check(stat((dir / "greeting.txt").c_str(), &st) == 0,
                  who + ": WriteFile left no " + (dir / "greeting.txt").string());
            check(st.st_uid == uid, who + ": greeting.txt is not owned by uid " +
                                        std::to_string(uid));
            check(read_file(dir / "greeting.txt") == content,
                  who + ": greeting.txt does not hold what was written");
            rows.push_back({"Identity", identity->instance().path(), std::to_string(self_pid),
                            std::to_string(self_uid), std::to_string(self_gid), self_cwd,
                            "Describe() ok; WriteFile(greeting.txt) → file owned by uid " +
                                std::to_string(st.st_uid)});
            pids.push_back(self_pid);
        }

        std::sort(pids.begin(), pids.end());
        check(std::adjacent_find(pids.begin(), pids.end()) == pids.end(),
              "two instances share a process");
        rows.push_back({"(demo)", "this process", std::to_string(getpid()),
                        std::to_string(getuid()), std::to_string(getgid()),
                        fs::current_path().string(), "spawned and called the three above"});
        print_table(rows);
        std::cout << "\nstopping the instances (end of scope) …\n";
        step = "stopping the instances";
    }  // ← the private connections close and the instances are stopped here

    step = "checking that the instances ended";
    check(exits.wait_for(3, 5s), "not every instance reported Exited within 5 s");
    for (const auto& [who, status] : exits.statuses())
        std::cout << "  " << who << ": " << status.result << " (" << status.code << ")\n";
    for (uint32_t pid : pids)
        check(process_gone(pid, 2s), "process " + std::to_string(pid) + " is still there");
    std::cout << "all " << pids.size() << " instance processes are gone.\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Args args;
    CLI::App app{"offshoot-demo: run class instances as another user, each in its own directory"};
    app.add_option("--address", args.address,
                   "D-Bus address of the bus offshootd serves (default: the system bus)");
    app.add_option("--uid", args.uid, "uid to run the instances as")->capture_default_str();
    app.add_option("--gid", args.gid, "gid (default: the user's primary group)");
    auto* a = app.add_option("--dir-a", args.dir_a, "working directory of the first Identity");
    auto* b = app.add_option("--dir-b", args.dir_b, "working directory of the second Identity");
    a->needs(b);
    b->needs(a);
    CLI11_PARSE(app, argc, argv);

    try {
        return run(args);
    } catch (const offshoot::Error& e) {
        std::cerr << "offshoot-demo: while " << step << ": " << e.getName() << ": "
                  << e.getMessage() << '\n';
    } catch (const Failure& e) {
        std::cerr << "offshoot-demo: FAILED while " << step << ": " << e.what() << '\n';
    } catch (const std::exception& e) {
        std::cerr << "offshoot-demo: while " << step << ": " << e.what() << '\n';
    }
    return 1;
}

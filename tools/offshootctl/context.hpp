// context.hpp — what every offshootctl verb shares: the global options, the connection to
// offshootd, the output mode, and the two kinds of failure with their exit codes.
//
// Exit codes: 0 ok; 1 an error answered over D-Bus (printed as "Error <name>: <message>") or
// another runtime failure; 2 a usage error. `spawn --wait` and `wait` exit with the instance's
// own status instead (see exit_code_of).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <offshoot/client.hpp>
#include <sdbus-c++/sdbus-c++.h>

namespace offshootctl {

using json = nlohmann::ordered_json;

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

// A mistake on the command line found after parsing (a bad ID, a malformed call argument).
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class BusKind { system, session, address, remote };

struct Globals {
    BusKind bus = BusKind::system;
    std::string address;  // with BusKind::address
    std::string host;     // with BusKind::remote: [user@]host[:port], the system bus there
    bool json = false;
};

// The connection to offshootd plus the output mode; opened lazily by the verbs that need it.
class Context {
public:
    explicit Context(Globals globals);

    const Globals& globals() const noexcept { return globals_; }
    bool json() const noexcept { return globals_.json; }
    // offshootd runs on another host (--host): its uids, gids and pids are not this machine's.
    bool remote() const noexcept { return globals_.bus == BusKind::remote; }
    // An instance's private address as this process reaches it: as it is, or through ssh.
    std::string reachable(const std::string& address) const;
    bool stdout_is_tty() const noexcept { return tty_; }

    offshoot::Supervisor& supervisor();
    // A plain sdbus-c++ proxy on an object of offshootd, over the supervisor's connection.
    std::unique_ptr<sdbus::IProxy> proxy(const std::string& path);

private:
    Globals globals_;
    bool tty_ = false;
    std::optional<offshoot::Supervisor> supervisor_;
};

// "3" or "/org/offshoot1/instance/3" → the handle's path; anything else is a UsageError.
std::string instance_path(const std::string& id);
// The decimal id at the end of a handle path ("" if it has none).
std::string id_of(const std::string& path);

// Every org.offshoot1.Instance property of the handle at `path` (one GetAll).
std::map<std::string, sdbus::Variant> instance_properties(Context& ctx, const std::string& path);

// DescribeClasses: name, interface and the policy facts of every configured class.
struct ClassDescription {
    std::string name;
    std::string interface;
    std::vector<std::string> allowed_users;
    std::vector<std::string> allowed_callers;  // empty: root only
    bool allow_any_group = false;
    std::string working_directory;
    std::optional<uint32_t> umask;
    std::string source;
    // What contains its instances, under the SpawnWithOptions key names ("memory-max",
    // "private-tmp", …), in systemd's spelling: "64M", "20%", "yes", "strict", "/a /b".
    std::map<std::string, std::string> containment;
};
std::vector<ClassDescription> describe_classes(Context& ctx);

// How long ago a process started, from /proc/PID/stat (offshootd has no start-time property
// yet), in microseconds; -1 when PID isn't a live process of `uid` here.
int64_t process_age_usec(uint32_t pid, uint32_t uid);
// "4s", "3min 2s", "2h 5min", "3d 4h" (systemd's style, two units at most).
std::string format_age(int64_t usec);

// The process's exit status for the shell: 0 for success, the exit code for exit-code,
// 128+signal for signal and core-dump (as shells report it), 1 for anything else.
int exit_code_of(const offshoot::ExitStatus& status);

// Prints an error the way every verb does: "Error <name>: <message>" on stderr.
void print_dbus_error(const sdbus::Error& e);

// An existing handle taken over through liboffshoot-client for one verb, handed back (never
// stopped) when the verb ends, however it ends.
class Borrowed {
public:
    Borrowed(offshoot::Supervisor& sup, const std::string& path) : instance_(sup.adopt(path)) {}
    ~Borrowed() {
        if (instance_) instance_.detach();
    }
    Borrowed(const Borrowed&) = delete;
    Borrowed& operator=(const Borrowed&) = delete;
    offshoot::Instance* operator->() noexcept { return &instance_; }
    offshoot::Instance& get() noexcept { return instance_; }

private:
    offshoot::Instance instance_;
};

}  // namespace offshootctl

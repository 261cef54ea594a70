// class_config.hpp — the class configuration: which plugin a class name maps
// to, who may spawn it as whom, and how its worker is set up.
//
// INI files (inih), `<dir>/*.conf`, read from several directories in order; a file in a later
// directory replaces the file of the same name in an earlier one (systemd's override rule),
// e.g. vendor `<prefix>/lib/offshoot/classes.d` < `/etc/offshoot/classes.d` < `--config-dir`.
//
//   [Class]   Name=Counter  Plugin=counter.so  Interface=org.offshoot1.example.Counter
//   [Access]  AllowedUsers=nobody 1000-60000 @staff   AllowedCallers=root @adm
//   [Exec]    WorkingDirectory=/  UMask=0077  Environment=KEY=VALUE …
//             LimitNOFILE=1024  LimitNPROC=64  LimitAS=1G  LimitCORE=0  LimitCPU=60  (N or SOFT:HARD)
//             SystemCallFilter=@system-service ~chdir   SystemCallErrorNumber=EPERM
//             MaxConnections=256  Dumpable=no
//             MemoryMax=64M  TasksMax=16  CPUQuota=20%  PrivateTmp=yes  ProtectSystem=strict …
//             (resources and sandbox: config/containment.hpp)
#pragma once

#include "config/containment.hpp"
#include "config/restart.hpp"

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace offshoot {

// A per-class resource limit (setrlimit) applied to the worker before the uid switch.
struct ResourceLimit {
    int resource = 0;       // RLIMIT_*
    unsigned long long soft = 0;  // RLIM_INFINITY for "infinity"
    unsigned long long hard = 0;
};

struct ClassConfig {
    std::string name;
    std::string plugin;     // absolute after resolution
    std::string interface;
    std::string source;     // the file it came from
    std::vector<std::string> allowed_users;    // tokens as written
    std::vector<std::string> allowed_callers;  // tokens as written; empty = root only
    bool allow_any_group = false;
    std::string working_directory = "/";
    std::optional<mode_t> umask;
    std::vector<std::string> environment;      // KEY=VALUE
    std::vector<ResourceLimit> limits;
    std::vector<std::string> syscall_filter;   // tokens as written; empty = no filter
    std::optional<int> syscall_errno;          // SystemCallErrorNumber=; unset = kill (SIGSYS)
    uint32_t max_connections = 256;            // MaxConnections=: peers connected at once
    bool dumpable = false;                     // Dumpable=: may dump core (and be ptraced by its uid)
    Containment containment;                   // cgroup limits and namespaces (config/containment.hpp)
    RestartSettings restart;                   // Restart=, RestartSec=, StartLimit*= (config/restart.hpp)
};

// A class configuration file that cannot be used: offshootd logs it at start-up, lists it
// (ListBrokenClasses, `offshootctl classes`) and answers a Spawn of its class with the reason.
struct BrokenClass {
    std::string name;     // the Name= it gives; "" when none could be read
    std::string source;   // the file
    std::string problem;  // why it is not used, e.g. "line 3: Plugin= must be …"
};

struct ClassConfigResult {
    std::map<std::string, ClassConfig> classes;  // by class name
    std::vector<BrokenClass> broken;             // files that give no usable class
    std::vector<std::string> warnings;           // usable, but worth saying (a file overriding another)
};

// Parses one file's text. Returns nullopt and sets `error` when the file is not a valid class;
// `name`, when given, receives the Name= the text gives even then (so a broken file can be
// named by its class). `plugin_dir` resolves relative Plugin= names.
std::optional<ClassConfig> parse_class_config(std::string_view text, const std::string& source,
                                              const std::string& plugin_dir, std::string& error,
                                              std::string* name = nullptr);

// Loads every `*.conf` of `dirs` (later directories override earlier files of the same name).
// A class whose Plugin= is not a regular file at that moment is broken too: the worker could
// only fail to load it. (Whether the instance's user may read it is the worker's to find out.)
ClassConfigResult load_class_configs(const std::vector<std::string>& dirs,
                                     const std::string& plugin_dir);

// Parses a Limit*= value: "N", "SOFT:HARD" or "infinity", with K/M/G/T (×1024) suffixes.
bool parse_limit_value(std::string_view text, unsigned long long& soft, unsigned long long& hard);

// Splits a whitespace-separated list, honouring nothing fancier (as systemd's list settings).
std::vector<std::string> split_words(std::string_view text);

}  // namespace offshoot

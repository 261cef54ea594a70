// offshoot/common/class_config.hpp — the class configuration: which plugin a class name maps
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
#pragma once

#include <sys/types.h>

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
};

struct ClassConfigResult {
    std::map<std::string, ClassConfig> classes;  // by class name
    std::vector<std::string> warnings;           // files skipped, and why
};

// Parses one file's text. Returns nullopt and sets `error` when the file is not a valid class.
// `plugin_dir` resolves relative Plugin= names.
std::optional<ClassConfig> parse_class_config(std::string_view text, const std::string& source,
                                              const std::string& plugin_dir, std::string& error);

// Loads every `*.conf` of `dirs` (later directories override earlier files of the same name).
ClassConfigResult load_class_configs(const std::vector<std::string>& dirs,
                                     const std::string& plugin_dir);

// Parses a Limit*= value: "N", "SOFT:HARD" or "infinity", with K/M/G/T (×1024) suffixes.
bool parse_limit_value(std::string_view text, unsigned long long& soft, unsigned long long& hard);

// Splits a whitespace-separated list, honouring nothing fancier (as systemd's list settings).
std::vector<std::string> split_words(std::string_view text);

}  // namespace offshoot

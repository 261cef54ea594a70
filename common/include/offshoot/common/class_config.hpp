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
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace offshoot {

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

// Splits a whitespace-separated list, honouring nothing fancier (as systemd's list settings).
std::vector<std::string> split_words(std::string_view text);

}  // namespace offshoot

// syscall_sets.hpp — named groups of system calls for a class's
// SystemCallFilter= (an allow-list, in the spirit of systemd's @system-service).
//
//   SystemCallFilter=@system-service ~chdir   allow the group, then take chdir back out
//
// Groups are offshoot's own definitions (listed in the README); single names are resolved
// with libseccomp for the running architecture.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace offshoot {

// The syscall names of a group ("@file-system"), or nullopt for an unknown group.
std::optional<std::vector<std::string_view>> syscall_group(std::string_view name);
// Names of all groups, for messages.
std::vector<std::string_view> syscall_group_names();

// Resolves a SystemCallFilter= token list to syscall numbers for this architecture. Entries
// are added in order; "~name" or "~@group" removes. Names inside groups that this
// architecture lacks are skipped; an unknown single name or group is an error.
// The calls every worker needs to exist at all (execve, exit_group, …) are always kept.
std::optional<std::set<int>> resolve_syscall_filter(const std::vector<std::string>& tokens,
                                                    std::string& error);

// "EPERM" or a number → errno value; nullopt if neither.
std::optional<int> parse_errno_name(std::string_view text);

}  // namespace offshoot

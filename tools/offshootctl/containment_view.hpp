// containment_view.hpp — the "what contains it" block of `offshootctl status`, in the spirit of
// `systemd-analyze security`: what the kernel enforces on the worker right now, read from
// /proc/PID (ids, capabilities, no_new_privs, seccomp, resource limits, namespaces compared
// with offshootctl's own), next to the cgroup limits and the private view offshootd reports.
// Reading another user's /proc/PID/ns needs root; what cannot be read says so.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace offshootctl {

struct ContainmentView {
    // (label, value) lines, in order; empty when the process could not be read at all.
    std::vector<std::pair<std::string, std::string>> lines;
    std::string unreadable;  // why nothing of the process could be read ("" when it could)
    nlohmann::json facts = nlohmann::json::object();  // the same for --json
};

// systemctl status's spellings: "568.0K", "64.0M"; "3.902ms", "1.250s".
std::string human_bytes(uint64_t bytes);
std::string human_cpu(uint64_t nsec);

// `properties`: the instance's org.offshoot1.Instance properties as status reads them
// (MemoryMax … IOWeight as numbers, PrivateTmp … as booleans and strings). pid 0: no process.
// `local`: whether offshootd's pids are this machine's (not over --host).
ContainmentView read_containment(uint32_t pid, uint32_t uid, const nlohmann::json& properties, bool local);

}  // namespace offshootctl

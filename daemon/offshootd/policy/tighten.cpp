// tighten.cpp — see tighten.hpp.
#include "policy/tighten.hpp"

#include "offshoot/common/errors.hpp"

#include <fmt/format.h>

#include <vector>

namespace offshoot {
namespace {

// Ranks, lower = more open: what "tighter" means for the two levels.
int rank(ProtectSystem p) { return static_cast<int>(p); }  // no < yes < full < strict
int rank(ProtectHome p) {
    switch (p) {
    case ProtectHome::no: return 0;
    case ProtectHome::read_only: return 1;  // contents visible, read-only
    case ProtectHome::tmpfs: return 2;      // an empty directory instead
    case ProtectHome::yes: return 3;        // nothing at all
    }
    return 0;
}

std::string describe(uint64_t v) { return v == no_limit ? std::string("infinity") : std::to_string(v); }

void tighten_resources(ResourceControl& out, const ContainmentRequest& req) {
    for (const auto& k : resource_keys) {
        const auto& asked = req[k.id];
        if (!asked) continue;
        // A weight nobody set is the default one: a caller may lower it, not raise it.
        const uint64_t ceiling = k.weight && !out.set(k.id) ? default_weight : out[k.id];
        if (*asked > ceiling)
            fail(errors::access_denied,
                 "{} {} would loosen the class's {}={}: a caller may only tighten what its class sets", k.option,
                 describe(*asked), k.config,
                 k.weight && !out.set(k.id) ? fmt::format("{} (the default)", default_weight) : describe(ceiling));
        out[k.id] = *asked;
    }
}

void tighten_switch(bool& field, const std::optional<bool>& asked, const char* option, const char* config) {
    if (!asked) return;
    if (field && !*asked)
        fail(errors::access_denied, "{} false would remove the class's {}=yes: a caller may only add to its sandbox",
             option, config);
    field = *asked;
}

template <class Level>
void tighten_level(Level& field, const std::optional<Level>& asked, const char* option, const char* config) {
    if (!asked) return;
    if (rank(*asked) < rank(field))
        fail(errors::access_denied, "{} '{}' would loosen the class's {}={}: a caller may only tighten it", option,
             to_string(*asked), config, to_string(field));
    field = *asked;
}

// "/a//b/./c/" → the components a, b, c.
std::vector<std::string_view> components(std::string_view p) {
    std::vector<std::string_view> out;
    for (size_t i = 0; i < p.size();) {
        size_t j = p.find('/', i);
        if (j == std::string_view::npos) j = p.size();
        const std::string_view part = p.substr(i, j - i);
        if (!part.empty() && part != ".") out.push_back(part);
        i = j + 1;
    }
    return out;
}

// Whether `cwd` lies strictly below `dir`.
bool below(std::string_view cwd, std::string_view dir) { return path_within(cwd, dir) && !path_within(dir, cwd); }

}  // namespace

bool path_within(std::string_view path, std::string_view prefix) {
    const auto p = components(path), q = components(prefix);
    if (q.size() > p.size()) return false;
    for (size_t i = 0; i < q.size(); ++i)
        if (p[i] != q[i]) return false;
    return true;
}

Containment tighten(const Containment& cls, const ContainmentRequest& req) {
    Containment c = cls;
    tighten_resources(c.resources, req);
    Sandbox& s = c.sandbox;
    tighten_switch(s.private_tmp, req.private_tmp, "private-tmp", "PrivateTmp");
    tighten_switch(s.private_network, req.private_network, "private-network", "PrivateNetwork");
    tighten_switch(s.private_devices, req.private_devices, "private-devices", "PrivateDevices");
    tighten_level(s.protect_system, req.protect_system, "protect-system", "ProtectSystem");
    tighten_level(s.protect_home, req.protect_home, "protect-home", "ProtectHome");
    s.read_only_paths.insert(s.read_only_paths.end(), req.read_only_paths.begin(), req.read_only_paths.end());
    s.inaccessible_paths.insert(s.inaccessible_paths.end(), req.inaccessible_paths.begin(), req.inaccessible_paths.end());
    return c;
}

void check_cwd_reachable(const Sandbox& s, const std::string& cwd) {
    auto refuse = [&](const std::string& why) {
        fail(errors::invalid_argument, "the working directory {} is hidden by {}: the worker could not enter it", cwd, why);
    };
    for (const auto& entry : s.inaccessible_paths)
        if (path_within(cwd, sandbox_path(entry))) refuse("InaccessiblePaths=" + std::string(sandbox_path(entry)));
    if (s.private_tmp)
        for (const char* dir : {"/tmp", "/var/tmp"})
            if (below(cwd, dir)) refuse(fmt::format("PrivateTmp=yes (the instance gets an empty {} of its own)", dir));
    if (s.protect_home == ProtectHome::yes || s.protect_home == ProtectHome::tmpfs)
        for (const char* dir : {"/home", "/root", "/run/user"})
            if (s.protect_home == ProtectHome::yes ? path_within(cwd, dir) : below(cwd, dir))
                refuse(fmt::format("ProtectHome={} ({} {})", to_string(s.protect_home), dir,
                                   s.protect_home == ProtectHome::yes ? "is inaccessible" : "is an empty tmpfs"));
    if (s.private_devices && below(cwd, "/dev") && !path_within(cwd, "/dev/shm"))
        refuse("PrivateDevices=yes (a /dev of its own with the basic device nodes only)");
}

}  // namespace offshoot

// users.cpp — user database look-ups and the spawn policy.
#include "policy/users.hpp"

#include "offshoot/common/errors.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace offshoot {
namespace {

std::optional<uint32_t> parse_number(std::string_view s) {
    uint32_t v = 0;
    // Canonical decimal only: "00" or "+0" is neither a number nor (starting with a digit or
    // sign) a name, so it matches nobody.
    if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<uid_t> lookup_user_name(const std::string& name) {
    std::vector<char> buf(16384);
    passwd pw{}, *res = nullptr;
    if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res) != 0 || !res) return std::nullopt;
    return pw.pw_uid;
}

std::optional<gid_t> lookup_group_name(const std::string& name) {
    std::vector<char> buf(65536);
    group gr{}, *res = nullptr;
    if (getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &res) != 0 || !res) return std::nullopt;
    return gr.gr_gid;
}

bool listed(const std::vector<std::string>& tokens, uid_t uid, const std::vector<gid_t>& groups) {
    return std::any_of(tokens.begin(), tokens.end(),
                       [&](const std::string& t) { return token_matches(t, uid, groups); });
}

// uid 0 is only ever allowed by a token that names it alone: "root" or "0", never a range.
bool lists_root_explicitly(const std::vector<std::string>& tokens) {
    return std::any_of(tokens.begin(), tokens.end(),
                       [](const std::string& t) { return t == "root" || t == "0"; });
}

}  // namespace

std::optional<UserInfo> lookup_user(uid_t uid) {
    std::vector<char> buf(16384);
    passwd pw{}, *res = nullptr;
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) != 0 || !res) return std::nullopt;
    UserInfo u;
    u.uid = pw.pw_uid;
    u.gid = pw.pw_gid;
    u.name = pw.pw_name ? pw.pw_name : "";
    if (pw.pw_dir && pw.pw_dir[0] == '/') u.home = pw.pw_dir;
    if (pw.pw_shell && pw.pw_shell[0] == '/') u.shell = pw.pw_shell;
    return u;
}

std::vector<gid_t> user_groups(const UserInfo& user) {
    int n = 64;
    std::vector<gid_t> g(static_cast<size_t>(n));
    while (getgrouplist(user.name.c_str(), user.gid, g.data(), &n) < 0) {
        if (n > 65536) break;
        g.resize(static_cast<size_t>(n));
    }
    g.resize(static_cast<size_t>(std::max(n, 0)));
    std::sort(g.begin(), g.end());
    g.erase(std::unique(g.begin(), g.end()), g.end());
    return g;
}

bool token_matches(const std::string& t, uid_t uid, const std::vector<gid_t>& groups) {
    if (t.empty()) return false;
    if (t[0] == '@') {
        auto name = t.substr(1);
        std::optional<gid_t> gid = parse_number(name);
        if (!gid) gid = lookup_group_name(name);
        return gid && std::find(groups.begin(), groups.end(), *gid) != groups.end();
    }
    if (auto dash = t.find('-'); dash != std::string::npos && dash > 0) {
        auto lo = parse_number(std::string_view(t).substr(0, dash));
        auto hi = parse_number(std::string_view(t).substr(dash + 1));
        if (lo && hi) return uid >= *lo && uid <= *hi && uid != 0;
    }
    if (auto n = parse_number(t)) return uid == *n;
    if (std::isdigit(static_cast<unsigned char>(t[0]))) return false;  // "12abc": never a name
    auto u = lookup_user_name(t);
    return u && *u == uid;
}

void authorize_spawn(const ClassConfig& cls, const Caller& caller, uid_t target, gid_t gid,
                     const std::vector<gid_t>& groups, const std::optional<UserInfo>& target_user) {
    std::vector<gid_t> caller_groups;
    if (auto cu = lookup_user(caller.uid)) caller_groups = user_groups(*cu);
    const bool caller_allowed =
        caller.uid == 0 ? (cls.allowed_callers.empty() || listed(cls.allowed_callers, 0, caller_groups))
                        : listed(cls.allowed_callers, caller.uid, caller_groups);

    std::vector<gid_t> target_groups;
    if (target_user) target_groups = user_groups(*target_user);

    if (target == 0 && !lists_root_explicitly(cls.allowed_users))
        fail(errors::access_denied,
             "class {} may not run as root: its AllowedUsers= does not name root explicitly", cls.name);

    if (target != caller.uid || target == 0) {
        if (!listed(cls.allowed_users, target, target_groups))
            fail(errors::access_denied, "class {} may not run as uid {}: not in its AllowedUsers=",
                 cls.name, target);
        if (!caller_allowed)
            fail(errors::access_denied,
                 "uid {} may not spawn class {} as another user: not in its AllowedCallers=",
                 caller.uid, cls.name);
    }

    // Groups: the target user's own, unless root asks and the class allows any group.
    const bool any_group = caller.uid == 0 && cls.allow_any_group;
    if (!any_group) {
        auto member = [&](gid_t g) {
            return std::find(target_groups.begin(), target_groups.end(), g) != target_groups.end();
        };
        if (!target_user)
            fail(errors::access_denied,
                 "uid {} has no user database entry, so its groups cannot be checked; "
                 "only root may spawn it, and only for a class with AllowAnyGroup=yes", target);
        if (!member(gid))
            fail(errors::access_denied, "gid {} is not a group of user {}", gid, target_user->name);
        for (auto g : groups)
            if (!member(g))
                fail(errors::access_denied, "group {} is not a group of user {}", g, target_user->name);
    }
}

}  // namespace offshoot

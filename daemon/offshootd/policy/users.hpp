// users.hpp — the user database and the class access policy.
//
// Everything here runs before fork: the child of a spawn only uses what was resolved here.
#pragma once

#include "config/class_config.hpp"

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace offshoot {

struct UserInfo {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string name;
    std::string home = "/";
    std::string shell = "/usr/sbin/nologin";
};

std::optional<UserInfo> lookup_user(uid_t uid);
// The user's primary group plus every group listing them (getgrouplist).
std::vector<gid_t> user_groups(const UserInfo& user);

// Whether `uid` (with its groups) matches one policy token: a user name, a decimal uid,
// a range "A-B", or "@group". Names are resolved through the user database; a name that
// looks like a number is only ever read as a number, so "0" can't sneak in as a name.
bool token_matches(const std::string& token, uid_t uid, const std::vector<gid_t>& groups);

struct Caller {
    uid_t uid = 0;
    std::string unique_name;
};

// Decides whether `caller` may spawn `cls` as `target` with `gid`/`groups`.
// Throws AccessDenied with the reason. (The policy is documented in README "Security".)
void authorize_spawn(const ClassConfig& cls, const Caller& caller, uid_t target, gid_t gid,
                     const std::vector<gid_t>& groups, const std::optional<UserInfo>& target_user);

}  // namespace offshoot

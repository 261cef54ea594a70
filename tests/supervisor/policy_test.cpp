// policy_test.cpp — who may spawn which class as whom.
#include "offshoot/common/errors.hpp"
#include "policy/users.hpp"

#include <gtest/gtest.h>

namespace offshoot {
namespace {

ClassConfig cls(std::vector<std::string> users, std::vector<std::string> callers = {}) {
    ClassConfig c;
    c.name = "X";
    c.allowed_users = std::move(users);
    c.allowed_callers = std::move(callers);
    return c;
}

std::string denial(const ClassConfig& c, uid_t caller, uid_t target, std::optional<gid_t> gid = {}) {
    auto user = lookup_user(target);
    const gid_t g = gid.value_or(user ? user->gid : 0);
    const std::vector<gid_t> groups = user ? user_groups(*user) : std::vector<gid_t>{};
    try {
        authorize_spawn(c, Caller{caller, ":1.1"}, target, g, groups, user);
    } catch (const Error& e) {
        EXPECT_EQ(e.getName(), errors::access_denied);
        return e.getMessage();
    }
    return "";
}

TEST(ThePolicy, LetsRootSpawnAListedUserAndACallerSpawnItself) {
    EXPECT_EQ(denial(cls({"nobody"}), 0, 65534), "");
    EXPECT_EQ(denial(cls({}), 1, 1), "");  // uid 1 (daemon) as itself, no policy needed
}

TEST(ThePolicy, RefusesAnotherUserUnlessBothListsAgree) {
    EXPECT_NE(denial(cls({"daemon"}), 0, 65534), "");           // target not listed
    EXPECT_NE(denial(cls({"nobody"}), 1, 65534), "");           // caller not in AllowedCallers
    EXPECT_EQ(denial(cls({"nobody"}, {"1"}), 1, 65534), "");     // both listed
    EXPECT_EQ(denial(cls({"60000-65534"}, {"daemon"}), 1, 65534), "");
}

TEST(ThePolicy, NeverLetsRootInThroughRangesOrNumericLookingNames) {
    EXPECT_NE(denial(cls({"0-65535"}), 0, 0), "");
    for (const char* junk : {"00", "+0", "0x0", "-0", "0-0", "1e3", " 0"})
        EXPECT_NE(denial(cls({junk}), 0, 0), "") << junk;
    EXPECT_EQ(denial(cls({"root"}), 0, 0), "");
    EXPECT_EQ(denial(cls({"0"}), 0, 0), "");
    EXPECT_FALSE(token_matches("00", 0, {}));
    EXPECT_FALSE(token_matches("12abc", 12, {}));
}

TEST(ThePolicy, OnlyAllowsTheTargetUsersOwnGroups) {
    EXPECT_NE(denial(cls({"nobody"}), 0, 65534, /*gid=*/0), "");
    auto c = cls({"nobody"});
    c.allow_any_group = true;
    EXPECT_EQ(denial(c, 0, 65534, /*gid=*/0), "");  // root + AllowAnyGroup=yes
    EXPECT_NE(denial(c, 1, 1, /*gid=*/0), "");      // AllowAnyGroup is for root only
}

}  // namespace
}  // namespace offshoot

// options_test.cpp — offshoot-worker's argv parser.
#include "options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using offshoot::worker::Options;
using offshoot::worker::parse_options;
using offshoot::worker::StopMode;

namespace {

struct Parsed {
    bool ok;
    Options options;
    std::string error;
};

Parsed parse(std::vector<const char*> args) {
    args.insert(args.begin(), "offshoot-worker");
    Parsed p;
    p.ok = parse_options(static_cast<int>(args.size()), args.data(), p.options, p.error);
    return p;
}

}  // namespace

TEST(WorkerOptions, ParsesTheSupervisorsCommandLine) {
    auto p = parse({"--class=Counter", "--plugin=/usr/lib/offshoot/classes/counter.so",
                    "--instance=42", "--owner-uid=1000", "--stop-mode=wait", "--", "a", "--b=c",
                    ""});
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.options.class_name, "Counter");
    EXPECT_EQ(p.options.plugin_path, "/usr/lib/offshoot/classes/counter.so");
    EXPECT_EQ(p.options.instance_id, 42u);
    EXPECT_EQ(p.options.owner_uid, 1000u);
    EXPECT_EQ(p.options.stop_mode, StopMode::wait);
    EXPECT_EQ(p.options.arguments, (std::vector<std::string>{"a", "--b=c", ""}));
}

TEST(WorkerOptions, DefaultsToTerminateAndNoArguments) {
    auto p = parse({"--class=C", "--plugin=/p.so", "--instance=18446744073709551615",
                    "--owner-uid=0"});
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.options.stop_mode, StopMode::terminate);
    EXPECT_EQ(p.options.instance_id, UINT64_MAX);
    EXPECT_TRUE(p.options.arguments.empty());
}

TEST(WorkerOptions, RejectsMissingRequiredOptions) {
    auto p = parse({"--class=C", "--plugin=/p.so", "--instance=1"});
    EXPECT_FALSE(p.ok);
    EXPECT_NE(p.error.find("--owner-uid"), std::string::npos) << p.error;
}

TEST(WorkerOptions, RejectsBadValues) {
    const char* base[] = {"--class=C", "--plugin=/p.so", "--instance=1", "--owner-uid=0"};
    for (const char* bad : {"--owner-uid=-1", "--owner-uid=4294967295", "--owner-uid=4294967296",
                            "--owner-uid=", "--owner-uid=12x", "--owner-uid=+5",
                            "--instance=18446744073709551616", "--plugin=relative.so",
                            "--class=", "--stop-mode=later", "--unknown=1", "positional",
                            "--class"}) {
        std::vector<const char*> args(std::begin(base), std::end(base));
        args.push_back(bad);
        auto p = parse(args);
        EXPECT_FALSE(p.ok) << bad;
        EXPECT_FALSE(p.error.empty()) << bad;
    }
}

TEST(WorkerOptions, AcceptsTheLargestValidUid) {
    auto p = parse({"--class=C", "--plugin=/p.so", "--instance=1", "--owner-uid=4294967294"});
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.options.owner_uid, 4294967294u);
}

// busctl_format_test.cpp — offshootctl's busctl notation: arguments appended to a message and
// the message printed back give what busctl would print; malformed input is a UsageError.
// No bus: the messages belong to an sd_bus on one end of a socketpair, never sent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <offshoot/common/fd.hpp>
#include <offshoot/common/sd_ptr.hpp>

#include <memory>
#include <string>
#include <vector>

#include "busctl_format.hpp"
#include "context.hpp"

namespace offshootctl {
namespace {

// Not offshoot::BusPtr (sd_bus_flush_close_unref): sd_bus_flush() first waits for the
// handshake, which this bus's peer never answers. Nothing is ever sent, so nothing needs
// flushing: it is closed without.
struct CloseUnref {
    void operator()(sd_bus* b) const noexcept { sd_bus_close_unref(b); }
};

class BusctlNotation : public ::testing::Test {
protected:
    void SetUp() override {
        int fds[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        offshoot::Fd ours(fds[0]);
        peer_.reset(fds[1]);
        sd_bus* b = nullptr;
        ASSERT_GE(sd_bus_new(&b), 0);
        bus_.reset(b);
        ASSERT_GE(sd_bus_set_fd(b, ours.get(), ours.get()), 0);
        (void)ours.release();  // the bus owns it now
        ASSERT_GE(sd_bus_start(b), 0);
    }
    void TearDown() override { peer_.reset(); }

    // Appends ARGS by SIGNATURE, seals the message, and prints it back as busctl would.
    std::string round_trip(const std::string& signature, const std::vector<std::string>& args, bool json = false) {
        sd_bus_message* raw = nullptr;
        EXPECT_GE(sd_bus_message_new_method_call(bus_.get(), &raw, "org.example.Peer", "/org/example",
                                                 "org.example.Iface", "Method"),
                  0);
        offshoot::MessagePtr m(raw);
        append_cmdline(m.get(), signature, args);
        EXPECT_GE(sd_bus_message_seal(m.get(), 1, 0), 0);
        EXPECT_GE(sd_bus_message_rewind(m.get(), 1), 0);
        return json ? format_json(m.get()).dump() : format_cmdline(m.get());
    }

    offshoot::Fd peer_;  // the other end, which nobody reads
    std::unique_ptr<sd_bus, CloseUnref> bus_;
};

TEST_F(BusctlNotation, PrintsBasicTypesAsBusctlDoes) {
    EXPECT_EQ(round_trip("ybnqiuxtd", {"255", "true", "-3", "4", "-5", "6", "-7", "8", "0.5"}),
              "ybnqiuxtd 255 true -3 4 -5 6 -7 8 0.5");
    EXPECT_EQ(round_trip("sog", {"a \"quoted\"\nline", "/org/x", "a{sv}"}),
              "sog \"a \\\"quoted\\\"\\nline\" \"/org/x\" \"a{sv}\"");
    EXPECT_EQ(round_trip("bbb", {"no", "on", "0"}), "bbb false true false");
}

TEST_F(BusctlNotation, ArraysTakeACountThenTheirElements) {
    EXPECT_EQ(round_trip("as", {"2", "a", "b"}), "as 2 \"a\" \"b\"");
    EXPECT_EQ(round_trip("ai", {"0"}), "ai 0");
    EXPECT_EQ(round_trip("aai", {"2", "1", "7", "2", "8", "9"}), "aai 2 1 7 2 8 9");
}

TEST_F(BusctlNotation, StructsVariantsAndDictionaries) {
    EXPECT_EQ(round_trip("(si)x", {"text", "3", "4"}), "(si)x \"text\" 3 4");
    EXPECT_EQ(round_trip("v", {"s", "hi"}), "v s \"hi\"");
    EXPECT_EQ(round_trip("v", {"as", "1", "x"}), "v as 1 \"x\"");
    EXPECT_EQ(round_trip("a{sv}", {"2", "k1", "s", "v", "k2", "i", "7"}), "a{sv} 2 \"k1\" s \"v\" \"k2\" i 7");
    EXPECT_EQ(round_trip("a(sa{su})", {"1", "n", "1", "k", "9"}), "a(sa{su}) 1 \"n\" 1 \"k\" 9");
}

TEST_F(BusctlNotation, JsonIsBusctlsShortJson) {
    EXPECT_EQ(round_trip("xas", {"5", "2", "a", "b"}, true), R"({"type":"xas","data":[5,["a","b"]]})");
    EXPECT_EQ(round_trip("a{sv}", {"2", "k1", "s", "v", "k2", "i", "7"}, true),
              R"({"type":"a{sv}","data":[{"k1":{"type":"s","data":"v"},"k2":{"type":"i","data":7}}]})");
    EXPECT_EQ(round_trip("(sb)a{iu}", {"x", "yes", "1", "-1", "2"}, true),
              R"({"type":"(sb)a{iu}","data":[["x",true],{"-1":2}]})");
}

TEST_F(BusctlNotation, MalformedArgumentsAreUsageErrors) {
    struct Case {
        std::string signature;
        std::vector<std::string> args;
    };
    const std::vector<Case> cases = {
        {"x", {}},                  // too few
        {"x", {"1", "2"}},          // too many
        {"x", {"five"}},            // not a number
        {"y", {"256"}},             // out of range
        {"u", {"-1"}},              // negative unsigned
        {"b", {"maybe"}},           // not a boolean
        {"d", {"1.5x"}},            // not a double
        {"o", {"not/a/path"}},      // sd-bus rejects the object path
        {"as", {"2", "a"}},         // array shorter than its count
        {"a(x", {"1", "1"}},        // unclosed struct
        {"()", {}},                 // empty struct
        {"z", {"1"}},               // unknown type
        {"v", {"ss", "a", "b"}},    // a variant holds one complete type
        {"h", {"0"}},               // no fds from a command line
    };
    for (const auto& c : cases)
        EXPECT_THROW(round_trip(c.signature, c.args), UsageError) << c.signature << " " << ::testing::PrintToString(c.args);
}

}  // namespace
}  // namespace offshootctl

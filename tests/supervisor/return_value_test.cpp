// return_value_test.cpp — a task's return value on its way from the worker to offshootd: what
// offshoot::Task::set_return_value encodes (class-sdk) offshootd appends to a D-Bus message
// exactly as it was (instance/return_value.cpp), for every type; and a VALUE datagram a
// stranger wrote — the worker runs class code as another user — is refused, with a reason,
// whatever it holds, before anything reaches a reply.
#include "instance/return_value.hpp"

#include <offshoot/variant.hpp>
#include <offshoot/wire/readiness.hpp>

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace offshoot {
namespace {

using namespace std::string_literals;

// A started sd-bus connection to make messages on (sd-bus refuses to on a bus never started);
// nothing is ever sent.
class ScratchBus {
public:
    ScratchBus() {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) throw std::runtime_error("socketpair");
        peer_ = sv[1];
        sd_bus_new(&bus_);
        sd_bus_set_fd(bus_, sv[0], sv[0]);
        if (sd_bus_start(bus_) < 0) throw std::runtime_error("sd_bus_start");
    }
    ~ScratchBus() {
        sd_bus_close_unref(bus_);
        ::close(peer_);
    }
    sd_bus* get() const { return bus_; }

    // `datagram` appended to a fresh message, sealed and read back as a Variant; the error
    // (and an empty Variant) when it is refused.
    std::pair<Variant, std::string> through(std::string_view datagram) const {
        sd_bus_message* m = nullptr;
        sd_bus_message_new_method_call(bus_, &m, nullptr, "/", "org.offshoot1.Test", "Value");
        std::string error;
        int r = append_value_datagram(m, datagram, error);
        Variant v;
        if (r >= 0) r = sd_bus_message_seal(m, 1, 0);
        if (r >= 0) r = sd_bus_message_rewind(m, 1);
        if (r >= 0) v.read_from(m);
        sd_bus_message_unref(m);
        return {v, r < 0 && error.empty() ? "errno " + std::to_string(-r) : error};
    }

private:
    sd_bus* bus_ = nullptr;
    int peer_ = -1;
};

std::string datagram(std::string_view signature, std::vector<std::string> tokens) {
    std::string out = std::string(wire::value_prefix) + std::string(signature) + "\n";
    for (auto& t : tokens) out += t + '\0';
    return out;
}

TEST(AReturnValue, ArrivesAsItWasSentForEveryType) {
    ScratchBus bus;
    using Dict = std::map<std::string, Variant>;
    const std::vector<Variant> values = {
        Variant(uint8_t{255}), Variant(true), Variant(false), Variant(int16_t{-32768}), Variant(uint16_t{65535}),
        Variant(std::numeric_limits<int32_t>::min()), Variant(uint32_t{4294967295u}),
        Variant(std::numeric_limits<int64_t>::min()), Variant(std::numeric_limits<uint64_t>::max()),
        Variant(0.1), Variant(-0.0), Variant(std::numeric_limits<double>::denorm_min()),
        Variant(std::numeric_limits<double>::infinity()), Variant(std::numeric_limits<double>::max()),
        Variant("with\nnewlines\nREADY=1\nERROR=x"s), Variant(""s), Variant("ünïcödé ✓"s),
        Variant(sdbus::ObjectPath("/org/offshoot1/object")), Variant(sdbus::Signature("a{sv}")),
        Variant(std::vector<std::string>{"a", "", "c"}), Variant(std::vector<uint8_t>(3000, 7)),
        Variant(std::vector<std::vector<int32_t>>{{1, 2}, {}, {3}}),
        Variant(sdbus::Struct<int32_t, std::string, bool>(-1, "x", true)),
        Variant(Dict{{"slept-ms", uint64_t{5001}}, {"stopped", false}, {"nested", Variant(Dict{{"x", 1}})}}),
        Variant::wrap(Variant::wrap(Variant(42))),
    };
    for (const Variant& v : values) {
        const auto [back, error] = bus.through(detail::encode_return_value(v));
        EXPECT_EQ(error, "") << v.signature();
        EXPECT_EQ(back.signature(), v.signature());
        EXPECT_TRUE(back == v) << v.signature();
    }
    // NaN is not equal to itself: compare its bits.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const auto [back, error] = bus.through(detail::encode_return_value(Variant(nan)));
    ASSERT_EQ(error, "");
    const double got = back.get<double>();
    EXPECT_TRUE(std::isnan(got));
}

TEST(AReturnValue, IsRefusedByTheClassSdkWhenItCannotGo) {
    EXPECT_THROW(detail::encode_return_value(Variant()), Error);
    EXPECT_THROW(detail::encode_return_value(Variant(sdbus::UnixFd(0))), Error);
    EXPECT_THROW(detail::encode_return_value(Variant(std::string(70 * 1024, 'x'))), Error);
    try {
        detail::encode_return_value(Variant(std::string(70 * 1024, 'x')));
    } catch (const Error& e) {
        EXPECT_EQ(e.getName(), "org.freedesktop.DBus.Error.InvalidArgs");
        EXPECT_NE(e.getMessage().find("65536 bytes at most"), std::string::npos) << e.getMessage();
    }
    EXPECT_NO_THROW(detail::encode_return_value(Variant(std::string(60 * 1024, 'x'))));
}

TEST(AReturnValueDatagram, FromAStrangerIsRefusedWithAReasonWhateverItHolds) {
    ScratchBus bus;
    std::string deep_variant = std::string(wire::value_prefix) + "v\n";
    for (int i = 0; i < 100; ++i) deep_variant += "v"s + '\0';
    deep_variant += "i"s + '\0' + "1"s + '\0';
    const std::vector<std::pair<std::string, std::string>> hostile = {
        {"no prefix", "READY=1\n"},
        {"no newline", "VALUE=s"},
        {"empty signature", datagram("", {})},
        {"two types", datagram("ss", {"a", "b"})},
        {"a descriptor", datagram("h", {"0"})},
        {"a descriptor inside", datagram("(ih)", {"1", "0"})},
        {"an unclosed struct", datagram("(i", {"1"})},
        {"an empty struct", datagram("()", {})},
        {"a dict entry outside an array", datagram("{ss}", {"a", "b"})},
        {"a dict with a container key", datagram("a{vs}", {"1", "s", "x", "y"})},
        {"an unknown type", datagram("z", {"1"})},
        {"a long signature", datagram(std::string(300, 'a') + "i", {"0"})},
        {"too few tokens", datagram("(ii)", {"1"})},
        {"too many tokens", datagram("i", {"1", "2"})},
        {"no NUL after the last token", std::string(wire::value_prefix) + "i\n1"},
        {"a count beyond the tokens", datagram("ai", {"4294967295", "1"})},
        {"a count that is no number", datagram("ai", {"-1"})},
        {"an integer out of range", datagram("y", {"256"})},
        {"an integer with a sign", datagram("u", {"+1"})},
        {"an integer with junk", datagram("i", {"12x"})},
        {"a boolean that is neither", datagram("b", {"2"})},
        {"a double that is none", datagram("d", {"1.5q"})},
        {"a string that is not UTF-8", datagram("s", {"\xff\xfe"})},
        {"an object path that is none", datagram("o", {"not/a/path"})},
        {"a signature that is none", datagram("g", {"(("})},
        {"a variant holding a descriptor", datagram("v", {"h", "0"})},
        {"a variant holding two types", datagram("v", {"ii", "1", "2"})},
        {"variants nested 100 deep", deep_variant},
        {"larger than 64 KiB", datagram("s", {std::string(70 * 1024, 'x')})},
    };
    for (const auto& [what, bytes] : hostile) {
        const auto [back, error] = bus.through(bytes);
        EXPECT_NE(error, "") << what << " was accepted as " << back.signature();
        EXPECT_TRUE(back.empty()) << what;
        std::string from_error;
        EXPECT_FALSE(ReturnValue::from_datagram(bus.get(), bytes, from_error)) << what;
        EXPECT_NE(from_error, "") << what;
    }
}

TEST(AReturnValueDatagram, KeepsItsSignatureAndAppendsAgainEachTime) {
    ScratchBus bus;
    std::string error;
    const auto value = ReturnValue::from_datagram(bus.get(), datagram("as", {"2", "a", "b"}), error);
    ASSERT_TRUE(value) << error;
    EXPECT_EQ(value->signature(), "as");
    for (int i = 0; i < 2; ++i) {
        sd_bus_message* m = nullptr;
        sd_bus_message_new_method_call(bus.get(), &m, nullptr, "/", "org.offshoot1.Test", "Value");
        EXPECT_GE(value->append_variant(m), 0);
        sd_bus_message_seal(m, 1, 0);
        sd_bus_message_rewind(m, 1);
        Variant v;
        v.read_from(m);
        EXPECT_EQ(v.get<std::vector<std::string>>(), (std::vector<std::string>{"a", "b"}));
        sd_bus_message_unref(m);
    }
}

}  // namespace
}  // namespace offshoot

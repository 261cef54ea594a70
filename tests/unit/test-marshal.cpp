// test-marshal.cpp — offshoot::marshal and offshoot::Variant round trips through real
// sd_bus_message objects, and the errors they give on wrong input.
//
// An sd_bus_message needs a bus that is not in its initial state; a bus started on one end of
// a socketpair whose other end nobody answers is enough: messages are built, sealed (as
// sending would), rewound and read back without anything crossing the socket.
#include <offshoot/worker.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <limits>

namespace {

using offshoot::Variant;
using offshoot::marshal::append;
using offshoot::marshal::read;
using offshoot::marshal::signature_of;

class AMessage : public testing::Test {
protected:
    void SetUp() override {
        int sv[2];
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        peer_ = sv[1];
        ASSERT_GE(sd_bus_new(&bus_), 0);
        ASSERT_GE(sd_bus_set_fd(bus_, sv[0], sv[0]), 0);
        ASSERT_GE(sd_bus_start(bus_), 0);
        m_ = new_message();
    }
    void TearDown() override {
        sd_bus_message_unref(m_);
        sd_bus_close_unref(bus_);  // no flush: the peer never answers
        ::close(peer_);
    }

    sd_bus_message* new_message() {
        sd_bus_message* m = nullptr;
        EXPECT_GE(sd_bus_message_new_method_call(bus_, &m, "org.offshoot1.Test", "/org/offshoot1/test",
                                                 "org.offshoot1.Test", "Method"),
                  0);
        return m;
    }

    // Seals the message as sending would and rewinds it for reading.
    void seal() {
        ASSERT_GE(sd_bus_message_seal(m_, ++cookie_, 0), 0);
        ASSERT_GE(sd_bus_message_rewind(m_, 1), 0);
    }

    std::string message_signature() { return sd_bus_message_get_signature(m_, 1); }

    // Appends `value` to a fresh message and reads it back.
    template <class T>
    T round_trip(const T& value) {
        sd_bus_message_unref(m_);
        m_ = new_message();
        append(m_, value);
        seal();
        EXPECT_EQ(message_signature(), signature_of<T>());
        T out{};
        read(m_, out);
        EXPECT_GT(sd_bus_message_at_end(m_, 1), 0) << "value left unread";
        return out;
    }

    sd_bus* bus_ = nullptr;
    sd_bus_message* m_ = nullptr;
    int peer_ = -1;
    uint64_t cookie_ = 0;
};

template <class F>
std::string error_name_of(F&& f) {
    try {
        f();
    } catch (const offshoot::Error& e) {
        return e.getName();
    }
    return "(no error)";
}

template <class F>
std::string error_message_of(F&& f) {
    try {
        f();
    } catch (const offshoot::Error& e) {
        return e.getMessage();
    }
    return "(no error)";
}

TEST(SignatureOf, SpellsEveryTypeAsDBusDoes) {
    EXPECT_EQ(signature_of<uint8_t>(), "y");
    EXPECT_EQ(signature_of<bool>(), "b");
    EXPECT_EQ(signature_of<int16_t>(), "n");
    EXPECT_EQ(signature_of<uint16_t>(), "q");
    EXPECT_EQ(signature_of<int32_t>(), "i");
    EXPECT_EQ(signature_of<uint32_t>(), "u");
    EXPECT_EQ(signature_of<int64_t>(), "x");
    EXPECT_EQ(signature_of<uint64_t>(), "t");
    EXPECT_EQ(signature_of<double>(), "d");
    EXPECT_EQ(signature_of<std::string>(), "s");
    EXPECT_EQ(signature_of<sdbus::ObjectPath>(), "o");
    EXPECT_EQ(signature_of<sdbus::Signature>(), "g");
    EXPECT_EQ(signature_of<sdbus::UnixFd>(), "h");
    EXPECT_EQ(signature_of<Variant>(), "v");
    EXPECT_EQ((signature_of<std::map<std::string, std::vector<sdbus::Struct<int32_t, Variant>>>>()),
              "a{sa(iv)}");
    EXPECT_EQ((signature_of<sdbus::Struct<uint8_t, sdbus::Struct<bool, std::vector<double>>>>()), "(y(bad))");
}

TEST_F(AMessage, RoundTripsEveryBasicTypeAtItsLimits) {
    EXPECT_EQ(round_trip<uint8_t>(255), 255);
    EXPECT_EQ(round_trip(true), true);
    EXPECT_EQ(round_trip<int16_t>(std::numeric_limits<int16_t>::min()), std::numeric_limits<int16_t>::min());
    EXPECT_EQ(round_trip<uint16_t>(65535), 65535);
    EXPECT_EQ(round_trip<int32_t>(std::numeric_limits<int32_t>::min()), std::numeric_limits<int32_t>::min());
    EXPECT_EQ(round_trip<uint32_t>(4294967295u), 4294967295u);
    EXPECT_EQ(round_trip<int64_t>(std::numeric_limits<int64_t>::min()), std::numeric_limits<int64_t>::min());
    EXPECT_EQ(round_trip<uint64_t>(std::numeric_limits<uint64_t>::max()), std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(round_trip(-1.5e300), -1.5e300);
    EXPECT_EQ(round_trip(std::string("grüße, 世界")), "grüße, 世界");
    EXPECT_EQ(round_trip(sdbus::ObjectPath("/org/offshoot1/object")), "/org/offshoot1/object");
    EXPECT_EQ(round_trip(sdbus::Signature("a{sv}")), "a{sv}");
}

TEST_F(AMessage, RoundTripsSeveralValuesInOrder) {
    append(m_, uint8_t{7});
    append(m_, std::string("two"));
    append(m_, false);
    append(m_, 4.25);
    seal();
    EXPECT_EQ(message_signature(), "ysbd");
    uint8_t y{};
    std::string s;
    bool b = true;
    double d{};
    read(m_, y);
    read(m_, s);
    read(m_, b);
    read(m_, d);
    EXPECT_EQ(y, 7);
    EXPECT_EQ(s, "two");
    EXPECT_FALSE(b);
    EXPECT_EQ(d, 4.25);
}

TEST_F(AMessage, RoundTripsAFileDescriptorAsADuplicate) {
    int pipe_fds[2];
    ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
    sdbus::UnixFd write_end(pipe_fds[1], sdbus::adopt_fd);
    const sdbus::UnixFd out = round_trip(write_end);
    ASSERT_TRUE(out.isValid());
    EXPECT_NE(out.get(), write_end.get());
    ASSERT_EQ(::write(out.get(), "x", 1), 1);
    char c = 0;
    ASSERT_EQ(::read(pipe_fds[0], &c, 1), 1);
    EXPECT_EQ(c, 'x');
    ::close(pipe_fds[0]);
}

TEST_F(AMessage, RoundTripsArraysOfFixedAndNonFixedTypes) {
    const std::vector<uint8_t> bytes = {0, 1, 2, 255};
    const std::vector<double> doubles = {1.5, -2.25, 1e-300};
    const std::vector<bool> bools = {true, false, true};
    const std::vector<std::string> strings = {"", "a", "bc"};
    const std::vector<int64_t> empty;
    append(m_, bytes);
    append(m_, doubles);
    append(m_, bools);
    append(m_, strings);
    append(m_, empty);
    seal();
    EXPECT_EQ(message_signature(), "ayadabasax");
    std::vector<uint8_t> bytes2;
    std::vector<double> doubles2;
    std::vector<bool> bools2;
    std::vector<std::string> strings2;
    std::vector<int64_t> empty2 = {42};
    read(m_, bytes2);
    read(m_, doubles2);
    read(m_, bools2);
    read(m_, strings2);
    read(m_, empty2);
    EXPECT_EQ(bytes2, bytes);
    EXPECT_EQ(doubles2, doubles);
    EXPECT_EQ(bools2, bools);
    EXPECT_EQ(strings2, strings);
    EXPECT_TRUE(empty2.empty());
}

TEST_F(AMessage, RoundTripsNestedContainersDictsAndStructs) {
    using Row = sdbus::Struct<int32_t, std::string, std::vector<sdbus::Struct<bool, double>>>;
    using Deep = std::map<std::string, std::map<uint32_t, std::vector<std::vector<Row>>>>;
    Deep value;
    value["one"][1] = {{Row(1, "a", {{true, 0.5}}), Row(2, "b", {})}, {}};
    value["two"][7] = {};
    value["three"];
    EXPECT_EQ(signature_of<Deep>(), "a{sa{uaa(isa(bd))}}");
    EXPECT_EQ(round_trip(value), value);
}

TEST_F(AMessage, RoundTripsADictWithObjectPathKeys) {
    const std::map<sdbus::ObjectPath, std::vector<std::string>> value = {
        {sdbus::ObjectPath("/a"), {"x"}}, {sdbus::ObjectPath("/b/c"), {}}};
    EXPECT_EQ(round_trip(value), value);
}

TEST_F(AMessage, RoundTripsVariantsOfEveryShape) {
    const Variant v_int(int32_t{-5});
    const Variant v_str("text");
    const Variant v_dict(std::map<std::string, Variant>{{"k", Variant(uint64_t{9})}, {"s", Variant("v")}});
    const Variant v_struct(sdbus::Struct<uint8_t, std::vector<std::string>>(3, {"p", "q"}));
    const Variant v_nested = Variant::wrap(Variant::wrap(Variant(true)));
    const std::vector<Variant> array = {v_int, v_str, v_dict, v_struct, v_nested};
    EXPECT_EQ(round_trip(array), array);
}

TEST_F(AMessage, ReadsAVariantWrittenBySdBusItself) {
    // a{sv} with a variant holding a variant holding a(ii), written with sd-bus's own API
    ASSERT_GE(sd_bus_message_append(m_, "a{sv}", 2, "x", "v", "(ii)", 1, 2, "y", "as", 2, "p", "q"), 0);
    seal();
    std::map<std::string, Variant> out;
    read(m_, out);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out["x"].signature(), "v");
    const Variant inner = out["x"].get<Variant>();
    EXPECT_EQ(inner.signature(), "(ii)");
    EXPECT_EQ((inner.get<sdbus::Struct<int32_t, int32_t>>()), (sdbus::Struct<int32_t, int32_t>(1, 2)));
    EXPECT_EQ(out["y"].get<std::vector<std::string>>(), (std::vector<std::string>{"p", "q"}));
}

TEST_F(AMessage, WritesAVariantThatSdBusReadsBack) {
    append(m_, Variant(std::map<std::string, int32_t>{{"a", 1}}));
    seal();
    ASSERT_GE(sd_bus_message_enter_container(m_, 'v', "a{si}"), 0);
    const char* key = nullptr;
    int32_t value = 0;
    ASSERT_GT(sd_bus_message_read(m_, "a{si}", 1, &key, &value), 0);
    EXPECT_STREQ(key, "a");
    EXPECT_EQ(value, 1);
}

TEST_F(AMessage, RoundTripsAFileDescriptorInsideAVariant) {
    int pipe_fds[2];
    ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
    const Variant v(sdbus::UnixFd(pipe_fds[1], sdbus::adopt_fd));
    const Variant out = round_trip(v);
    const sdbus::UnixFd fd = out.get<sdbus::UnixFd>();
    ASSERT_EQ(::write(fd.get(), "y", 1), 1);
    char c = 0;
    ASSERT_EQ(::read(pipe_fds[0], &c, 1), 1);
    EXPECT_EQ(c, 'y');
    ::close(pipe_fds[0]);
}

TEST_F(AMessage, RefusesToReadAValueOfAnotherType) {
    append(m_, std::string("not a number"));
    seal();
    int32_t i = 0;
    const std::string message = error_message_of([&] { read(m_, i); });
    EXPECT_NE(message.find("expected a value of type 'i' but found 's'"), std::string::npos) << message;
    sd_bus_message_rewind(m_, 1);
    EXPECT_EQ(error_name_of([&] { read(m_, i); }), offshoot::error_name::invalid_args);
}

TEST_F(AMessage, RefusesToReadPastTheLastValue) {
    append(m_, int32_t{1});
    seal();
    int32_t a = 0, b = 0;
    read(m_, a);
    const std::string message = error_message_of([&] { read(m_, b); });
    EXPECT_NE(message.find("found no more values"), std::string::npos) << message;
}

TEST_F(AMessage, RefusesAContainerOfTheWrongElementType) {
    append(m_, std::vector<std::string>{"a"});
    seal();
    std::vector<int32_t> v;
    const std::string message = error_message_of([&] { read(m_, v); });
    EXPECT_NE(message.find("'ai'"), std::string::npos) << message;
    EXPECT_NE(message.find("'as'"), std::string::npos) << message;
}

TEST_F(AMessage, RefusesStringsSdBusWouldMangleOrReject) {
    EXPECT_EQ(error_name_of([&] { append(m_, std::string("a\0b", 3)); }), offshoot::error_name::invalid_args);
    EXPECT_EQ(error_name_of([&] { append(m_, std::string("\xff\xfe")); }), offshoot::error_name::invalid_args);
    EXPECT_EQ(error_name_of([&] { append(m_, sdbus::ObjectPath("not/a/path")); }),
              offshoot::error_name::invalid_args);
    EXPECT_EQ(error_name_of([&] { append(m_, sdbus::Signature("a{")); }), offshoot::error_name::invalid_args);
}

TEST(AVariant, ReportsItsSignatureAndRefusesOtherTypes) {
    const Variant v(std::vector<int32_t>{1, 2});
    EXPECT_EQ(v.signature(), "ai");
    EXPECT_TRUE(v.contains<std::vector<int32_t>>());
    EXPECT_FALSE(v.contains<std::vector<uint32_t>>());
    EXPECT_EQ(v.get<std::vector<int32_t>>(), (std::vector<int32_t>{1, 2}));
    const std::string message = error_message_of([&] { (void)v.get<std::string>(); });
    EXPECT_EQ(message, "the variant holds 'ai', not 's'");
}

TEST(AVariant, StartsEmptyAndCannotBeSentEmpty) {
    const Variant v;
    EXPECT_TRUE(v.empty());
    EXPECT_EQ(v.signature(), "");
    EXPECT_FALSE(v.contains<int32_t>());
    EXPECT_EQ(error_name_of([&] { (void)v.get<int32_t>(); }), offshoot::error_name::invalid_args);
}

TEST(AVariant, ComparesByTypeAndValue) {
    EXPECT_EQ(Variant(int32_t{1}), Variant(int32_t{1}));
    EXPECT_NE(Variant(int32_t{1}), Variant(uint32_t{1}));
    EXPECT_NE(Variant("a"), Variant("b"));
    EXPECT_EQ(Variant::wrap(Variant("a")).get<Variant>(), Variant("a"));
}

TEST(ExceptionToError, MapsEachKindOfException) {
    auto map = [](auto thrower) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = 0;
        try {
            thrower();
        } catch (...) {
            r = offshoot::detail::exception_to_error(&error);
        }
        EXPECT_LT(r, 0);
        std::pair<std::string, std::string> out{error.name ? error.name : "", error.message ? error.message : ""};
        sd_bus_error_free(&error);
        return out;
    };
    EXPECT_EQ(map([] { throw offshoot::Error("org.example.Error.Bad", "bad thing"); }),
              (std::pair<std::string, std::string>{"org.example.Error.Bad", "bad thing"}));
    EXPECT_EQ(map([] { throw std::runtime_error("plain"); }),
              (std::pair<std::string, std::string>{"org.freedesktop.DBus.Error.Failed", "plain"}));
    EXPECT_EQ(map([] { throw 42; }),
              (std::pair<std::string, std::string>{"org.freedesktop.DBus.Error.Failed", "unknown exception"}));
    const auto bad_name = map([] { throw offshoot::Error("no dots", "m"); });
    EXPECT_EQ(bad_name.first, "org.freedesktop.DBus.Error.Failed");
    EXPECT_NE(bad_name.second.find("no dots"), std::string::npos);
    EXPECT_EQ(map([] { throw std::runtime_error("bad \xff utf8"); }).second, "bad ? utf8");
}

TEST(ErrorNames, FollowTheDBusRules) {
    using offshoot::detail::is_valid_error_name;
    EXPECT_TRUE(is_valid_error_name("org.freedesktop.DBus.Error.Failed"));
    EXPECT_TRUE(is_valid_error_name("a._b1"));
    EXPECT_FALSE(is_valid_error_name("single"));
    EXPECT_FALSE(is_valid_error_name("a..b"));
    EXPECT_FALSE(is_valid_error_name("a.1b"));
    EXPECT_FALSE(is_valid_error_name(".a.b"));
    EXPECT_FALSE(is_valid_error_name("a.b."));
    EXPECT_FALSE(is_valid_error_name("a.b-c"));
    EXPECT_FALSE(is_valid_error_name(""));
}

}  // namespace

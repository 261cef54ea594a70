// test-adaptorgen.cpp — the adaptor generated from data/org.offshoot1.test.Everything.xml,
// implemented by a small test class and driven through a real sd-bus peer connection: every
// type in and out, properties, signals, errors from every kind of exception, and sd-bus's own
// introspection of the generated vtable.
#include "org.offshoot1.test.Everything_adaptor.hpp"
#include "test-adaptorgen-peer.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <stdexcept>

namespace {

using offshoot::Variant;
namespace marshal = offshoot::marshal;

constexpr const char* iface = "org.offshoot1.test.Everything";

class Everything final : public org::offshoot1::test::Everything_adaptor {
public:
    std::tuple<uint8_t, bool, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t, double, std::string,
               sdbus::ObjectPath, sdbus::Signature>
    Basics(const uint8_t& y, const bool& b, const int16_t& n, const uint16_t& q, const int32_t& i, const uint32_t& u,
           const int64_t& x, const uint64_t& t, const double& d, const std::string& s, const sdbus::ObjectPath& o,
           const sdbus::Signature& g) override {
        return {y, b, n, q, i, u, x, t, d, s, o, g};
    }

    using Nested = std::map<std::string, std::vector<sdbus::Struct<int32_t, int64_t>>>;
    // Inside the class, `Variant` names the D-Bus method of that name: qualify the type.
    using Records = std::vector<sdbus::Struct<std::string, offshoot::Variant>>;
    using Blobs = std::vector<std::vector<uint8_t>>;
    using Paths = std::map<sdbus::ObjectPath, std::vector<std::string>>;
    using Deep = sdbus::Struct<int32_t, sdbus::Struct<std::string, sdbus::Struct<bool, double>>>;
    std::tuple<Nested, Records, Blobs, Paths, Deep> Containers(const Nested& nested, const Records& records,
                                                               const Blobs& blobs, const Paths& paths,
                                                               const Deep& deep) override {
        return {nested, records, blobs, paths, deep};
    }

    std::tuple<offshoot::Variant, sdbus::Signature> Variant(const offshoot::Variant& value) override {
        return {value, sdbus::Signature(value.signature())};
    }

    void WriteTo(const sdbus::UnixFd& fd, const std::string& text) override {
        if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
            throw std::runtime_error("write failed");
    }

    void Nothing() override { ++nothing_calls; }

    void Throw(const std::string& kind) override {
        if (kind == "offshoot") throw offshoot::Error("org.offshoot1.test.Error.Deliberate", "as asked");
        if (kind == "std") throw std::out_of_range("a std exception");
        if (kind == "int") throw 42;
        if (kind == "badname") throw offshoot::Error("not-a-name", "named badly");
        if (kind == "utf8") throw std::runtime_error("bytes \xc3\x28 here");
    }

    std::string Keywords(const std::string& class_, const int32_t& default_) override {
        return class_ + ":" + std::to_string(default_);
    }

    int32_t Unnamed(const int32_t& arg0, const std::string& arg1) override {
        return arg0 + static_cast<int32_t>(arg1.size());
    }

    void Later(offshoot::Result<std::string> result, const std::string& text) override {
        later_ = std::move(result);
        later_text_ = text;
    }
    void AnswerLater() override {
        later_.return_value(std::string(later_text_.rbegin(), later_text_.rend()));
        later_.return_value("answered twice");  // the first answer counts
    }
    void Drop(offshoot::Result<>) override {}
    void AnswerThenThrow(offshoot::Result<int32_t> result) override {
        result.return_value(7);
        throw std::runtime_error("after the answer");
    }
    void ThrowUnanswered(offshoot::Result<> result) override {
        (void)result;
        throw offshoot::Error("org.offshoot1.test.Everything.Unanswered", "thrown before any answer");
    }

    void Fire(const std::string& note) override { name_ = note; }
    void Old() override {}

    void EmitAll() override {
        emitTick(7);
        emitMany("text", {{"k", offshoot::Variant(int32_t{1})}}, sdbus::Struct<int32_t, bool>(3, true));
        emitBare();
        ++count_;
        emitCountChanged();
        emitInvalidatingChanged();
    }

    uint64_t Count() override { return count_; }
    std::string Name() override { return name_; }
    void Name(const std::string& value) override {
        if (value == "bad") throw offshoot::Error("org.offshoot1.test.Error.BadName", "not that name");
        name_ = value;
    }
    std::string Secret() override { return secret_; }
    void Secret(const std::string& value) override { secret_ = value; }
    int32_t Constant() override { return 42; }
    std::vector<std::string> Invalidating() override { return list_; }
    void Invalidating(const std::vector<std::string>& value) override { list_ = value; }
    std::map<std::string, offshoot::Variant> Quiet() override {
        return {{"nested", offshoot::Variant::wrap(offshoot::Variant("deep"))}};
    }

    std::atomic<int> nothing_calls{0};

private:
    offshoot::Result<std::string> later_{nullptr};
    std::string later_text_;
    uint64_t count_ = 0;
    std::string name_ = "initial";
    std::string secret_;
    std::vector<std::string> list_;
};

// A method call's outcome on the client side.
struct Reply {
    sd_bus_message* m = nullptr;
    sd_bus_error error = SD_BUS_ERROR_NULL;
    int r = 0;
    Reply() = default;
    Reply(const Reply&) = delete;
    Reply& operator=(const Reply&) = delete;
    ~Reply() {
        sd_bus_message_unref(m);
        sd_bus_error_free(&error);
    }
    bool ok() const { return r >= 0; }
    std::string error_name() const { return error.name ? error.name : ""; }
    std::string error_message() const { return error.message ? error.message : ""; }
};

class AGeneratedAdaptor : public testing::Test {
protected:
    Everything object_;
    offshoot::test::PeerPair peers_{object_};

    sd_bus* client() { return peers_.client(); }

    // Calls `member` of `interface` with arguments appended by `fill`.
    void call(Reply& reply, const char* interface, const char* member,
              const std::function<void(sd_bus_message*)>& fill = {}) {
        sd_bus_message* m = nullptr;
        ASSERT_GE(sd_bus_message_new_method_call(client(), &m, nullptr, offshoot::object_path, interface, member), 0);
        if (fill) fill(m);
        reply.r = sd_bus_call(client(), m, 5'000'000, &reply.error, &reply.m);
        sd_bus_message_unref(m);
    }
    void call(Reply& reply, const char* member, const std::function<void(sd_bus_message*)>& fill = {}) {
        call(reply, iface, member, fill);
    }

    std::string introspect() {
        Reply reply;
        call(reply, "org.freedesktop.DBus.Introspectable", "Introspect");
        EXPECT_TRUE(reply.ok()) << reply.error_message();
        std::string xml;
        if (reply.ok()) marshal::read(reply.m, xml);
        return xml;
    }
};

TEST_F(AGeneratedAdaptor, PassesEveryBasicTypeBothWays) {
    Reply reply;
    call(reply, "Basics", [](sd_bus_message* m) {
        ASSERT_GE(sd_bus_message_append(m, "ybnqiuxtdsog", 200, 1, -300, 60000, -70000, 4000000000u,
                                        INT64_C(-9000000000), UINT64_C(18000000000000000000), 0.125, "ünï",
                                        "/x/y", "a{sv}"),
                  0);
    });
    ASSERT_TRUE(reply.ok()) << reply.error_message();
    EXPECT_STREQ(sd_bus_message_get_signature(reply.m, 1), "ybnqiuxtdsog");
    uint8_t y;
    int b;
    int16_t n;
    uint16_t q;
    int32_t i;
    uint32_t u;
    int64_t x;
    uint64_t t;
    double d;
    const char *s, *o, *g;
    ASSERT_GE(sd_bus_message_read(reply.m, "ybnqiuxtdsog", &y, &b, &n, &q, &i, &u, &x, &t, &d, &s, &o, &g), 0);
    EXPECT_EQ(y, 200);
    EXPECT_EQ(b, 1);
    EXPECT_EQ(n, -300);
    EXPECT_EQ(q, 60000);
    EXPECT_EQ(i, -70000);
    EXPECT_EQ(u, 4000000000u);
    EXPECT_EQ(x, INT64_C(-9000000000));
    EXPECT_EQ(t, UINT64_C(18000000000000000000));
    EXPECT_EQ(d, 0.125);
    EXPECT_STREQ(s, "ünï");
    EXPECT_STREQ(o, "/x/y");
    EXPECT_STREQ(g, "a{sv}");
}

TEST_F(AGeneratedAdaptor, PassesNestedContainersBothWays) {
    const Everything::Nested nested = {{"a", {{1, 2}, {3, 4}}}, {"empty", {}}};
    const Everything::Records records = {{"int", Variant(int32_t{5})}, {"list", Variant(std::vector<std::string>{"x"})}};
    const Everything::Blobs blobs = {{1, 2, 3}, {}, {255}};
    const Everything::Paths paths = {{sdbus::ObjectPath("/p"), {"q", "r"}}};
    const Everything::Deep deep(1, {"two", {true, 3.5}});
    Reply reply;
    call(reply, "Containers", [&](sd_bus_message* m) {
        marshal::append(m, nested);
        marshal::append(m, records);
        marshal::append(m, blobs);
        marshal::append(m, paths);
        marshal::append(m, deep);
    });
    ASSERT_TRUE(reply.ok()) << reply.error_message();
    EXPECT_STREQ(sd_bus_message_get_signature(reply.m, 1), "a{sa(ix)}a(sv)aaya{oas}(i(s(bd)))");
    Everything::Nested nested2;
    Everything::Records records2;
    Everything::Blobs blobs2;
    Everything::Paths paths2;
    Everything::Deep deep2;
    marshal::read(reply.m, nested2);
    marshal::read(reply.m, records2);
    marshal::read(reply.m, blobs2);
    marshal::read(reply.m, paths2);
    marshal::read(reply.m, deep2);
    EXPECT_EQ(nested2, nested);
    EXPECT_EQ(records2, records);
    EXPECT_EQ(blobs2, blobs);
    EXPECT_EQ(paths2, paths);
    EXPECT_EQ(deep2, deep);
}

TEST_F(AGeneratedAdaptor, PassesAVariantInAVariantWrittenBySdBus) {
    Reply reply;
    call(reply, "Variant", [](sd_bus_message* m) {
        ASSERT_GE(sd_bus_message_append(m, "v", "v", "a{sv}", 1, "k", "as", 1, "deep"), 0);
    });
    ASSERT_TRUE(reply.ok()) << reply.error_message();
    Variant same;
    sdbus::Signature signature;
    marshal::read(reply.m, same);
    marshal::read(reply.m, signature);
    EXPECT_EQ(signature, "v");
    const auto dict = same.get<Variant>().get<std::map<std::string, Variant>>();
    EXPECT_EQ(dict.at("k").get<std::vector<std::string>>(), std::vector<std::string>{"deep"});
}

TEST_F(AGeneratedAdaptor, PassesAFileDescriptor) {
    int pipe_fds[2];
    ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
    Reply reply;
    call(reply, "WriteTo", [&](sd_bus_message* m) { ASSERT_GE(sd_bus_message_append(m, "hs", pipe_fds[1], "through"), 0); });
    ::close(pipe_fds[1]);
    ASSERT_TRUE(reply.ok()) << reply.error_message();
    char buffer[16] = {};
    EXPECT_EQ(::read(pipe_fds[0], buffer, sizeof buffer), 7);
    EXPECT_STREQ(buffer, "through");
    ::close(pipe_fds[0]);
}

TEST_F(AGeneratedAdaptor, AnswersAMethodWithoutArgumentsWithAnEmptyReply) {
    Reply reply;
    call(reply, "Nothing");
    ASSERT_TRUE(reply.ok()) << reply.error_message();
    EXPECT_STREQ(sd_bus_message_get_signature(reply.m, 1), "");
    EXPECT_EQ(object_.nothing_calls.load(), 1);
}

TEST_F(AGeneratedAdaptor, TurnsEachKindOfExceptionIntoADBusErrorAndKeepsServing) {
    const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
        {"offshoot", "org.offshoot1.test.Error.Deliberate", "as asked"},
        {"std", "org.freedesktop.DBus.Error.Failed", "a std exception"},
        {"int", "org.freedesktop.DBus.Error.Failed", "unknown exception"},
        {"badname", "org.freedesktop.DBus.Error.Failed", "(invalid D-Bus error name 'not-a-name') named badly"},
        {"utf8", "org.freedesktop.DBus.Error.Failed", "bytes ?( here"},
    };
    for (const auto& [kind, name, message] : cases) {
        Reply reply;
        call(reply, "Throw", [&](sd_bus_message* m) { marshal::append(m, kind); });
        EXPECT_FALSE(reply.ok()) << kind;
        EXPECT_EQ(reply.error_name(), name) << kind;
        EXPECT_EQ(reply.error_message(), message) << kind;
    }
    Reply after;
    call(after, "Nothing");
    EXPECT_TRUE(after.ok()) << after.error_message();
}

TEST_F(AGeneratedAdaptor, LetsSdBusRefuseArgumentsOfTheWrongType) {
    Reply reply;
    call(reply, "Throw", [](sd_bus_message* m) { marshal::append(m, int32_t{1}); });
    EXPECT_EQ(reply.error_name(), "org.freedesktop.DBus.Error.InvalidArgs");
    Reply unknown;
    call(unknown, "NoSuchMethod");
    EXPECT_EQ(unknown.error_name(), "org.freedesktop.DBus.Error.UnknownMethod");
}

TEST_F(AGeneratedAdaptor, MapsKeywordAndMissingArgumentNames) {
    Reply reply;
    call(reply, "Keywords", [](sd_bus_message* m) { ASSERT_GE(sd_bus_message_append(m, "si", "cls", 3), 0); });
    ASSERT_TRUE(reply.ok()) << reply.error_message();
    std::string result;
    marshal::read(reply.m, result);
    EXPECT_EQ(result, "cls:3");

    Reply unnamed;
    call(unnamed, "Unnamed", [](sd_bus_message* m) { ASSERT_GE(sd_bus_message_append(m, "is", 40, "ab"), 0); });
    ASSERT_TRUE(unnamed.ok()) << unnamed.error_message();
    int32_t sum = 0;
    marshal::read(unnamed.m, sum);
    EXPECT_EQ(sum, 42);
}

TEST_F(AGeneratedAdaptor, GetsAndSetsProperties) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    char* name = nullptr;
    ASSERT_GE(sd_bus_get_property_string(client(), nullptr, offshoot::object_path, iface, "Name", &error, &name), 0);
    EXPECT_STREQ(name, "initial");
    free(name);

    ASSERT_GE(sd_bus_set_property(client(), nullptr, offshoot::object_path, iface, "Name", &error, "s", "renamed"), 0)
        << error.message;
    ASSERT_GE(sd_bus_get_property_string(client(), nullptr, offshoot::object_path, iface, "Name", &error, &name), 0);
    EXPECT_STREQ(name, "renamed");
    free(name);

    uint64_t count = 99;
    ASSERT_GE(sd_bus_get_property_trivial(client(), nullptr, offshoot::object_path, iface, "Count", &error, 't', &count), 0);
    EXPECT_EQ(count, 0u);
    int32_t constant = 0;
    ASSERT_GE(sd_bus_get_property_trivial(client(), nullptr, offshoot::object_path, iface, "Constant", &error, 'i', &constant), 0);
    EXPECT_EQ(constant, 42);

    ASSERT_GE(sd_bus_set_property(client(), nullptr, offshoot::object_path, iface, "Invalidating", &error, "as", 2, "a", "b"), 0)
        << error.message;
    sd_bus_message* reply = nullptr;
    ASSERT_GE(sd_bus_get_property(client(), nullptr, offshoot::object_path, iface, "Invalidating", &error, &reply, "as"), 0);
    std::vector<std::string> list;
    marshal::read(reply, list);
    sd_bus_message_unref(reply);
    EXPECT_EQ(list, (std::vector<std::string>{"a", "b"}));
    sd_bus_error_free(&error);
}

TEST_F(AGeneratedAdaptor, ReturnsAllPropertiesWithGetAll) {
    Reply reply;
    call(reply, "org.freedesktop.DBus.Properties", "GetAll", [](sd_bus_message* m) { marshal::append(m, std::string(iface)); });
    ASSERT_TRUE(reply.ok()) << reply.error_message();
    std::map<std::string, Variant> all;
    marshal::read(reply.m, all);
    EXPECT_EQ(all.at("Constant").get<int32_t>(), 42);
    EXPECT_EQ(all.at("Name").get<std::string>(), "initial");
    const auto quiet = all.at("Quiet").get<std::map<std::string, Variant>>();
    EXPECT_EQ(quiet.at("nested").get<Variant>().get<std::string>(), "deep");
    EXPECT_EQ(all.size(), 6u);
}

TEST_F(AGeneratedAdaptor, RefusesToSetAReadOnlyPropertyOrAValueTheSetterRejects) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    EXPECT_LT(sd_bus_set_property(client(), nullptr, offshoot::object_path, iface, "Count", &error, "t", UINT64_C(5)), 0);
    EXPECT_STREQ(error.name, "org.freedesktop.DBus.Error.PropertyReadOnly");
    sd_bus_error_free(&error);

    EXPECT_LT(sd_bus_set_property(client(), nullptr, offshoot::object_path, iface, "Name", &error, "s", "bad"), 0);
    EXPECT_STREQ(error.name, "org.offshoot1.test.Error.BadName");
    EXPECT_STREQ(error.message, "not that name");
    sd_bus_error_free(&error);

    EXPECT_LT(sd_bus_set_property(client(), nullptr, offshoot::object_path, iface, "Name", &error, "i", 5), 0);
    EXPECT_STREQ(error.name, "org.freedesktop.DBus.Error.InvalidArgs");
    sd_bus_error_free(&error);
}

TEST_F(AGeneratedAdaptor, SetsAWriteOnlyProperty) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    EXPECT_GE(sd_bus_set_property(client(), nullptr, offshoot::object_path, iface, "Secret", &error, "s", "pssst"), 0);
    sd_bus_error_free(&error);
    Reply reply;
    call(reply, "org.freedesktop.DBus.Properties", "Get",
         [](sd_bus_message* m) { ASSERT_GE(sd_bus_message_append(m, "ss", iface, "Secret"), 0); });
    ASSERT_TRUE(reply.ok());
    Variant v;
    marshal::read(reply.m, v);
    EXPECT_EQ(v.get<std::string>(), "pssst");
}

TEST_F(AGeneratedAdaptor, EmitsSignalsAndPropertiesChangedToThePeer) {
    std::vector<sd_bus_message*> signals;
    sd_bus_slot* filter = nullptr;
    ASSERT_GE(sd_bus_add_filter(client(), &filter,
                                [](sd_bus_message* m, void* userdata, sd_bus_error*) {
                                    uint8_t type = 0;
                                    if (sd_bus_message_get_type(m, &type) >= 0 && type == SD_BUS_MESSAGE_SIGNAL)
                                        static_cast<std::vector<sd_bus_message*>*>(userdata)->push_back(sd_bus_message_ref(m));
                                    return 0;
                                },
                                &signals),
              0);
    Reply reply;
    call(reply, "EmitAll");
    ASSERT_TRUE(reply.ok()) << reply.error_message();
    // The signals were sent before the reply on the same stream: sd_bus_call queued them.
    while (sd_bus_process(client(), nullptr) > 0) {
    }
    sd_bus_slot_unref(filter);

    ASSERT_EQ(signals.size(), 5u);
    auto member = [&](size_t i) { return std::string(sd_bus_message_get_member(signals[i])); };
    EXPECT_EQ(member(0), "Tick");
    uint64_t n = 0;
    marshal::read(signals[0], n);
    EXPECT_EQ(n, 7u);
    EXPECT_STREQ(sd_bus_message_get_path(signals[0]), offshoot::object_path);
    EXPECT_STREQ(sd_bus_message_get_interface(signals[0]), iface);

    EXPECT_EQ(member(1), "Many");
    std::string text;
    std::map<std::string, Variant> props;
    sdbus::Struct<int32_t, bool> pair;
    marshal::read(signals[1], text);
    marshal::read(signals[1], props);
    marshal::read(signals[1], pair);
    EXPECT_EQ(text, "text");
    EXPECT_EQ(props.at("k").get<int32_t>(), 1);
    EXPECT_EQ(pair, (sdbus::Struct<int32_t, bool>(3, true)));

    EXPECT_EQ(member(2), "Bare");
    EXPECT_STREQ(sd_bus_message_get_signature(signals[2], 1), "");

    EXPECT_EQ(member(3), "PropertiesChanged");
    std::string changed_iface;
    std::map<std::string, Variant> changed;
    std::vector<std::string> invalidated;
    marshal::read(signals[3], changed_iface);
    marshal::read(signals[3], changed);
    marshal::read(signals[3], invalidated);
    EXPECT_EQ(changed_iface, iface);
    EXPECT_EQ(changed.at("Count").get<uint64_t>(), 1u);
    EXPECT_TRUE(invalidated.empty());

    EXPECT_EQ(member(4), "PropertiesChanged");
    marshal::read(signals[4], changed_iface);
    marshal::read(signals[4], changed);
    marshal::read(signals[4], invalidated);
    EXPECT_TRUE(changed.empty());
    EXPECT_EQ(invalidated, std::vector<std::string>{"Invalidating"});

    for (auto* m : signals) sd_bus_message_unref(m);
}

TEST_F(AGeneratedAdaptor, AnswersAnAsynchronousMethodWhenItsResultIsGivenLater) {
    struct Later {
        bool arrived = false;
        std::string value, error;
    } later;
    ASSERT_GE(sd_bus_call_method_async(
                  client(), nullptr, nullptr, offshoot::object_path, iface, "Later",
                  [](sd_bus_message* m, void* userdata, sd_bus_error*) -> int {
                      auto* l = static_cast<Later*>(userdata);
                      l->arrived = true;
                      if (sd_bus_message_is_method_error(m, nullptr)) l->error = sd_bus_message_get_error(m)->name;
                      else marshal::read(m, l->value);
                      return 0;
                  },
                  &later, "s", "abc"),
              0);
    Reply answer;
    call(answer, "AnswerLater");
    ASSERT_TRUE(answer.ok()) << answer.error_message();
    for (int i = 0; i < 100 && !later.arrived; ++i) {
        if (sd_bus_process(client(), nullptr) == 0) sd_bus_wait(client(), 100'000);
    }
    ASSERT_TRUE(later.arrived) << "the deferred reply never came";
    EXPECT_EQ(later.error, "");
    EXPECT_EQ(later.value, "cba");
}

TEST_F(AGeneratedAdaptor, AnswersAnAsynchronousMethodWhoseResultIsDroppedWithAnErrorRatherThanNever) {
    Reply dropped;
    call(dropped, "Drop");
    EXPECT_EQ(dropped.error_name(), "org.freedesktop.DBus.Error.Failed");
    EXPECT_NE(dropped.error_message().find("dropped without"), std::string::npos) << dropped.error_message();
}

TEST_F(AGeneratedAdaptor, KeepsTheFirstAnswerOfAnAsynchronousMethodOverWhatItThrowsAfterwards) {
    Reply first;
    call(first, "AnswerThenThrow");
    ASSERT_TRUE(first.ok()) << first.error_message();
    int32_t n = 0;
    marshal::read(first.m, n);
    EXPECT_EQ(n, 7);
    Reply thrown;
    call(thrown, "ThrowUnanswered");
    EXPECT_EQ(thrown.error_name(), "org.offshoot1.test.Everything.Unanswered");
    // Still serving.
    Reply plain;
    call(plain, "Nothing");
    EXPECT_TRUE(plain.ok());
}

TEST_F(AGeneratedAdaptor, IntrospectsWithTheArgumentNamesAndAnnotationsOfTheXml) {
    const std::string xml = introspect();
    for (const char* expected : {
             "<interface name=\"org.offshoot1.test.Everything\">",
             "<method name=\"Basics\">",
             "<arg type=\"y\" name=\"y\" direction=\"in\"/>",
             "<arg type=\"g\" name=\"g_out\" direction=\"out\"/>",
             "<arg type=\"a{sa(ix)}\" name=\"nested\" direction=\"in\"/>",
             "<arg type=\"(i(s(bd)))\" name=\"deep\" direction=\"out\"/>",
             "<arg type=\"s\" name=\"class\" direction=\"in\"/>",
             "<arg type=\"i\" name=\"default\" direction=\"in\"/>",
             "<annotation name=\"org.freedesktop.DBus.Method.NoReply\" value=\"true\"/>",
             "<annotation name=\"org.freedesktop.DBus.Deprecated\" value=\"true\"/>",
             "<signal name=\"Many\">",
             "<arg type=\"a{sv}\" name=\"props\"/>",
             "<property name=\"Count\" type=\"t\" access=\"read\">",
             "<property name=\"Name\" type=\"s\" access=\"readwrite\">",
             "<property name=\"Secret\" type=\"s\" access=\"readwrite\">",
             "<annotation name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" value=\"const\"/>",
             "<annotation name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" value=\"invalidates\"/>",
             "<annotation name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" value=\"false\"/>",
         })
        EXPECT_NE(xml.find(expected), std::string::npos) << expected << "\nin:\n" << xml;
    EXPECT_EQ(xml.find("Privileged"), std::string::npos) << xml;
}

TEST_F(AGeneratedAdaptor, IsReachedThroughTheObjectPointerItWasRegisteredWith) {
    offshoot::Object& base = object_;
    EXPECT_STREQ(base.interface_name(), iface);
    EXPECT_EQ(base.vtable(), object_.vtable());
    EXPECT_EQ(base.vtable()[0].type, _SD_BUS_VTABLE_START);
}

}  // namespace

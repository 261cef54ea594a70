// test-adaptorgen-cli.cpp — offshoot-adaptorgen as the build runs it: bad XML gives an exit
// status of 1 and a "FILE:LINE: what" message, and never leaves a header behind.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

class TheGenerator : public testing::Test {
protected:
    void SetUp() override {
        char dir[] = "/tmp/offshoot-adaptorgen-XXXXXX";
        ASSERT_NE(mkdtemp(dir), nullptr);
        dir_ = dir;
    }
    void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

    // Runs the generator on `xml`; returns its exit status and fills `output` with stderr.
    int run(const std::string& xml, std::string& output) {
        const std::string in = dir_ + "/in.xml";
        std::ofstream(in) << xml;
        const std::string command = std::string(OFFSHOOT_ADAPTORGEN) + " --adaptor=" + out() + " " + in + " 2>&1";
        FILE* pipe = popen(command.c_str(), "r");
        char buffer[4096];
        size_t n;
        while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
        const int status = pclose(pipe);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::string out() const { return dir_ + "/out.hpp"; }
    bool out_exists() const { return access(out().c_str(), F_OK) == 0; }

    static std::string interface(const std::string& body) {
        return "<node>\n<interface name=\"org.example.Thing\">\n" + body + "\n</interface>\n</node>\n";
    }

    std::string dir_;
};

TEST_F(TheGenerator, WritesAHeaderForValidXml) {
    std::string output;
    EXPECT_EQ(run(interface("<method name=\"M\"><arg name=\"a\" type=\"a{sv}\" direction=\"in\"/></method>"), output), 0)
        << output;
    ASSERT_TRUE(out_exists());
    std::ifstream header(out());
    const std::string text((std::istreambuf_iterator<char>(header)), {});
    EXPECT_NE(text.find("namespace org::example {"), std::string::npos);
    EXPECT_NE(text.find("class Thing_adaptor : public offshoot::Object {"), std::string::npos);
    EXPECT_NE(text.find("virtual void M(const std::map<std::string, offshoot::Variant>& a) = 0;"), std::string::npos);
}

TEST_F(TheGenerator, NamesTheLineOfMalformedXml) {
    std::string output;
    EXPECT_EQ(run("<node>\n<interface name=\"a.b\">\n</node>\n", output), 1);
    EXPECT_NE(output.find("in.xml:3: mismatched tag"), std::string::npos) << output;
    EXPECT_FALSE(out_exists());
}

TEST_F(TheGenerator, RefusesInvalidTypes) {
    std::string output;
    EXPECT_EQ(run(interface("<property name=\"P\" type=\"a{vs}\" access=\"read\"/>"), output), 1);
    EXPECT_NE(output.find("in.xml:3: invalid D-Bus type 'a{vs}': a dict key must be a basic type"), std::string::npos)
        << output;
    output.clear();
    EXPECT_EQ(run(interface("<signal name=\"S\"><arg name=\"x\" type=\"ii\"/></signal>"), output), 1);
    EXPECT_NE(output.find("more than one complete type"), std::string::npos) << output;
    EXPECT_FALSE(out_exists());
}

TEST_F(TheGenerator, RefusesInvalidNamesAndMissingAttributes) {
    std::string output;
    EXPECT_EQ(run(interface("<method name=\"Bad-Name\"/>"), output), 1);
    EXPECT_NE(output.find("invalid method name 'Bad-Name'"), std::string::npos) << output;
    output.clear();
    EXPECT_EQ(run(interface("<property name=\"P\" type=\"s\"/>"), output), 1);
    EXPECT_NE(output.find("<property> needs a 'access' attribute"), std::string::npos) << output;
    output.clear();
    EXPECT_EQ(run("<node><interface name=\"nodots\"/></node>", output), 1);
    EXPECT_NE(output.find("invalid interface name 'nodots'"), std::string::npos) << output;
}

TEST_F(TheGenerator, RefusesMembersThatCollideWithOffshootObject) {
    std::string output;
    EXPECT_EQ(run(interface("<method name=\"start\"/>"), output), 1);
    EXPECT_NE(output.find("collides with a member of offshoot::Object"), std::string::npos) << output;
}

TEST_F(TheGenerator, RefusesAWritableConstProperty) {
    std::string output;
    EXPECT_EQ(run(interface("<property name=\"P\" type=\"s\" access=\"readwrite\"><annotation "
                            "name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" value=\"const\"/></property>"),
                  output),
              1);
    EXPECT_NE(output.find("cannot be const"), std::string::npos) << output;
}

}  // namespace

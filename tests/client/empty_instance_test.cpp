// empty_instance_test.cpp — an Instance that holds no handle (default-constructed, moved from,
// released or detached) is false, stops nothing when destroyed, and reports misuse with the
// library's one exception type.
#include <gtest/gtest.h>

#include <offshoot/client.hpp>

namespace {

TEST(AnEmptyInstance, IsFalse) {
    offshoot::Instance instance;
    EXPECT_FALSE(instance);
}

TEST(AnEmptyInstance, ThrowsAnOffshootErrorNamingTheMisuse) {
    offshoot::Instance instance;
    try {
        instance.stop();
        FAIL() << "stop() on an empty Instance did not throw";
    } catch (const offshoot::Error& e) {
        EXPECT_EQ(e.getName(), offshoot::errors::invalid_argument);
        EXPECT_NE(e.getMessage().find("empty"), std::string::npos) << e.getMessage();
    }
    EXPECT_THROW((void)instance.path(), offshoot::Error);
    EXPECT_THROW((void)instance.pid(), offshoot::Error);
    EXPECT_THROW((void)instance.detach(), offshoot::Error);
    EXPECT_THROW(instance.on_exit([](const offshoot::ExitStatus&) {}), offshoot::Error);
}

TEST(AnEmptyInstance, StaysEmptyWhenMovedAndIsDestroyedQuietly) {
    offshoot::Instance a;
    offshoot::Instance b(std::move(a));
    offshoot::Instance c;
    c = std::move(b);
    EXPECT_FALSE(c);
}

}  // namespace

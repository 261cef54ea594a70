// test-shapes.cpp — the worker SDK's shapes of work (offshoot/shapes.hpp): OFFSHOOT_CLASS
// records whether a class is a task, a loop or a plain object (also across the plugin boundary,
// for the example plugins), and a task's stop request wakes wait_for_stop() on its thread.
#include <offshoot/worker.hpp>

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const sd_bus_vtable empty_vtable[] = {SD_BUS_VTABLE_START(0), SD_BUS_VTABLE_END};

class Plain : public offshoot::Object {
public:
    const char* interface_name() const noexcept override { return "org.offshoot1.test.Plain"; }
    const sd_bus_vtable* vtable() const noexcept override { return empty_vtable; }
};

class ATask final : public Plain, public offshoot::Task {
public:
    int run() override { return 0; }
    bool sleep(std::chrono::milliseconds d) { return wait_for_stop(d); }
    std::atomic<int> interrupted{0};

protected:
    void on_stop_requested() override { ++interrupted; }
};

class ALoop final : public Plain, public offshoot::Loop {
public:
    std::optional<std::chrono::milliseconds> loop() override { return std::nullopt; }
};

std::unique_ptr<offshoot::Object> create(offshoot::Object* (*factory)(const offshoot::ClassContext&)) {
    return std::unique_ptr<offshoot::Object>(factory(offshoot::ClassContext{}));
}

TEST(OffshootClass, RecordsATaskAsATask) {
    auto o = create(&offshoot::detail::create_object<ATask>);
    ASSERT_NE(o->task(), nullptr);
    EXPECT_EQ(o->loop_shape(), nullptr);
    EXPECT_EQ(o->task(), static_cast<offshoot::Task*>(static_cast<ATask*>(o.get())));
}

TEST(OffshootClass, RecordsALoopAsALoop) {
    auto o = create(&offshoot::detail::create_object<ALoop>);
    EXPECT_EQ(o->task(), nullptr);
    ASSERT_NE(o->loop_shape(), nullptr);
    EXPECT_EQ(o->loop_shape(), static_cast<offshoot::Loop*>(static_cast<ALoop*>(o.get())));
}

TEST(OffshootClass, RecordsAPlainObjectAsNeither) {
    auto o = create(&offshoot::detail::create_object<Plain>);
    EXPECT_EQ(o->task(), nullptr);
    EXPECT_EQ(o->loop_shape(), nullptr);
}

// The example plugins, loaded as the worker loads them.
struct LoadedPlugin {
    explicit LoadedPlugin(const std::string& name, std::vector<std::string> arguments) {
        const std::string path = std::string(OFFSHOOT_TEST_PLUGIN_DIR) + "/" + name + ".so";
        handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) throw std::runtime_error(dlerror());
        auto factory = reinterpret_cast<offshoot::CreateObjectFn>(dlsym(handle, offshoot::create_object_symbol));
        if (!factory) throw std::runtime_error("no factory in " + path);
        offshoot::ClassContext ctx;
        ctx.arguments = std::move(arguments);
        object.reset(factory(ctx));
    }
    ~LoadedPlugin() {
        object.reset();
        if (handle) dlclose(handle);
    }
    void* handle = nullptr;
    std::unique_ptr<offshoot::Object> object;
};

TEST(TheExamplePlugins, AreATaskALoopAndPlainObjects) {
    EXPECT_NE(LoadedPlugin("sleeper", {"10"}).object->task(), nullptr);
    EXPECT_NE(LoadedPlugin("ticker", {"10"}).object->loop_shape(), nullptr);
    for (const char* plain : {"counter", "echo", "faulty", "identity"}) {
        LoadedPlugin p(plain, {});
        EXPECT_EQ(p.object->task(), nullptr) << plain;
        EXPECT_EQ(p.object->loop_shape(), nullptr) << plain;
    }
}

TEST(TheSleeperPlugin, ReturnsItsExitCodeFromRun) {
    LoadedPlugin p("sleeper", {"20", "9"});
    const auto t0 = Clock::now();
    EXPECT_EQ(p.object->task()->run(), 9);
    EXPECT_GE(Clock::now() - t0, 20ms);
}

TEST(TheTickerPlugin, IteratesOncePerDelayPlusOnce) {
    LoadedPlugin p("ticker", {"5", "7"});
    offshoot::Loop& loop = *p.object->loop_shape();
    EXPECT_EQ(loop.loop(), std::optional(std::chrono::milliseconds(5)));
    EXPECT_EQ(loop.loop(), std::optional(std::chrono::milliseconds(7)));
    EXPECT_EQ(loop.loop(), std::nullopt);
}

TEST(ATaskStopRequest, LetsWaitForStopRunToItsDeadlineWithoutOne) {
    ATask t;
    const auto t0 = Clock::now();
    EXPECT_FALSE(t.sleep(30ms));
    EXPECT_GE(Clock::now() - t0, 30ms);
    EXPECT_FALSE(t.stop_requested());
}

TEST(ATaskStopRequest, WakesWaitForStopOnAnotherThreadAndIsHandledOnce) {
    ATask t;
    std::atomic<bool> woke{false};
    const auto t0 = Clock::now();
    std::thread runner([&] { woke = t.sleep(60s); });
    t.request_stop();
    t.request_stop();
    runner.join();
    EXPECT_TRUE(woke);
    EXPECT_LT(Clock::now() - t0, 5s);
    EXPECT_TRUE(t.stop_requested());
    EXPECT_EQ(t.interrupted, 1);
    // Once requested, later waits return at once.
    EXPECT_TRUE(t.sleep(60s));
}

}  // namespace

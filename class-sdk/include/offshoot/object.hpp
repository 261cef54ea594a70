// offshoot/object.hpp — the base of every class served by offshoot-worker.
//
// A class is a D-Bus interface (XML) plus a C++ implementation. offshoot-adaptorgen turns the
// XML into an abstract adaptor `<ns>::<Name>_adaptor` deriving from offshoot::Object; the class
// implementation derives from that adaptor, implements its pure virtual methods and property
// getters, and is exported from its plugin with OFFSHOOT_CLASS(Type).
//
// The worker registers the object at offshoot::object_path on every peer connection it
// accepts; signals emitted by the object go to every connected peer (once it has sent its
// first message: Hello, for bus clients). Methods, property getters and signals run on the
// worker's one loop thread; a task's run() runs on a thread of its own (offshoot/shapes.hpp).
#pragma once

#include <offshoot/caller.hpp>
#include <offshoot/error.hpp>
#include <offshoot/marshal.hpp>
#include <offshoot/names.hpp>
#include <offshoot/result.hpp>
#include <offshoot/shapes.hpp>

#include <systemd/sd-bus.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace offshoot {

// One exception type on both sides of the connection (offshoot::Error = sdbus::Error, in
// offshoot/error.hpp): throw offshoot::Error(name, message) from a method to answer with that
// D-Bus error; anything else thrown becomes org.freedesktop.DBus.Error.Failed. The worker
// survives both.

inline constexpr const char* object_path = names::object_path;
inline constexpr const char* object_sender = names::object_name;

// What a class's constructor may receive.
struct ClassContext {
    std::string class_name;
    std::vector<std::string> arguments;  // SpawnWithOptions' "arguments"
    uint64_t instance_id = 0;
};

// Where an object's signals go. Implemented by the worker (every accepted peer) and by tests.
class SignalSink {
public:
    virtual ~SignalSink() = default;
    // Calls fn(bus) for every connection the object is served on.
    virtual void for_each_bus(void (*fn)(sd_bus* bus, void* userdata), void* userdata) = 0;
    // The unique name the peer on `bus` was given when it said Hello (":1.3"), or "" — the
    // destination of calls back into it (Object::caller()).
    virtual std::string peer_name(sd_bus* bus) const {
        (void)bus;
        return {};
    }
};

class Object;
namespace detail {
template <class Type>
Object* create_object(const ClassContext& ctx);
}  // namespace detail

class Object {
public:
    Object() = default;
    Object(const Object&) = delete;
    Object& operator=(const Object&) = delete;
    virtual ~Object() = default;

    // Lifecycle hooks. start() runs before the worker reports ready (throwing fails the
    // Spawn with the message); stop() runs when the instance is asked to stop.
    virtual void start() {}
    virtual void stop() {}

    // Filled in by the generated adaptor.
    virtual const char* interface_name() const noexcept = 0;
    virtual const sd_bus_vtable* vtable() const noexcept = 0;

    // The shape of work the class takes (offshoot/shapes.hpp), recorded by OFFSHOOT_CLASS:
    // at most one of them is non-null; neither means a plain object, served until stopped.
    Task* task() const noexcept { return task_; }
    Loop* loop_shape() const noexcept { return loop_; }

    // Set by the worker before start(); nullptr means signals go nowhere.
    void set_signal_sink(SignalSink* sink) noexcept { sink_ = sink; }
    SignalSink* signal_sink() const noexcept { return sink_; }

    // Runs `fn` on the worker's loop thread — the one methods, signals and sd-bus belong to —
    // from any thread: a thread the class started emits a signal this way. False when there
    // is no loop (any more); `fn` is then dropped.
    bool post(std::function<void()> fn);
    // Set by the worker before start() (offshoot/result.hpp).
    void set_loop_executor(std::shared_ptr<LoopExecutor> loop) noexcept { executor_ = std::move(loop); }

    // For the generated handlers of asynchronous methods: the state a Result shares with them.
    std::shared_ptr<detail::PendingReply> defer_reply(sd_bus_message* call) {
        return std::make_shared<detail::PendingReply>(call, executor_);
    }

    // Serves this object on `bus` at offshoot::object_path: sd_bus_add_object_vtable with
    // interface_name(), vtable() and this Object* as userdata — the generated handlers expect
    // exactly that pointer (not a pointer to the derived class). Returns sd-bus's result
    // (negative errno on failure).
    int add_to_bus(sd_bus* bus, sd_bus_slot** slot);

protected:
    // The connection the method call being handled came in on: a proxy generated from the XML
    // of an object the caller exports (<Name>_peer) calls it back there (offshoot/caller.hpp).
    // Only in the method's body, on the loop thread; throws offshoot::Error elsewhere.
    Caller caller() const;

    // Emits org.freedesktop.DBus.Properties.PropertiesChanged for these properties of this
    // object's interface on every connection (values are read through the getters).
    void emit_properties_changed(std::initializer_list<const char*> names);

    // Emits signal `member` of this object's interface with `args` on every connection.
    // A connection that fails to send does not stop the others; a value that cannot be
    // marshalled throws offshoot::Error (InvalidArgs) after every connection was tried.
    template <class... A>
    void emit_signal(const char* member, const A&... args) {
        auto fill = [&args...]([[maybe_unused]] sd_bus_message* m) { (marshal::append(m, args), ...); };
        emit_signal_with(member, &call_fill<decltype(fill)>, &fill);
    }

    // The non-template part of emit_signal: fill(m, ctx) appends the arguments.
    void emit_signal_with(const char* member, void (*fill)(sd_bus_message* m, void* ctx), void* ctx);

private:
    template <class F>
    static void call_fill(sd_bus_message* m, void* ctx) {
        (*static_cast<F*>(ctx))(m);
    }

    template <class Type>
    friend Object* detail::create_object(const ClassContext& ctx);

    SignalSink* sink_ = nullptr;
    std::shared_ptr<LoopExecutor> executor_;
    Task* task_ = nullptr;
    Loop* loop_ = nullptr;
};

}  // namespace offshoot

namespace offshoot::detail {
// OFFSHOOT_CLASS's body; a template so that only the constructor the class has is used
// (`if constexpr` discards nothing outside a template).
template <class Type>
Object* create_object(const ClassContext& ctx) {
    static_assert(std::is_base_of_v<Object, Type>, "a class derives from its generated adaptor");
    static_assert(!(std::is_base_of_v<Task, Type> && std::is_base_of_v<Loop, Type>),
                  "a class is a task or a loop, not both");
    Type* object;
    if constexpr (std::is_constructible_v<Type, const ClassContext&>) {
        object = new Type(ctx);
    } else {
        (void)ctx;
        object = new Type();
    }
    // Recorded here, where the type is known, so the worker needs no RTTI across the plugin
    // boundary (plugins are built with hidden visibility).
    if constexpr (std::is_base_of_v<Task, Type>) object->task_ = static_cast<Task*>(object);
    if constexpr (std::is_base_of_v<Loop, Type>) object->loop_ = static_cast<Loop*>(object);
    return object;
}
}  // namespace offshoot::detail

// Exports a class from its plugin. The type needs a constructor taking
// (const offshoot::ClassContext&) or a default constructor. A throwing constructor's exception
// leaves through the factory: the worker catches it and fails the start-up with its message.
#define OFFSHOOT_CLASS(Type)                                                                   \
    extern "C" __attribute__((visibility("default"))) offshoot::Object*                        \
    offshoot_create_object_v1(const offshoot::ClassContext& ctx) {                             \
        return offshoot::detail::create_object<Type>(ctx);                                     \
    }

namespace offshoot {
// The symbol OFFSHOOT_CLASS defines; the worker looks it up with dlsym.
inline constexpr const char* create_object_symbol = "offshoot_create_object_v1";
using CreateObjectFn = Object* (*)(const ClassContext&);
}  // namespace offshoot

// offshoot/object.hpp — the base of every class served by offshoot-worker.
//
// A class is a D-Bus interface (XML) plus a C++ implementation. offshoot-adaptorgen turns the
// XML into an abstract adaptor `<ns>::<Name>_adaptor` deriving from offshoot::Object; the class
// implementation derives from that adaptor, implements its pure virtual methods and property
// getters, and is exported from its plugin with OFFSHOOT_CLASS(Type).
//
// The worker registers the object at offshoot::object_path on every peer connection it
// accepts; signals emitted by the object go to every connected peer.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

#include <sdbus-c++/Error.h>
#include <systemd/sd-bus.h>

namespace offshoot {

// One exception type on both sides of the connection: throw offshoot::Error(name, message)
// from a method to answer with that D-Bus error; anything else thrown becomes
// org.freedesktop.DBus.Error.Failed. The worker survives both.
using Error = sdbus::Error;

inline constexpr const char* object_path = "/org/offshoot1/object";
inline constexpr const char* object_sender = "org.offshoot1.Object";

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
};

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

    // Set by the worker before start(); nullptr means signals go nowhere.
    void set_signal_sink(SignalSink* sink) noexcept { sink_ = sink; }
    SignalSink* signal_sink() const noexcept { return sink_; }

protected:
    // Emits org.freedesktop.DBus.Properties.PropertiesChanged for these properties of this
    // object's interface on every connection (values are read through the getters).
    void emit_properties_changed(std::initializer_list<const char*> names);

private:
    SignalSink* sink_ = nullptr;
};

}  // namespace offshoot

// Exports a class from its plugin. The type needs a constructor taking
// (const offshoot::ClassContext&) or a default constructor.
#define OFFSHOOT_CLASS(Type)                                                                   \
    extern "C" __attribute__((visibility("default"))) offshoot::Object*                        \
    offshoot_create_object_v1(const offshoot::ClassContext& ctx) {                             \
        if constexpr (std::is_constructible_v<Type, const offshoot::ClassContext&>)            \
            return new Type(ctx);                                                              \
        else {                                                                                 \
            (void)ctx;                                                                         \
            return new Type();                                                                 \
        }                                                                                      \
    }

namespace offshoot {
// The symbol OFFSHOOT_CLASS defines; the worker looks it up with dlsym.
inline constexpr const char* create_object_symbol = "offshoot_create_object_v1";
using CreateObjectFn = Object* (*)(const ClassContext&);
}  // namespace offshoot

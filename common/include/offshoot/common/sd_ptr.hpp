// offshoot/common/sd_ptr.hpp — owning smart pointers for libsystemd objects.
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include <memory>

namespace offshoot {

namespace detail {
template <auto Fn>
struct Unref {
    template <class T>
    void operator()(T* p) const noexcept { Fn(p); }
};
}  // namespace detail

using BusPtr = std::unique_ptr<sd_bus, detail::Unref<sd_bus_flush_close_unref>>;
using MessagePtr = std::unique_ptr<sd_bus_message, detail::Unref<sd_bus_message_unref>>;
using SlotPtr = std::unique_ptr<sd_bus_slot, detail::Unref<sd_bus_slot_unref>>;
using EventPtr = std::unique_ptr<sd_event, detail::Unref<sd_event_unref>>;
using EventSourcePtr =
    std::unique_ptr<sd_event_source, detail::Unref<sd_event_source_disable_unref>>;
using CredsPtr = std::unique_ptr<sd_bus_creds, detail::Unref<sd_bus_creds_unref>>;

// A cleared sd_bus_error that frees itself.
struct BusError {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    BusError() = default;
    BusError(const BusError&) = delete;
    BusError& operator=(const BusError&) = delete;
    ~BusError() { sd_bus_error_free(&e); }
    sd_bus_error* operator&() noexcept { return &e; }
    const char* name() const noexcept { return e.name ? e.name : ""; }
    const char* message() const noexcept { return e.message ? e.message : ""; }
};

}  // namespace offshoot

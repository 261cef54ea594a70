// adaptor_generator.hpp — model → one header of abstract adaptor classes over sd-bus.
//
// For interface a.b.C it writes `namespace a::b { class C_adaptor : public offshoot::Object }`
// with, as sdbus-c++-xml2cpp names them on the proxy side:
//   a pure virtual method per D-Bus method (in-args as const T&; out: void, T or std::tuple),
//   a pure virtual getter `T Prop()` per property and a setter `void Prop(const T&)` when
//   writable, protected `emitSignal(args…)` per signal and `emitPropChanged()` per property
//   that emits PropertiesChanged, and interface_name()/vtable() for sd_bus_add_object_vtable.
// The sd-bus handlers unmarshal, call the virtual, marshal the reply and turn every
// exception into a D-Bus error (offshoot::detail::exception_to_error).
#pragma once

#include "model.hpp"

#include <string>
#include <vector>

namespace adaptorgen {

// `source_name` is shown in the header's first line. Throws std::runtime_error when the
// interface cannot be expressed (e.g. a member name that collides with offshoot::Object's).
std::string generate_adaptor_header(const std::vector<Interface>& interfaces,
                                    const std::string& source_name);

}  // namespace adaptorgen

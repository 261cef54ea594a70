// property_generator.hpp — offshoot-adaptorgen's output for D-Bus properties: a pure virtual
// getter `T Prop()` per property and a setter `void Prop(const T&)` when it is writable, a
// protected emitPropChanged() that emits PropertiesChanged when EmitsChangedSignal is true or
// invalidates, the static sd-bus get/set handlers, and the property's vtable flags.
#pragma once

#include "base_generator.hpp"

#include <ostream>
#include <string>

namespace adaptorgen {

// The "// Properties" block of the public section.
void write_property_declarations(std::ostream& o, const Interface& iface);
// emit<Name>Changed() for every property that has one, in the protected section.
void write_change_emitters(std::ostream& o, const Interface& iface);
// offshoot_get_<Name>() and, when writable, offshoot_set_<Name>(), in the private section.
void write_property_handlers(std::ostream& o, const Interface& iface);
// The property's vtable flags, from EmitsChangedSignal, its access and Deprecated; throws
// std::runtime_error for an EmitsChangedSignal value D-Bus does not define, or a writable
// const property.
std::string property_flags(const Interface& iface, const Property& p);

}  // namespace adaptorgen

// vtable_generator.hpp — offshoot-adaptorgen's output for sd_bus_add_object_vtable: the
// class's vtable() out of line after the class, one entry per method, signal and property,
// with the XML's argument names so that sd-bus's own introspection matches the XML.
#pragma once

#include "base_generator.hpp"

#include <ostream>

namespace adaptorgen {

// Throws std::runtime_error when a member's annotations cannot be expressed as flags (see
// method_flags and property_flags).
void write_vtable(std::ostream& o, const ClassInfo& c);

}  // namespace adaptorgen

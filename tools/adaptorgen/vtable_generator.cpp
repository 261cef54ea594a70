// vtable_generator.cpp — see vtable_generator.hpp. Each kind's flags come from its own
// generator; this file only lays the entries out.
#include "vtable_generator.hpp"

#include "method_generator.hpp"
#include "property_generator.hpp"
#include "signal_generator.hpp"
#include "type_mapping.hpp"

namespace adaptorgen {

namespace {

void write_method_entry(std::ostream& o, const ClassInfo& c, const Method& m) {
    const std::string flags = method_flags(c.iface, m);
    o << "        SD_BUS_METHOD_WITH_NAMES(" << cpp_string_literal(m.name) << ", "
      << cpp_string_literal(joined_signature(m.in)) << ", " << names_literal(m.in) << ",\n"
      << "                                 " << cpp_string_literal(joined_signature(m.out)) << ", "
      << names_literal(m.out) << ",\n"
      << "                                 &" << c.cls << "::offshoot_method_" << m.name << ", " << flags << "),\n";
}

void write_signal_entry(std::ostream& o, const Signal& s) {
    o << "        SD_BUS_SIGNAL_WITH_NAMES(" << cpp_string_literal(s.name) << ", "
      << cpp_string_literal(joined_signature(s.args)) << ", " << names_literal(s.args) << ", " << signal_flags(s)
      << "),\n";
}

void write_property_entry(std::ostream& o, const ClassInfo& c, const Property& p) {
    const std::string flags = property_flags(c.iface, p);
    if (p.access == "read")
        o << "        SD_BUS_PROPERTY(" << cpp_string_literal(p.name) << ", " << cpp_string_literal(p.type) << ", &"
          << c.cls << "::offshoot_get_" << p.name << ", 0, " << flags << "),\n";
    else
        o << "        SD_BUS_WRITABLE_PROPERTY(" << cpp_string_literal(p.name) << ", " << cpp_string_literal(p.type)
          << ", &" << c.cls << "::offshoot_get_" << p.name << ",\n"
          << "                                 &" << c.cls << "::offshoot_set_" << p.name << ", 0, " << flags
          << "),\n";
}

}  // namespace

void write_vtable(std::ostream& o, const ClassInfo& c) {
    o << "inline const sd_bus_vtable* " << c.cls << "::vtable() const noexcept {\n"
      << "    static const sd_bus_vtable table[] = {\n"
      << "        SD_BUS_VTABLE_START(0),\n";
    for (const auto& m : c.iface.methods) write_method_entry(o, c, m);
    for (const auto& s : c.iface.signals) write_signal_entry(o, s);
    for (const auto& p : c.iface.properties) write_property_entry(o, c, p);
    o << "        SD_BUS_VTABLE_END};\n"
      << "    return table;\n"
      << "}\n";
}

}  // namespace adaptorgen

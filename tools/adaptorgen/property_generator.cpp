// property_generator.cpp — see property_generator.hpp.
#include "property_generator.hpp"

#include "type_mapping.hpp"

#include <stdexcept>

namespace adaptorgen {

namespace {

void write_getter_handler(std::ostream& o, const Property& p) {
    o << "\n    static int offshoot_get_" << p.name
      << "(sd_bus*, const char*, const char*, const char*, sd_bus_message* offshoot_reply,\n"
      << "            void* offshoot_userdata, sd_bus_error* offshoot_error) noexcept {\n"
      << "        try {\n"
      << "            offshoot::marshal::append(offshoot_reply, offshoot_self(offshoot_userdata)." << cpp_member(p.name)
      << "());\n"
      << "            return 0;\n"
      << "        } catch (...) {\n"
      << "            return offshoot::detail::exception_to_error(offshoot_error);\n"
      << "        }\n"
      << "    }\n";
}

void write_setter_handler(std::ostream& o, const Property& p) {
    o << "\n    static int offshoot_set_" << p.name
      << "(sd_bus*, const char*, const char*, const char*, sd_bus_message* offshoot_value,\n"
      << "            void* offshoot_userdata, sd_bus_error* offshoot_error) noexcept {\n"
      << "        try {\n"
      << "            " << cpp_type(p.type) << " offshoot_v{};\n"
      << "            offshoot::marshal::read(offshoot_value, offshoot_v);\n"
      << "            offshoot_self(offshoot_userdata)." << cpp_member(p.name) << "(offshoot_v);\n"
      << "            return 0;\n"
      << "        } catch (...) {\n"
      << "            return offshoot::detail::exception_to_error(offshoot_error);\n"
      << "        }\n"
      << "    }\n";
}

}  // namespace

void write_property_declarations(std::ostream& o, const Interface& iface) {
    if (!iface.properties.empty()) o << "\n    // Properties\n";
    for (const auto& p : iface.properties) {
        const std::string t = cpp_type(p.type);
        o << "    virtual " << t << " " << cpp_member(p.name) << "() = 0;\n";
        if (p.access != "read") o << "    virtual void " << cpp_member(p.name) << "(const " << t << "& value) = 0;\n";
    }
}

void write_change_emitters(std::ostream& o, const Interface& iface) {
    bool any = false;
    for (const auto& p : iface.properties) {
        if (!has_change_emitter(iface, p)) continue;
        if (!any) o << "\n    // org.freedesktop.DBus.Properties.PropertiesChanged for one property\n";
        any = true;
        o << "    void emit" << p.name << "Changed() { this->emit_properties_changed({" << cpp_string_literal(p.name)
          << "}); }\n";
    }
}

void write_property_handlers(std::ostream& o, const Interface& iface) {
    for (const auto& p : iface.properties) {
        write_getter_handler(o, p);
        if (p.access != "read") write_setter_handler(o, p);
    }
}

std::string property_flags(const Interface& iface, const Property& p) {
    const std::string emits = emits_changed(iface, p);
    const char* base = emits == "true"          ? "SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE"
                       : emits == "invalidates" ? "SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION"
                       : emits == "const"       ? "SD_BUS_VTABLE_PROPERTY_CONST"
                       : emits == "false"       ? "0"
                                                : nullptr;
    if (!base)
        throw std::runtime_error("property " + iface.name + "." + p.name +
                                 ": EmitsChangedSignal must be true, invalidates, const or false, not '" +
                                 emits + "'");
    // Constructed, not assigned: GCC 12 at -O3 reports a false -Wrestrict for assigning a short
    // literal to a std::string (its bug 105329).
    std::string flags(base);
    if (p.access != "read") {
        if (emits == "const")
            throw std::runtime_error("property " + iface.name + "." + p.name + " is writable, so it cannot be const");
        flags += " | SD_BUS_VTABLE_UNPRIVILEGED";
    }
    if (annotation_true(p.annotations, "org.freedesktop.DBus.Deprecated")) flags += " | SD_BUS_VTABLE_DEPRECATED";
    return flags;
}

}  // namespace adaptorgen

// adaptor_generator.cpp — see adaptor_generator.hpp. The output is plain text assembled line
// by line; tests/unit/test-adaptorgen.cpp compiles it for an XML that uses every feature and
// drives it over a real sd-bus connection.
#include "adaptor_generator.hpp"

#include "type_mapping.hpp"

#include <set>
#include <sstream>
#include <stdexcept>

namespace adaptorgen {

namespace {

// Names offshoot::Object (and the generated class itself) already uses.
const std::set<std::string>& reserved_members() {
    static const std::set<std::string> names = {
        "interface_name", "vtable", "start", "stop", "set_signal_sink", "signal_sink", "add_to_bus",
        "emit_properties_changed", "emit_signal", "emit_signal_with", "call_fill", "INTERFACE_NAME"};
    return names;
}

// A D-Bus member name as a C++ member name (D-Bus allows `delete`, C++ does not).
std::string cpp_member(const std::string& name) { return cpp_identifier(name, name); }

struct Param {
    std::string cpp_name;
    std::string type;  // C++
};

// C++ parameter names for `args`: from the XML where usable, else argN; unique.
std::vector<Param> params_of(const std::vector<Arg>& args) {
    std::vector<Param> out;
    std::set<std::string> used;
    for (size_t i = 0; i < args.size(); ++i) {
        std::string name = cpp_identifier(args[i].name, "arg" + std::to_string(i));
        if (name.rfind("offshoot_", 0) == 0) name = "a_" + name;
        const std::string base = name;
        for (int n = 2; used.count(name); ++n) name = base + "_" + std::to_string(n);
        used.insert(name);
        out.push_back({name, cpp_type(args[i].type)});
    }
    return out;
}

std::string joined_signature(const std::vector<Arg>& args) {
    std::string s;
    for (const auto& a : args) s += a.type;
    return s;
}

// sd-bus's parameter name list: each name NUL-terminated, as SD_BUS_PARAM builds it. Names
// missing from the XML become argN so that the list stays aligned with the signature.
std::string names_literal(const std::vector<Arg>& args) {
    if (args.empty()) return "\"\"";
    std::string out;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string name = args[i].name.empty() ? "arg" + std::to_string(i) : args[i].name;
        out += cpp_string_literal(name + '\0');
        if (i + 1 < args.size()) out += " ";
    }
    return out;
}

std::string result_type(const std::vector<Arg>& out) {
    if (out.empty()) return "void";
    if (out.size() == 1) return cpp_type(out[0].type);
    std::string t = "std::tuple<";
    for (size_t i = 0; i < out.size(); ++i) t += (i ? ", " : "") + cpp_type(out[i].type);
    return t + ">";
}

std::string param_list(const std::vector<Param>& ps) {
    std::string s;
    for (size_t i = 0; i < ps.size(); ++i) s += (i ? ", " : "") + ("const " + ps[i].type + "& " + ps[i].cpp_name);
    return s;
}

bool annotation_true(const Annotations& a, const std::string& name) {
    const auto it = a.find(name);
    return it != a.end() && it->second == "true";
}

// EmitsChangedSignal: the property's own annotation, else the interface's, else "true".
std::string emits_changed(const Interface& iface, const Property& p) {
    static const std::string key = "org.freedesktop.DBus.Property.EmitsChangedSignal";
    auto it = p.annotations.find(key);
    if (it != p.annotations.end()) return it->second;
    it = iface.annotations.find(key);
    if (it != iface.annotations.end()) return it->second;
    return "true";
}

std::string property_flags(const Interface& iface, const Property& p) {
    const std::string emits = emits_changed(iface, p);
    std::string flags;
    if (emits == "true") flags = "SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE";
    else if (emits == "invalidates") flags = "SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION";
    else if (emits == "const") flags = "SD_BUS_VTABLE_PROPERTY_CONST";
    else if (emits == "false") flags = "0";
    else
        throw std::runtime_error("property " + iface.name + "." + p.name +
                                 ": EmitsChangedSignal must be true, invalidates, const or false, not '" +
                                 emits + "'");
    if (p.access != "read") {
        if (emits == "const")
            throw std::runtime_error("property " + iface.name + "." + p.name + " is writable, so it cannot be const");
        flags += " | SD_BUS_VTABLE_UNPRIVILEGED";
    }
    if (annotation_true(p.annotations, "org.freedesktop.DBus.Deprecated")) flags += " | SD_BUS_VTABLE_DEPRECATED";
    return flags;
}

void check_names(const Interface& iface) {
    std::set<std::string> seen;
    auto claim = [&](const std::string& name, const char* kind) {
        if (reserved_members().count(name))
            throw std::runtime_error(iface.name + ": " + kind + " '" + name +
                                     "' collides with a member of offshoot::Object");
        if (!seen.insert(name).second)
            throw std::runtime_error(iface.name + ": more than one method/property/emitter named '" + name + "'");
    };
    for (const auto& m : iface.methods) claim(cpp_member(m.name), "method");
    for (const auto& p : iface.properties) claim(cpp_member(p.name), "property");
    for (const auto& s : iface.signals) claim("emit" + s.name, "signal emitter");
    for (const auto& p : iface.properties)
        if (emits_changed(iface, p) == "true" || emits_changed(iface, p) == "invalidates")
            claim("emit" + p.name + "Changed", "property-change emitter");
}

void write_interface(std::ostream& o, const Interface& iface) {
    check_names(iface);
    const auto ns = namespace_of(iface.name);
    const std::string cls = class_base_name(iface.name) + "_adaptor";

    if (!ns.empty()) {
        o << "namespace ";
        for (size_t i = 0; i < ns.size(); ++i) o << (i ? "::" : "") << ns[i];
        o << " {\n\n";
    }
    o << "class " << cls << " : public offshoot::Object {\n"
      << "public:\n"
      << "    static constexpr const char* INTERFACE_NAME = " << cpp_string_literal(iface.name) << ";\n\n"
      << "    const char* interface_name() const noexcept override { return INTERFACE_NAME; }\n"
      << "    const sd_bus_vtable* vtable() const noexcept override;\n";

    if (!iface.methods.empty()) o << "\n    // Methods\n";
    for (const auto& m : iface.methods)
        o << "    virtual " << result_type(m.out) << " " << cpp_member(m.name) << "(" << param_list(params_of(m.in))
          << ") = 0;\n";

    if (!iface.properties.empty()) o << "\n    // Properties\n";
    for (const auto& p : iface.properties) {
        const std::string t = cpp_type(p.type);
        o << "    virtual " << t << " " << cpp_member(p.name) << "() = 0;\n";
        if (p.access != "read") o << "    virtual void " << cpp_member(p.name) << "(const " << t << "& value) = 0;\n";
    }

    o << "\nprotected:\n"
      << "    " << cls << "() = default;\n";
    if (!iface.signals.empty()) o << "\n    // Signals: emitted on every connection the object is served on\n";
    for (const auto& s : iface.signals) {
        const auto ps = params_of(s.args);
        o << "    void emit" << s.name << "(" << param_list(ps) << ") {\n"
          << "        this->emit_signal(" << cpp_string_literal(s.name);
        for (const auto& p : ps) o << ", " << p.cpp_name;
        o << ");\n    }\n";
    }
    bool any_changed = false;
    for (const auto& p : iface.properties) {
        const std::string e = emits_changed(iface, p);
        if (e != "true" && e != "invalidates") continue;
        if (!any_changed) o << "\n    // org.freedesktop.DBus.Properties.PropertiesChanged for one property\n";
        any_changed = true;
        o << "    void emit" << p.name << "Changed() { this->emit_properties_changed({"
          << cpp_string_literal(p.name) << "}); }\n";
    }

    // The sd-bus side: static handlers reached through the vtable with this Object* as userdata.
    o << "\nprivate:\n"
      << "    static " << cls << "& offshoot_self(void* userdata) noexcept {\n"
      << "        return *static_cast<" << cls << "*>(static_cast<offshoot::Object*>(userdata));\n"
      << "    }\n";
    for (const auto& m : iface.methods) {
        o << "\n    static int offshoot_method_" << m.name
          << "(sd_bus_message* offshoot_m, void* offshoot_userdata, sd_bus_error* offshoot_error) noexcept {\n"
          << "        try {\n";
        for (size_t i = 0; i < m.in.size(); ++i)
            o << "            " << cpp_type(m.in[i].type) << " offshoot_in" << i << "{};\n"
              << "            offshoot::marshal::read(offshoot_m, offshoot_in" << i << ");\n";
        std::string call = "offshoot_self(offshoot_userdata)." + cpp_member(m.name) + "(";
        for (size_t i = 0; i < m.in.size(); ++i) call += (i ? ", " : "") + ("offshoot_in" + std::to_string(i));
        call += ")";
        if (m.out.empty())
            o << "            " << call << ";\n"
              << "            offshoot::marshal::reply(offshoot_m);\n";
        else if (m.out.size() == 1)
            o << "            const auto offshoot_out = " << call << ";\n"
              << "            offshoot::marshal::reply(offshoot_m, offshoot_out);\n";
        else
            o << "            const auto offshoot_out = " << call << ";\n"
              << "            offshoot::marshal::reply_tuple(offshoot_m, offshoot_out);\n";
        o << "            return 1;\n"
          << "        } catch (...) {\n"
          << "            return offshoot::detail::exception_to_error(offshoot_error);\n"
          << "        }\n"
          << "    }\n";
    }
    for (const auto& p : iface.properties) {
        const std::string t = cpp_type(p.type);
        o << "\n    static int offshoot_get_" << p.name
          << "(sd_bus*, const char*, const char*, const char*, sd_bus_message* offshoot_reply,\n"
          << "            void* offshoot_userdata, sd_bus_error* offshoot_error) noexcept {\n"
          << "        try {\n"
          << "            offshoot::marshal::append(offshoot_reply, offshoot_self(offshoot_userdata)." << cpp_member(p.name) << "());\n"
          << "            return 0;\n"
          << "        } catch (...) {\n"
          << "            return offshoot::detail::exception_to_error(offshoot_error);\n"
          << "        }\n"
          << "    }\n";
        if (p.access == "read") continue;
        o << "\n    static int offshoot_set_" << p.name
          << "(sd_bus*, const char*, const char*, const char*, sd_bus_message* offshoot_value,\n"
          << "            void* offshoot_userdata, sd_bus_error* offshoot_error) noexcept {\n"
          << "        try {\n"
          << "            " << t << " offshoot_v{};\n"
          << "            offshoot::marshal::read(offshoot_value, offshoot_v);\n"
          << "            offshoot_self(offshoot_userdata)." << cpp_member(p.name) << "(offshoot_v);\n"
          << "            return 0;\n"
          << "        } catch (...) {\n"
          << "            return offshoot::detail::exception_to_error(offshoot_error);\n"
          << "        }\n"
          << "    }\n";
    }
    o << "};\n\n";

    // The vtable, with real argument names so sd-bus's own introspection matches the XML.
    o << "inline const sd_bus_vtable* " << cls << "::vtable() const noexcept {\n"
      << "    static const sd_bus_vtable table[] = {\n"
      << "        SD_BUS_VTABLE_START(0),\n";
    for (const auto& m : iface.methods) {
        std::string flags = "SD_BUS_VTABLE_UNPRIVILEGED";
        if (annotation_true(m.annotations, "org.freedesktop.DBus.Method.NoReply")) {
            if (!m.out.empty())
                throw std::runtime_error(iface.name + "." + m.name + " is NoReply but has out-args");
            flags += " | SD_BUS_VTABLE_METHOD_NO_REPLY";
        }
        if (annotation_true(m.annotations, "org.freedesktop.DBus.Deprecated")) flags += " | SD_BUS_VTABLE_DEPRECATED";
        o << "        SD_BUS_METHOD_WITH_NAMES(" << cpp_string_literal(m.name) << ", "
          << cpp_string_literal(joined_signature(m.in)) << ", " << names_literal(m.in) << ",\n"
          << "                                 " << cpp_string_literal(joined_signature(m.out)) << ", "
          << names_literal(m.out) << ",\n"
          << "                                 &" << cls << "::offshoot_method_" << m.name << ", " << flags << "),\n";
    }
    for (const auto& s : iface.signals) {
        const std::string flags =
            annotation_true(s.annotations, "org.freedesktop.DBus.Deprecated") ? "SD_BUS_VTABLE_DEPRECATED" : "0";
        o << "        SD_BUS_SIGNAL_WITH_NAMES(" << cpp_string_literal(s.name) << ", "
          << cpp_string_literal(joined_signature(s.args)) << ", " << names_literal(s.args) << ", " << flags
          << "),\n";
    }
    for (const auto& p : iface.properties) {
        const std::string flags = property_flags(iface, p);
        if (p.access == "read")
            o << "        SD_BUS_PROPERTY(" << cpp_string_literal(p.name) << ", " << cpp_string_literal(p.type)
              << ", &" << cls << "::offshoot_get_" << p.name << ", 0, " << flags << "),\n";
        else
            o << "        SD_BUS_WRITABLE_PROPERTY(" << cpp_string_literal(p.name) << ", "
              << cpp_string_literal(p.type) << ", &" << cls << "::offshoot_get_" << p.name << ",\n"
              << "                                 &" << cls << "::offshoot_set_" << p.name << ", 0, " << flags
              << "),\n";
    }
    o << "        SD_BUS_VTABLE_END};\n"
      << "    return table;\n"
      << "}\n";

    if (!ns.empty()) {
        o << "\n}  // namespace ";
        for (size_t i = 0; i < ns.size(); ++i) o << (i ? "::" : "") << ns[i];
        o << "\n";
    }
}

}  // namespace

std::string generate_adaptor_header(const std::vector<Interface>& interfaces, const std::string& source_name) {
    std::ostringstream o;
    o << "// Generated by offshoot-adaptorgen from " << source_name << " — do not edit.\n"
      << "// Abstract sd-bus adaptors: derive from them, implement the pure virtual members and\n"
      << "// export the class with OFFSHOOT_CLASS (offshoot/worker.hpp).\n"
      << "#pragma once\n\n"
      << "#include <offshoot/worker.hpp>\n\n"
      << "#include <sdbus-c++/Types.h>\n"
      << "#include <systemd/sd-bus.h>\n\n"
      << "#include <cstdint>\n"
      << "#include <map>\n"
      << "#include <string>\n"
      << "#include <tuple>\n"
      << "#include <vector>\n";
    for (const auto& iface : interfaces) {
        o << "\n";
        write_interface(o, iface);
    }
    return o.str();
}

}  // namespace adaptorgen

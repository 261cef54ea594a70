// signal_generator.cpp — see signal_generator.hpp.
#include "signal_generator.hpp"

#include "type_mapping.hpp"

namespace adaptorgen {

void write_signal_emitters(std::ostream& o, const Interface& iface) {
    if (!iface.signals.empty()) o << "\n    // Signals: emitted on every connection the object is served on\n";
    for (const auto& s : iface.signals) {
        const auto ps = params_of(s.args);
        o << "    void emit" << s.name << "(" << param_list(ps) << ") {\n"
          << "        this->emit_signal(" << cpp_string_literal(s.name);
        for (const auto& p : ps) o << ", " << p.cpp_name;
        o << ");\n    }\n";
    }
}

std::string signal_flags(const Signal& s) {
    return annotation_true(s.annotations, "org.freedesktop.DBus.Deprecated") ? "SD_BUS_VTABLE_DEPRECATED" : "0";
}

}  // namespace adaptorgen

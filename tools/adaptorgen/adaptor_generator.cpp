// adaptor_generator.cpp — see adaptor_generator.hpp. The output is plain text assembled line
// by line, one class per interface, by the generators for each kind (base_generator.hpp
// says which writes what); tests/unit/test-adaptorgen.cpp compiles it for an XML that uses
// every feature and drives it over a real sd-bus connection.
#include "adaptor_generator.hpp"

#include "base_generator.hpp"
#include "method_generator.hpp"
#include "property_generator.hpp"
#include "signal_generator.hpp"
#include "vtable_generator.hpp"

#include <sstream>

namespace adaptorgen {

namespace {

void write_interface(std::ostream& o, const Interface& iface) {
    check_names(iface);
    const ClassInfo c = class_info(iface);
    open_namespace(o, iface);

    write_class_head(o, c);
    write_method_declarations(o, iface);
    write_property_declarations(o, iface);

    write_protected_head(o, c);
    write_signal_emitters(o, iface);
    write_change_emitters(o, iface);

    write_private_head(o, c);
    write_method_handlers(o, iface);
    write_property_handlers(o, iface);
    write_class_end(o);

    write_vtable(o, c);
    close_namespace(o, iface);
}

}  // namespace

std::string generate_adaptor_header(const std::vector<Interface>& interfaces, const std::string& source_name) {
    std::ostringstream o;
    write_file_head(o, source_name);
    for (const auto& iface : interfaces) {
        o << "\n";
        write_interface(o, iface);
    }
    return o.str();
}

}  // namespace adaptorgen

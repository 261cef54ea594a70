// base_generator.hpp — what every part of offshoot-adaptorgen's output shares: the file's
// head, namespaces and the class's skeleton (its public, protected and private heads and its
// end), and the helpers the per-kind generators build on — C++ parameters for D-Bus args,
// sd-bus name lists and signatures, result types, annotations, and the check that the
// generated members' names are usable. The kinds themselves are in method_generator,
// property_generator, signal_generator and vtable_generator (as sdbus-c++'s own
// code generator splits a base generator from one generator per output kind).
#pragma once

#include "model.hpp"

#include <ostream>
#include <string>
#include <vector>

namespace adaptorgen {

// The class being written for one interface, as the per-kind generators need it.
struct ClassInfo {
    const Interface& iface;
    std::string cls;  // "<Name>_adaptor"
};
ClassInfo class_info(const Interface& iface);

// A D-Bus member name as a C++ member name (D-Bus allows `delete`, C++ does not).
std::string cpp_member(const std::string& name);

struct Param {
    std::string cpp_name;
    std::string type;  // C++
};
// C++ parameter names for `args`: from the XML where usable, else argN; unique.
std::vector<Param> params_of(const std::vector<Arg>& args);
// "const T& a, const U& b".
std::string param_list(const std::vector<Param>& ps);

// The D-Bus signature of all `args` together.
std::string joined_signature(const std::vector<Arg>& args);
// sd-bus's parameter name list for `args`, as a C++ literal (SD_BUS_PARAM's shape).
std::string names_literal(const std::vector<Arg>& args);

// What a synchronous method returns: void, T or std::tuple<T…>.
std::string result_type(const std::vector<Arg>& out);
// What an asynchronous method answers through: offshoot::Result<T…>.
std::string async_result_type(const std::vector<Arg>& out);

bool annotation_true(const Annotations& a, const std::string& name);
// EmitsChangedSignal: the property's own annotation, else the interface's, else "true".
std::string emits_changed(const Interface& iface, const Property& p);
// Whether the property gets an emit<Name>Changed() (EmitsChangedSignal true or invalidates).
bool has_change_emitter(const Interface& iface, const Property& p);

// Throws std::runtime_error when a generated member would collide with offshoot::Object's
// or with another generated member.
void check_names(const Interface& iface);

// The header's first lines and includes; `source_name` is the XML it was generated from.
void write_file_head(std::ostream& o, const std::string& source_name);
// `namespace a::b {` and its end, for the interface's dotted prefix (nothing when it has none).
void open_namespace(std::ostream& o, const Interface& iface);
void close_namespace(std::ostream& o, const Interface& iface);

// The class's skeleton: written in this order, with each kind's members in between.
void write_class_head(std::ostream& o, const ClassInfo& c);      // class …, public: names, vtable()
void write_protected_head(std::ostream& o, const ClassInfo& c);  // protected: constructor
void write_private_head(std::ostream& o, const ClassInfo& c);    // private: offshoot_self()
void write_class_end(std::ostream& o);

}  // namespace adaptorgen

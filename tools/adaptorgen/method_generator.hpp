// method_generator.hpp — offshoot-adaptorgen's output for D-Bus methods: a pure virtual member
// per method and the static sd-bus handler that unmarshals its in-args, calls it, and
// marshals the reply or turns the exception into a D-Bus error.
//
// A method annotated org.freedesktop.DBus.Method.Async = server (or clientserver, sdbus-c++'s
// other value that includes the server side) is asynchronous: its virtual takes an
// offshoot::Result<out-args…> first and answers through it, now or later, from any thread;
// its handler defers the reply (offshoot/result.hpp).
#pragma once

#include "base_generator.hpp"

#include <ostream>
#include <string>

namespace adaptorgen {

bool is_async(const Method& m);

// The "// Methods" block of the public section.
void write_method_declarations(std::ostream& o, const Interface& iface);
// offshoot_method_<Name>() for every method, in the private section.
void write_method_handlers(std::ostream& o, const Interface& iface);
// The method's vtable flags; throws std::runtime_error for a NoReply method with out-args.
std::string method_flags(const Interface& iface, const Method& m);

}  // namespace adaptorgen

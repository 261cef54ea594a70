// signal_generator.hpp — offshoot-adaptorgen's output for D-Bus signals: a protected
// emit<Name>(args…) per signal, which emits it on every connection the object is served on,
// and the signal's vtable flags.
#pragma once

#include "base_generator.hpp"

#include <ostream>
#include <string>

namespace adaptorgen {

// The "// Signals" block of the protected section.
void write_signal_emitters(std::ostream& o, const Interface& iface);
std::string signal_flags(const Signal& s);

}  // namespace adaptorgen

// xml_reader.hpp — introspection XML → model, with expat. Interfaces nested in child
// <node>s are read too. Errors (malformed XML, a missing attribute, an invalid name or type)
// throw std::runtime_error as "FILE:LINE: message".
#pragma once

#include "model.hpp"

#include <string>
#include <vector>

namespace adaptorgen {

std::vector<Interface> read_interfaces(const std::string& path);

}  // namespace adaptorgen

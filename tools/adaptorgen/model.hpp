// model.hpp — what offshoot-adaptorgen reads from introspection XML: interfaces with their
// methods, signals and properties, in document order.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace adaptorgen {

struct Arg {
    std::string name;  // may be empty in the XML
    std::string type;  // a single complete D-Bus type
    bool out = false;
    int line = 0;
};

using Annotations = std::map<std::string, std::string>;

struct Method {
    std::string name;
    std::vector<Arg> in, out;
    Annotations annotations;
    int line = 0;
};

struct Signal {
    std::string name;
    std::vector<Arg> args;
    Annotations annotations;
    int line = 0;
};

struct Property {
    std::string name;
    std::string type;
    std::string access;  // read, write or readwrite
    Annotations annotations;
    int line = 0;
};

struct Interface {
    std::string name;
    std::vector<Method> methods;
    std::vector<Signal> signals;
    std::vector<Property> properties;
    Annotations annotations;
    int line = 0;
};

}  // namespace adaptorgen

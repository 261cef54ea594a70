// greeter.cpp — the Greeter class: what runs inside the worker process, as the user the
// caller asked for. The base class is generated from org.example.Greeter.xml.
#include "org.example.Greeter_adaptor.hpp"

#include <offshoot/worker.hpp>

#include <unistd.h>

#include <string>

namespace {

class Greeter final : public org::example::Greeter_adaptor {
public:
    std::string Greet(const std::string& name) override {
        if (name.empty())
            throw offshoot::Error("org.example.Greeter.Error.NoName", "Greet needs a name");
        return "Hello, " + name + "! I am uid " + std::to_string(::getuid()) + ".";
    }
};

}  // namespace

OFFSHOOT_CLASS(Greeter)

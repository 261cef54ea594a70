// greet.cpp — a client of the Greeter class: spawns an instance (as another user if asked),
// calls Greet through the proxy generated from org.example.Greeter.xml, and lets the
// instance be stopped when it goes out of scope.
//
//   greet [--address=ADDR] NAME [UID]      (offshootd on the system bus unless ADDR is given)
#include <offshoot/client.hpp>

#include "org.example.Greeter_proxy.h"

#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

namespace {

class GreeterProxy final : public sdbus::ProxyInterfaces<org::example::Greeter_proxy> {
public:
    GreeterProxy(sdbus::IConnection& connection, std::string destination, std::string path)
        : ProxyInterfaces(connection, std::move(destination), std::move(path)) { registerProxy(); }
    ~GreeterProxy() { unregisterProxy(); }
};

}  // namespace

int main(int argc, char** argv) {
    std::string address;
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.rfind("--address=", 0) == 0) address = arg.substr(10);
        else args.push_back(arg);
    }
    if (args.empty() || args.size() > 2) {
        std::cerr << "usage: greet [--address=ADDR] NAME [UID]\n";
        return 2;
    }
    try {
        auto supervisor = address.empty() ? offshoot::Supervisor::system() : offshoot::Supervisor::at(address);
        const uint32_t uid = args.size() == 2 ? static_cast<uint32_t>(std::stoul(args[1])) : ::getuid();
        auto greeter = offshoot::make_bridge<GreeterProxy>(supervisor, "Greeter", uid);
        std::cout << greeter->Greet(args[0]) << '\n';
        std::cout << "(instance " << greeter.instance().path() << ", pid " << greeter.instance().pid() << ")\n";
    } catch (const offshoot::Error& e) {
        std::cerr << "Error " << e.getName() << ": " << e.getMessage() << '\n';
        return 1;
    }
    return 0;
}

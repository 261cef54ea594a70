// echo_proxy.hpp — the Echo class's generated sdbus-c++ proxy (offshoot_add_proxy), written as
// a user writes it (client/connected.hpp), plus raw() for sdbus-c++'s async call API.
#pragma once

#include "org.offshoot1.example.Echo_proxy.h"

#include <sdbus-c++/sdbus-c++.h>

#include <string>
#include <utility>

namespace offshoot::bench {

class EchoProxy final : public sdbus::ProxyInterfaces<org::offshoot1::example::Echo_proxy> {
public:
    EchoProxy(sdbus::IConnection& c, std::string destination, std::string path)
        : ProxyInterfaces(c, std::move(destination), std::move(path)) {
        registerProxy();
    }
    ~EchoProxy() { unregisterProxy(); }
    sdbus::IProxy& raw() { return getProxy(); }
};

}  // namespace offshoot::bench

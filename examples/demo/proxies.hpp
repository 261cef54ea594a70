// proxies.hpp — the demo's proxy classes over the code sdbus-c++-xml2cpp generates from the
// example classes' XML: the shape every offshoot client writes (see offshoot/client/connected.hpp).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "org.offshoot1.example.Counter_proxy.h"
#include "org.offshoot1.example.Identity_proxy.h"

namespace demo {

class CounterProxy final : public sdbus::ProxyInterfaces<org::offshoot1::example::Counter_proxy> {
public:
    CounterProxy(sdbus::IConnection& connection, std::string destination, std::string path)
        : ProxyInterfaces(connection, std::move(destination), std::move(path)) {
        registerProxy();
    }
    ~CounterProxy() { unregisterProxy(); }

    // Waits (up to `deadline`) until a Changed signal carried `value`.
    bool wait_for_changed(int64_t value, std::chrono::milliseconds deadline) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, deadline, [&] {
            for (auto v : seen_)
                if (v == value)
                    return true;
            return false;
        });
    }

    std::vector<int64_t> changes() {
        std::lock_guard lock(mutex_);
        return seen_;
    }

private:
    // Runs on the private connection's event-loop thread.
    void onChanged(const int64_t& value) override {
        {
            std::lock_guard lock(mutex_);
            seen_.push_back(value);
        }
        changed_.notify_all();
    }

    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<int64_t> seen_;
};

class IdentityProxy final
    : public sdbus::ProxyInterfaces<org::offshoot1::example::Identity_proxy> {
public:
    IdentityProxy(sdbus::IConnection& connection, std::string destination, std::string path)
        : ProxyInterfaces(connection, std::move(destination), std::move(path)) {
        registerProxy();
    }
    ~IdentityProxy() { unregisterProxy(); }
};

}  // namespace demo

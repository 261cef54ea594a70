// links.hpp (private) — the objects behind Supervisor and Instance: the supervisor connection
// with its event loop, and one instance handle with its generated org.offshoot1.Instance proxy.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "offshoot/client.hpp"
#include "org.offshoot1.Instance_proxy.h"
#include "org.offshoot1.Supervisor_proxy.h"

namespace offshoot::detail {

class SupervisorProxy final : public sdbus::ProxyInterfaces<org::offshoot1::Supervisor_proxy> {
public:
    explicit SupervisorProxy(sdbus::IConnection& connection)
        : ProxyInterfaces(connection, names::bus_name, names::supervisor_path) {
        registerProxy();
    }
    ~SupervisorProxy() { unregisterProxy(); }

    // The untyped proxy, for calls that need a timeout of their own.
    sdbus::IProxy& untyped() { return getProxy(); }
};

// Destroyed in reverse order of declaration: loop first (no more callbacks), then the proxy,
// then the connection. Instances hold a shared_ptr to it, so it outlives all of them.
struct SupervisorLink {
    explicit SupervisorLink(std::unique_ptr<sdbus::IConnection> bus);

    // An instance's private connection: its address as it is, or through ssh to `host`.
    std::unique_ptr<sdbus::IConnection> open_instance_connection(const std::string& address) const;

    std::string host;  // Supervisor::remote's ssh destination, or empty
    std::unique_ptr<sdbus::IConnection> connection;
    SupervisorProxy proxy;
    EventLoopThread loop;
};

// The generated Instance proxy. Its Exited match is added only when someone asks for it
// (listen()), so a plain spawn costs no AddMatch round trip.
class InstanceProxy final : public sdbus::ProxyInterfaces<org::offshoot1::Instance_proxy> {
public:
    InstanceProxy(sdbus::IConnection& connection, const std::string& path,
                  std::function<void(const ExitStatus&)> on_exited,
                  std::function<void(const RestartInfo&)> on_restarted)
        : ProxyInterfaces(connection, names::bus_name, path),
          on_exited_(std::move(on_exited)),
          on_restarted_(std::move(on_restarted)) {}
    ~InstanceProxy() { unregisterProxy(); }

    void listen();  // idempotent
    sdbus::IProxy& untyped() { return getProxy(); }

private:
    void onExited(const std::string& result, const int32_t& code) override {
        on_exited_(ExitStatus{result, code});
    }
    void onRestarted(const std::string& result, const int32_t& code, const uint32_t& n_restarts) override {
        on_restarted_(RestartInfo{ExitStatus{result, code}, n_restarts});
    }

    std::function<void(const ExitStatus&)> on_exited_;
    std::function<void(const RestartInfo&)> on_restarted_;
    std::once_flag listening_;
};

struct InstanceHandle {
    InstanceHandle(std::shared_ptr<SupervisorLink> link, std::string path,
                   std::string spawn_address, std::optional<StopMode> stop_mode,
                   std::optional<uint64_t> stop_timeout_usec);

    // The method-call timeout (µs) for Stop and Release: the instance's stop timeout plus a
    // margin, or none at all when the work is allowed to finish by itself.
    uint64_t stop_call_timeout() const;

    // From the loop thread (Exited) or from on_exit (already finished): calls the callback
    // once per exit.
    void exited(const ExitStatus& status);
    void restarted(const RestartInfo& info);

    std::shared_ptr<SupervisorLink> link;  // first: destroyed last
    std::string path;
    std::string spawn_address;  // from Spawn's reply, until the process changes
    std::optional<StopMode> stop_mode;
    std::optional<uint64_t> stop_timeout_usec;

    std::mutex mutex;  // guards the three below
    std::function<void(const ExitStatus&)> on_exit;
    std::function<void(const RestartInfo&)> on_restart;
    uint64_t exits_seen = 0;

    InstanceProxy proxy;  // last: destroyed first, so no signal reaches a half-gone handle
};

}  // namespace offshoot::detail

// supervisor.cpp — offshoot::Supervisor: the client's connection to offshootd.
#include <tuple>

#include "links.hpp"

namespace offshoot {

namespace detail {

SupervisorLink::SupervisorLink(std::unique_ptr<sdbus::IConnection> bus)
    : connection(std::move(bus)), proxy(*connection), loop(*connection) {}

std::unique_ptr<sdbus::IConnection> SupervisorLink::open_instance_connection(const std::string& address) const {
    return open_connection(host.empty() ? address : ssh_tunnel_address(host, address));
}

}  // namespace detail

Supervisor Supervisor::system() { return Supervisor(sdbus::createSystemBusConnection()); }

Supervisor Supervisor::session() { return Supervisor(sdbus::createSessionBusConnection()); }

Supervisor Supervisor::at(const std::string& address) {
    return Supervisor(sdbus::createSessionBusConnectionWithAddress(address));
}

Supervisor Supervisor::remote(const std::string& host) {
    // Checked here, so that a host the instances' tunnels could not use fails now, not later.
    (void)ssh_tunnel_address(host, "unix:path=/");
    Supervisor s(sdbus::createRemoteSystemBusConnection(host));
    s.link_->host = host;  // before anything can open an instance's connection
    return s;
}

Supervisor::Supervisor(std::unique_ptr<sdbus::IConnection> connection) {
    if (!connection)
        throw Error(errors::invalid_argument, "offshoot::Supervisor needs a connection");
    link_ = std::make_shared<detail::SupervisorLink>(std::move(connection));
}

Instance Supervisor::spawn(const std::string& class_name, uint32_t uid) {
    // SpawnWithOptions rather than Spawn, so that tie-to-caller is sent (the library's default
    // differs from the bus default).
    return spawn(class_name, SpawnOptions{.uid = uid});
}

Instance Supervisor::spawn(const std::string& class_name, const SpawnOptions& options) {
    std::tuple<sdbus::ObjectPath, std::string> reply;
    // The generated SpawnWithOptions() uses the default 25 s timeout; a spawn waits for the
    // worker to register its object, so it gets spawn_timeout.
    link_->proxy.untyped()
        .callMethod("SpawnWithOptions")
        .onInterface(names::supervisor_interface)
        .withTimeout(spawn_timeout)
        .withArguments(class_name, to_dbus(options))
        .storeResultsTo(reply);
    auto& [path, address] = reply;
    return Instance(std::make_unique<detail::InstanceHandle>(
        link_, std::move(path), std::move(address), options.stop_mode, options.stop_timeout_usec));
}

Instance Supervisor::adopt(const std::string& instance_path) {
    auto handle = std::make_unique<detail::InstanceHandle>(link_, instance_path, std::string(),
                                                           std::nullopt, std::nullopt);
    (void)handle->proxy.Id();  // fails at once (UnknownObject) if there is no such handle
    return Instance(std::move(handle));
}

std::vector<ClassInfo> Supervisor::classes() const {
    std::vector<ClassInfo> out;
    for (const auto& row : link_->proxy.ListClasses())
        out.push_back(ClassInfo{std::get<0>(row), std::get<1>(row)});
    return out;
}

std::vector<InstanceInfo> Supervisor::instances() const {
    std::vector<InstanceInfo> out;
    for (const auto& row : link_->proxy.ListInstances())
        out.push_back(InstanceInfo{std::get<0>(row), std::get<1>(row), std::get<2>(row),
                                   std::get<3>(row), std::get<4>(row), std::get<5>(row)});
    return out;
}

std::string Supervisor::version() const { return link_->proxy.Version(); }

uint32_t Supervisor::instance_count() const { return link_->proxy.InstanceCount(); }

sdbus::IConnection& Supervisor::connection() const { return *link_->connection; }

const std::string& Supervisor::host() const { return link_->host; }

}  // namespace offshoot

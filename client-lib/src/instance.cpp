// instance.cpp — offshoot::Instance: one instance handle, owned RAII-style.
#include <cstdint>
#include <limits>
#include <tuple>

#include "links.hpp"

namespace offshoot {

namespace {

// sd-bus reads UINT64_MAX as "no timeout": Wait and a Stop that lets the work finish may take
// as long as the work does.
constexpr uint64_t no_timeout = std::numeric_limits<uint64_t>::max();
// docs/lifecycle.md: stop-timeout-usec defaults to 10 s, then SIGKILL.
constexpr uint64_t default_stop_timeout_usec = 10'000'000;
// On top of the stop timeout: SIGKILL, reaping and the reply.
constexpr uint64_t stop_margin_usec = 30'000'000;

}  // namespace

namespace detail {

void InstanceProxy::listen() {
    std::call_once(listening_, [this] { registerProxy(); });
}

InstanceHandle::InstanceHandle(std::shared_ptr<SupervisorLink> supervisor, std::string handle_path,
                               std::string address, std::optional<StopMode> mode,
                               std::optional<uint64_t> timeout_usec)
    : link(std::move(supervisor)),
      path(std::move(handle_path)),
      spawn_address(std::move(address)),
      stop_mode(mode),
      stop_timeout_usec(timeout_usec),
      proxy(*link->connection, path, [this](const ExitStatus& status) { exited(status); },
            [this](const RestartInfo& info) { restarted(info); }) {}

uint64_t InstanceHandle::stop_call_timeout() const {
    if (stop_mode == StopMode::wait)
        return no_timeout;
    uint64_t timeout = stop_timeout_usec.value_or(default_stop_timeout_usec);
    return timeout > no_timeout - stop_margin_usec ? no_timeout : timeout + stop_margin_usec;
}

void InstanceHandle::exited(const ExitStatus& status) {
    std::function<void(const ExitStatus&)> callback;
    {
        std::lock_guard lock(mutex);
        ++exits_seen;
        callback = on_exit;
    }
    if (callback)
        callback(status);
}

void InstanceHandle::restarted(const RestartInfo& info) {
    std::function<void(const RestartInfo&)> callback;
    {
        std::lock_guard lock(mutex);
        callback = on_restart;  // (spawn_address stays right: a restart keeps the address)
    }
    if (callback)
        callback(info);
}

}  // namespace detail

Instance::Instance() noexcept = default;
Instance::Instance(std::unique_ptr<detail::InstanceHandle> handle) noexcept
    : handle_(std::move(handle)) {}
Instance::Instance(Instance&&) noexcept = default;

Instance& Instance::operator=(Instance&& other) noexcept {
    if (this != &other) {
        Instance previous(std::move(*this));  // stopped when it goes out of scope
        handle_ = std::move(other.handle_);
    }
    return *this;
}

Instance::~Instance() {
    if (!handle_)
        return;
    // Errors are swallowed: the instance may have ended already (NotRunning), the daemon may be
    // gone, and a destructor must not throw. With tie-to-caller the daemon still stops the
    // instance when this client's connection closes.
    try {
        stop();
    } catch (const std::exception&) {
    }
    try {
        release();
    } catch (const std::exception&) {
    }
}

detail::InstanceHandle& Instance::handle() const {
    if (!handle_)
        throw Error(errors::invalid_argument,
                    "offshoot::Instance is empty (moved from, released or detached)");
    return *handle_;
}

const std::string& Instance::path() const { return handle().path; }
uint64_t Instance::id() const { return handle().proxy.Id(); }
std::string Instance::class_name() const { return handle().proxy.Class(); }
std::string Instance::address() const { return handle().proxy.Address(); }
uint32_t Instance::pid() const { return handle().proxy.MainPID(); }
uint32_t Instance::uid() const { return handle().proxy.Uid(); }
uint32_t Instance::gid() const { return handle().proxy.Gid(); }
std::vector<uint32_t> Instance::groups() const { return handle().proxy.Groups(); }
std::string Instance::cwd() const { return handle().proxy.WorkingDirectory(); }
std::string Instance::state() const { return handle().proxy.State(); }
std::string Instance::result() const { return handle().proxy.Result(); }
int Instance::exit_code() const { return handle().proxy.ExitCode(); }
int Instance::exit_signal() const { return handle().proxy.ExitSignal(); }
std::string Instance::owner() const { return handle().proxy.Owner(); }
uint32_t Instance::n_restarts() const { return handle().proxy.NRestarts(); }
std::string Instance::restart_policy() const { return handle().proxy.Restart(); }

void Instance::start() {
    auto& h = handle();
    h.spawn_address.clear();
    h.proxy.untyped()
        .callMethod("Start")
        .onInterface(names::instance_interface)
        .withTimeout(spawn_timeout)
        .storeResultsTo();
}

void Instance::stop() {
    auto& h = handle();
    h.spawn_address.clear();
    h.proxy.untyped()
        .callMethod("Stop")
        .onInterface(names::instance_interface)
        .withTimeout(h.stop_call_timeout())
        .storeResultsTo();
}

void Instance::kill(int signal) { handle().proxy.Kill(signal); }

ExitStatus Instance::wait() {
    ExitStatus status;
    handle()
        .proxy.untyped()
        .callMethod("Wait")
        .onInterface(names::instance_interface)
        .withTimeout(no_timeout)
        .storeResultsTo(status.result, status.code);
    return status;
}

void Instance::release() {
    auto& h = handle();
    h.proxy.untyped()
        .callMethod("Release")
        .onInterface(names::instance_interface)
        .withTimeout(h.stop_call_timeout())
        .storeResultsTo();
    handle_.reset();
}

std::string Instance::detach() {
    std::string path = handle().path;
    handle_.reset();
    return path;
}

void Instance::on_exit(std::function<void(const ExitStatus&)> callback) {
    auto& h = handle();
    uint64_t seen = 0;
    {
        std::lock_guard lock(h.mutex);
        h.on_exit = std::move(callback);
        seen = h.exits_seen;
    }
    h.proxy.listen();
    // The process may have ended before the match was added. offshootd sets State and emits
    // Exited in one step, and the bus keeps its messages in order, so: if State says it ended
    // and no Exited has arrived since the match was added, the signal was missed — report the
    // exit from the properties instead (once).
    auto state = h.proxy.State();
    if (state != "exited" && state != "failed")
        return;
    ExitStatus status{h.proxy.Result(), 0};
    status.code = (status.result == "signal" || status.result == "core-dump")
                      ? h.proxy.ExitSignal()
                      : h.proxy.ExitCode();
    std::function<void(const ExitStatus&)> to_call;
    {
        std::lock_guard lock(h.mutex);
        if (h.exits_seen != seen)
            return;
        ++h.exits_seen;
        to_call = h.on_exit;
    }
    if (to_call)
        to_call(status);
}

void Instance::on_restart(std::function<void(const RestartInfo&)> callback) {
    auto& h = handle();
    {
        std::lock_guard lock(h.mutex);
        h.on_restart = std::move(callback);
    }
    h.proxy.listen();
}

std::unique_ptr<sdbus::IConnection> Instance::open_private_connection() const {
    auto& h = handle();
    std::string address = h.spawn_address.empty() ? h.proxy.Address() : h.spawn_address;
    if (address.empty())
        throw Error(errors::not_running, "instance " + h.path + " is not running (no address)");
    return h.link->open_instance_connection(address);
}

}  // namespace offshoot

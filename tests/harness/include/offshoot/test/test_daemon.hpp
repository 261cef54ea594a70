// offshoot/test/test_daemon.hpp — the build tree's offshootd serving on a TestBus, with a
// runtime directory of its own and an optional extra class-config directory. Construction
// returns once offshootd has sent READY=1 to the NOTIFY_SOCKET the harness created (so its bus
// name is acquired); destruction stops it (SIGTERM, then SIGKILL past the deadline).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "offshoot/test/subprocess.hpp"
#include "offshoot/test/temp_dir.hpp"
#include "offshoot/test/test_bus.hpp"

namespace offshoot::test {

struct TestDaemonOptions {
    std::optional<std::filesystem::path> config_dir;
    // Another offshootd than the build tree's (e.g. one installed into a staging prefix).
    std::optional<std::filesystem::path> offshootd;
    std::vector<std::string> extra_args;
    // KEY=VALUE added to offshootd's environment (e.g. LD_PRELOAD, to check the worker
    // inherits none of it).
    std::vector<std::string> extra_env;
    // A runtime directory to use instead of a fresh one: a daemon restarted on the directory a
    // killed one left behind. The caller keeps it alive.
    std::optional<std::filesystem::path> runtime_dir;
    Clock::duration ready_timeout = 10s;
    Clock::duration stop_timeout = 10s;
};

class TestDaemon {
public:
    explicit TestDaemon(const TestBus& bus, TestDaemonOptions options = {});
    TestDaemon(const TestDaemon&) = delete;
    TestDaemon& operator=(const TestDaemon&) = delete;
    // Stops offshootd; prints its log when the current test failed.
    ~TestDaemon();

    // The bus offshootd serves on.
    const std::string& address() const noexcept { return address_; }
    pid_t pid() const noexcept { return process_->pid(); }
    const std::filesystem::path& runtime_dir() const noexcept { return runtime_dir_; }
    std::size_t fd_count() const;
    std::vector<pid_t> zombie_children() const;
    std::string log() const;

    // SIGTERM, wait up to stop_timeout, then SIGKILL. `needed_kill` reports the latter.
    ExitStatus stop(bool* needed_kill = nullptr);
    // SIGKILL (a supervisor crash), reaped at once. The destructor then expects no clean exit.
    ExitStatus kill();

private:
    TempDir dir_;
    std::filesystem::path runtime_dir_;
    std::string address_;
    Clock::duration stop_timeout_;
    std::optional<Subprocess> process_;
    bool killed_ = false;
};

}  // namespace offshoot::test

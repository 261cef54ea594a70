// offshoot/test/test_bus.hpp — a private dbus-daemon for one test fixture: its own config
// (custom type, a unix socket in a fresh directory, EXTERNAL auth, a policy that lets every
// user connect, own names and send), its address read from --print-address, stopped in the
// destructor.
#pragma once

#include <optional>
#include <string>

#include "offshoot/test/subprocess.hpp"
#include "offshoot/test/temp_dir.hpp"

namespace offshoot::test {

class TestBus {
public:
    explicit TestBus(Clock::duration start_timeout = 10s);
    // allow_anonymous: the bus also accepts ANONYMOUS authentication (<allow_anonymous/>), so
    // a test can connect a client whose user the bus does not know.
    TestBus(Clock::duration start_timeout, bool allow_anonymous);
    TestBus(const TestBus&) = delete;
    TestBus& operator=(const TestBus&) = delete;
    ~TestBus();

    const std::string& address() const noexcept { return address_; }
    pid_t pid() const noexcept { return process_->pid(); }
    // dbus-daemon's own output (stdout and stderr).
    std::string log() const;

private:
    TempDir dir_;
    std::optional<Subprocess> process_;
    std::string address_;
};

}  // namespace offshoot::test

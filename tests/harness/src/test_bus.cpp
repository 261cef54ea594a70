// test_bus.cpp — private dbus-daemon.
#include "offshoot/test/test_bus.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace offshoot::test {

namespace {

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TestBus::TestBus(Clock::duration start_timeout) : TestBus(start_timeout, /* allow_anonymous= */ false) {}

TestBus::TestBus(Clock::duration start_timeout, bool allow_anonymous)
    // 0755: unprivileged test peers must reach the socket.
    : dir_("offshoot-bus", 0755) {
    const auto config = dir_ / "bus.conf";
    {
        std::ofstream out(config);
        out << R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path=)"
            << (dir_ / "bus").string() << R"(</listen>
  <auth>EXTERNAL</auth>
)" << (allow_anonymous ? "  <auth>ANONYMOUS</auth>\n  <allow_anonymous/>\n" : "") << R"(
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
)";
        if (!out) throw std::runtime_error("cannot write " + config.string());
    }
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    int read_end = p[0];
    SubprocessOptions o;
    o.argv = {"dbus-daemon", "--nofork", "--config-file=" + config.string(), "--print-address=3"};
    o.stdout_file = dir_ / "dbus-daemon.log";
    o.stderr_file = dir_ / "dbus-daemon.log";
    o.pass_fds = {{p[1], 3}};
    o.new_session = true;
    try {
        process_.emplace(o);
    } catch (...) {
        ::close(p[0]);
        ::close(p[1]);
        throw;
    }
    ::close(p[1]);

    // The address arrives as one line once the daemon listens: wait for it (or for the
    // daemon's death) with a deadline.
    Deadline deadline(start_timeout);
    std::string line;
    while (line.find('\n') == std::string::npos) {
        pollfd fds[2] = {{read_end, POLLIN, 0}, {process_->pidfd(), POLLIN, 0}};
        int r = ::poll(fds, 2, deadline.poll_timeout_ms());
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (fds[0].revents) {
            char buf[512];
            ssize_t got = ::read(read_end, buf, sizeof buf);
            if (got <= 0) break;
            line.append(buf, static_cast<std::size_t>(got));
        } else if (fds[1].revents) {
            break;
        }
    }
    ::close(read_end);
    auto nl = line.find('\n');
    if (nl == std::string::npos)
        throw std::runtime_error("dbus-daemon did not print its address: " + log());
    address_ = line.substr(0, nl);
}

TestBus::~TestBus() {
    if (process_) process_->terminate(5s);
}

std::string TestBus::log() const { return read_file(dir_ / "dbus-daemon.log"); }

}  // namespace offshoot::test

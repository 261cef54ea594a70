// test_daemon.cpp — offshootd under test, with sd_notify readiness.
#include "offshoot/test/test_daemon.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "offshoot/test/paths.hpp"
#include "offshoot/test/proc.hpp"

namespace offshoot::test {

namespace {

// An AF_UNIX datagram socket bound to a path: sd_notify()'s other end.
class NotifySocket {
public:
    explicit NotifySocket(const std::filesystem::path& path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        if (path.string().size() >= sizeof sa.sun_path) throw std::runtime_error("path too long");
        std::strcpy(sa.sun_path, path.c_str());
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
            int e = errno;
            ::close(fd_);
            throw std::system_error(e, std::generic_category(), "bind " + path.string());
        }
    }
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;
    ~NotifySocket() { ::close(fd_); }
    int fd() const noexcept { return fd_; }

private:
    int fd_ = -1;
};

bool has_line(const std::string& datagram, const std::string& line) {
    std::istringstream in(datagram);
    std::string l;
    while (std::getline(in, l))
        if (l == line) return true;
    return false;
}

}  // namespace

TestDaemon::TestDaemon(const TestBus& bus, TestDaemonOptions options)
    // 0755 all the way down, so unprivileged peers can reach sockets whose own mode allows it:
    // the tests must see the daemon's permissions at work, not the harness's.
    : dir_("offshoot-daemon", 0755),
      runtime_dir_(options.runtime_dir ? *options.runtime_dir : dir_ / "run"),
      address_(bus.address()),
      stop_timeout_(options.stop_timeout) {
    if (!options.runtime_dir) make_dir(runtime_dir_, 0755);
    const auto binary = options.offshootd ? *options.offshootd : offshootd_path();
    if (!std::filesystem::exists(binary))
        throw std::runtime_error("offshootd is not built: " + binary.string());

    NotifySocket notify(dir_ / "notify");
    SubprocessOptions o;
    o.argv = {binary.string(), "--address=" + bus.address(),
              "--runtime-dir=" + runtime_dir_.string(), "--log-level=debug"};
    if (options.config_dir) o.argv.push_back("--config-dir=" + options.config_dir->string());
    o.argv.insert(o.argv.end(), options.extra_args.begin(), options.extra_args.end());
    o.env_set = {"NOTIFY_SOCKET=" + (dir_ / "notify").string()};
    o.env_set.insert(o.env_set.end(), options.extra_env.begin(), options.extra_env.end());
    // The daemon must not wander onto a real bus by accident.
    // Its log goes to the file the tests read, even when the test run itself is a systemd
    // service (JOURNAL_STREAM/INVOCATION_ID would send it to the journal).
    o.env_unset = {"DBUS_SESSION_BUS_ADDRESS", "DBUS_SYSTEM_BUS_ADDRESS", "LISTEN_FDS",
                   "LISTEN_PID", "WATCHDOG_USEC", "JOURNAL_STREAM", "INVOCATION_ID"};
    o.stdout_file = dir_ / "offshootd.log";
    o.stderr_file = dir_ / "offshootd.log";
    o.new_session = true;
    process_.emplace(o);

    // READY=1 is an event on the notify socket; the daemon dying first is an event on its pidfd.
    Deadline deadline(options.ready_timeout);
    for (;;) {
        pollfd fds[2] = {{notify.fd(), POLLIN, 0}, {process_->pidfd(), POLLIN, 0}};
        int r = ::poll(fds, 2, deadline.poll_timeout_ms());
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) throw std::system_error(errno, std::generic_category(), "poll");
        if (r == 0)
            throw std::runtime_error("offshootd sent no READY=1 within the deadline; log:\n" + log());
        if (fds[0].revents & POLLIN) {
            char buf[4096];
            ssize_t got = ::recv(notify.fd(), buf, sizeof buf, 0);
            if (got > 0 && has_line(std::string(buf, static_cast<std::size_t>(got)), "READY=1"))
                break;
            continue;
        }
        if (fds[1].revents) {
            auto status = process_->wait(Deadline(1s));
            throw std::runtime_error("offshootd exited before READY=1 (" +
                                     (status ? status->describe() : std::string("?")) +
                                     "); log:\n" + log());
        }
    }
}

TestDaemon::~TestDaemon() {
    if (killed_) {
        if (::testing::Test::HasFailure())
            std::cerr << "---- log of the killed offshootd ----\n" << log() << "---- end of log ----\n";
        return;
    }
    bool needed_kill = false;
    ExitStatus status = stop(&needed_kill);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
    // The sanitizer build: a report from offshootd or any of its workers (their stderr is
    // offshootd's log) fails the test that ran them, whatever the test itself looked at.
    if (const std::string text = log(); text.find("ERROR: AddressSanitizer") != std::string::npos ||
                                        text.find("ERROR: LeakSanitizer") != std::string::npos ||
                                        text.find("runtime error: ") != std::string::npos)
        ADD_FAILURE() << "a sanitizer report in offshootd's log:\n" << text;
#endif
    if (needed_kill)
        ADD_FAILURE() << "offshootd did not exit within the deadline after SIGTERM; log:\n" << log();
    else if (!status.success() && status.signal != SIGTERM)
        ADD_FAILURE() << "offshootd did not exit cleanly on SIGTERM: " << status.describe()
                      << "; log:\n"
                      << log();
    else if (::testing::Test::HasFailure())
        std::cerr << "---- offshootd log ----\n" << log() << "---- end of offshootd log ----\n";
}

ExitStatus TestDaemon::stop(bool* needed_kill) { return process_->terminate(stop_timeout_, needed_kill); }

ExitStatus TestDaemon::kill() {
    killed_ = true;
    process_->kill(SIGKILL);
    auto status = process_->wait(Deadline(stop_timeout_));
    if (!status) throw std::runtime_error("offshootd outlived SIGKILL past the deadline");
    return *status;
}

std::size_t TestDaemon::fd_count() const { return proc_fd_count(process_->pid()); }

std::vector<pid_t> TestDaemon::zombie_children() const { return zombie_children_of(process_->pid()); }

std::string TestDaemon::log() const {
    std::ifstream in(dir_ / "offshootd.log");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace offshoot::test

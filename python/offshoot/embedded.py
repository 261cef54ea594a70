"""offshoot.embedded — a private dbus-daemon and an offshootd on it, started and stopped from
Python: embedded mode (README "Modes") for tests, benchmarks and demos. Nothing is installed or
touched system-wide.

    with embedded.PrivateBus() as bus, embedded.Daemon(bus.address, prefix="/usr") as daemon:
        sup = offshoot.Supervisor(address=bus.address)

Both processes lead sessions of their own, as systemd starts services. Every wait is on an event
(the bus printing its address, offshootd's READY=1 on a notify socket, a pidfd) with a deadline;
stopping is SIGTERM, a deadline, then SIGKILL.
"""

import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time

__all__ = ["PrivateBus", "Daemon", "find_offshootd", "SANITIZER_MARKERS"]

# What a sanitizer report in offshootd's log (its workers' stderr too) starts with.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: ")

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
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
"""


def find_offshootd(prefix=None):
    """The offshootd to run: `<prefix>/bin/offshootd`; without a prefix, $OFFSHOOT_BUILD_DIR or
    $OFFSHOOT_PREFIX (a build tree has the install tree's layout), else offshootd on PATH."""
    for root in (prefix, os.environ.get("OFFSHOOT_BUILD_DIR"), os.environ.get("OFFSHOOT_PREFIX")):
        if root:
            path = os.path.join(root, "bin", "offshootd")
            if not os.access(path, os.X_OK):
                raise FileNotFoundError(f"no offshootd at {path}")
            return path
    path = shutil.which("offshootd")
    if path is None:
        raise FileNotFoundError("offshootd not found: set OFFSHOOT_BUILD_DIR or OFFSHOOT_PREFIX")
    return path


class _Process:
    """A child process watched through a pidfd, so "has it ended?" is an event to wait on."""

    def __init__(self, argv, *, log_path, env=None, pass_fds=()):
        self._log = open(log_path, "ab")
        try:
            self.popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                env=env, pass_fds=pass_fds, start_new_session=True)
        except BaseException:
            self._log.close()
            raise
        self.pidfd = os.pidfd_open(self.popen.pid)

    @property
    def pid(self):
        return self.popen.pid

    def wait(self, timeout):
        """The exit status (Popen.returncode: negative for a signal), or None past the timeout."""
        if self.popen.returncode is None:
            ready, _, _ = select.select([self.pidfd], [], [], max(timeout, 0))
            if not ready:
                return None
            self.popen.wait()
        return self.popen.returncode

    def terminate(self, timeout):
        """SIGTERM, up to `timeout` seconds, then SIGKILL. Returns (status, needed_kill)."""
        needed_kill = False
        if self.popen.returncode is None:
            self.popen.send_signal(signal.SIGTERM)
            if self.wait(timeout) is None:
                needed_kill = True
                self.popen.kill()
                self.wait(10)
        self.close()
        return self.popen.returncode, needed_kill

    def close(self):
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1
        self._log.close()


class _Service:
    """What PrivateBus and Daemon share: the _Process they run (`_process`), its log
    (`log_path`), and `with` — leaving the block ends the service (`_end()`)."""

    @property
    def pid(self):
        return self._process.pid

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._end()
        return False


def _deadline(seconds):
    return time.monotonic() + seconds


def _left(deadline):
    return max(deadline - time.monotonic(), 0.0)


class PrivateBus(_Service):
    """A dbus-daemon from a config of its own, listening in a fresh temporary directory."""

    def __init__(self, *, directory=None, start_timeout=10.0):
        self._tmp = None
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="offshoot-bus-")
            directory = self._tmp.name
        self.directory = directory
        # 0755: peers running as other users (the instances' uids) may reach the socket.
        os.chmod(directory, 0o755)
        config = os.path.join(directory, "bus.conf")
        with open(config, "w") as f:
            f.write(_BUS_CONFIG.format(socket=os.path.join(directory, "bus")))
        self.log_path = os.path.join(directory, "dbus-daemon.log")
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        try:
            self._process = _Process(
                ["dbus-daemon", "--nofork", f"--config-file={config}",
                 f"--print-address={write_end}"],
                log_path=self.log_path, pass_fds=(write_end,))
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        try:
            self.address = self._read_address(read_end, _deadline(start_timeout))
        except BaseException:
            self._process.terminate(5)
            self._cleanup()
            raise
        finally:
            os.close(read_end)

    def _read_address(self, fd, deadline):
        # One line once the daemon listens; the daemon dying first is an event on its pidfd.
        line = b""
        while b"\n" not in line:
            ready, _, _ = select.select([fd, self._process.pidfd], [], [], _left(deadline))
            if fd in ready:
                chunk = os.read(fd, 512)
                if not chunk:
                    break
                line += chunk
            else:
                break
        if b"\n" not in line:
            raise RuntimeError(f"dbus-daemon printed no address in time; log: {self.log()}")
        return line.split(b"\n", 1)[0].decode()

    def stop(self, timeout=5.0):
        status, _ = self._process.terminate(timeout)
        self._cleanup()
        return status

    def _cleanup(self):
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _end(self):
        self.stop()


class Daemon(_Service):
    """offshootd on `bus_address`, with its runtime directory in a fresh temporary directory,
    returned from the constructor once it has sent READY=1 (it owns its bus name then)."""

    def __init__(self, bus_address, *, prefix=None, offshootd=None, log_level="debug",
                 extra_args=(), extra_env=None, ready_timeout=15.0, stop_timeout=15.0):
        self.offshootd = offshootd or find_offshootd(prefix)
        self.stop_timeout = stop_timeout
        self._tmp = tempfile.TemporaryDirectory(prefix="offshoot-daemon-")
        self.directory = self._tmp.name
        os.chmod(self.directory, 0o755)
        self.runtime_dir = os.path.join(self.directory, "run")
        os.mkdir(self.runtime_dir, 0o755)
        self.log_path = os.path.join(self.directory, "offshootd.log")
        notify_path = os.path.join(self.directory, "notify")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        try:
            notify.bind(notify_path)
            env = {k: v for k, v in os.environ.items() if k not in (
                # It must not wander onto a real bus, nor log to the journal.
                "DBUS_SESSION_BUS_ADDRESS", "DBUS_SYSTEM_BUS_ADDRESS", "LISTEN_FDS",
                "LISTEN_PID", "WATCHDOG_USEC", "JOURNAL_STREAM", "INVOCATION_ID")}
            env["NOTIFY_SOCKET"] = notify_path
            env.update(extra_env or {})
            argv = [self.offshootd, f"--address={bus_address}",
                    f"--runtime-dir={self.runtime_dir}", f"--log-level={log_level}", *extra_args]
            self._process = _Process(argv, log_path=self.log_path, env=env)
            try:
                self._wait_ready(notify, _deadline(ready_timeout))
            except BaseException:
                self._process.terminate(5)
                raise
        except BaseException:
            self._tmp.cleanup()
            raise
        finally:
            notify.close()
        self.status = None
        self.needed_kill = False

    def _wait_ready(self, notify, deadline):
        while True:
            ready, _, _ = select.select([notify, self._process.pidfd], [], [], _left(deadline))
            if notify in ready:
                if "READY=1" in notify.recv(4096).decode(errors="replace").splitlines():
                    return
            elif ready:
                status = self._process.wait(1)
                raise RuntimeError(f"offshootd exited ({status}) before READY=1; log:\n{self.log()}")
            else:
                raise RuntimeError(f"offshootd sent no READY=1 in time; log:\n{self.log()}")

    def sanitizer_report(self):
        """The log if it holds a sanitizer report (from offshootd or a worker), else ""."""
        text = self.log()
        return text if any(m in text for m in SANITIZER_MARKERS) else ""

    def stop(self):
        """SIGTERM (offshootd stops every instance), a deadline, SIGKILL. Returns the exit status
        (0 for a clean exit); `needed_kill` says whether the deadline passed."""
        if self.status is None:
            self.status, self.needed_kill = self._process.terminate(self.stop_timeout)
        return self.status

    def cleanup(self):
        """Removes the temporary directory (the log with it); after stop()."""
        self._tmp.cleanup()

    def _end(self):
        self.stop()
        self.cleanup()

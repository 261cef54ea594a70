"""Fixtures for the Python client's tests: every test that needs offshootd gets a private
dbus-daemon and an offshootd of its own (offshoot.embedded), stopped at the end, and fails if
offshootd did not exit cleanly on SIGTERM or its log holds a sanitizer report.

offshootd comes from $OFFSHOOT_BUILD_DIR/bin (ctest sets it to the build tree) or
$OFFSHOOT_PREFIX/bin (an install tree such as /opt/offshoot-base), else PATH. The package under
test is this source tree's python/offshoot, whatever is installed.

A test module may add classes of its own: EXTRA_CLASSES = {"file.conf": "[Class]…"} in the
module puts them in a configuration directory offshootd reads besides the build's (--config-dir).

The tests spawn as uid 65534 (nobody) and so need root, as CI has.
"""

import os
import select
import shutil
import sys
import tempfile
import time

import pytest

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, PYTHON_DIR)

import offshoot  # noqa: E402
from offshoot import embedded  # noqa: E402

NOBODY = 65534


@pytest.fixture
def bus():
    with embedded.PrivateBus() as b:
        yield b


@pytest.fixture
def daemon(bus, request):
    classes = getattr(request.module, "EXTRA_CLASSES", None)
    config_dir = tempfile.mkdtemp(prefix="offshoot-py-classes-") if classes else None
    try:
        for name, text in (classes or {}).items():
            with open(os.path.join(config_dir, name), "w") as f:
                f.write(text)
        d = embedded.Daemon(bus.address,
                            extra_args=[f"--config-dir={config_dir}"] if config_dir else ())
    except BaseException:
        if config_dir:
            shutil.rmtree(config_dir, ignore_errors=True)
        raise
    try:
        yield d
    finally:
        status = d.stop()
        log = d.log()
        report = d.sanitizer_report()
        d.cleanup()
        if config_dir:
            shutil.rmtree(config_dir, ignore_errors=True)
        assert not d.needed_kill, f"offshootd outlived SIGTERM past the deadline; log:\n{log}"
        assert status == 0, f"offshootd exited with {status} on SIGTERM; log:\n{log}"
        assert not report, f"a sanitizer report in offshootd's log:\n{report}"


@pytest.fixture
def sup(daemon, bus):
    s = offshoot.Supervisor(address=bus.address)
    yield s
    s.close()


@pytest.fixture
def nobody_dir():
    """A fresh directory uid 65534 may enter and write (pytest's own tmp_path is 0700 root's)."""
    made = []

    def make(name="dir"):
        path = tempfile.mkdtemp(prefix=f"offshoot-py-{name}-")
        os.chmod(path, 0o755)
        os.chown(path, NOBODY, NOBODY)
        made.append(path)
        return path

    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


def pids_gone(pids, timeout):
    """Waits until every pid has ended (pidfds: a zombie whose parent died counts as ended, and
    no pid is polled); returns the seconds it took, or raises AssertionError at the deadline."""
    start = time.monotonic()
    fds = []
    try:
        for pid in pids:
            try:
                fds.append(os.pidfd_open(pid))
            except ProcessLookupError:
                pass
        pending = list(fds)
        while pending:
            left = start + timeout - time.monotonic()
            ready, _, _ = select.select(pending, [], [], max(left, 0))
            if not ready:
                raise AssertionError(f"pids {pids} still alive after {timeout} s")
            pending = [fd for fd in pending if fd not in ready]
        return time.monotonic() - start
    finally:
        for fd in fds:
            os.close(fd)


def alive(pid):
    """True while `pid` runs (not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def proc_ids(pid, field):
    """The four ids of "Uid:" or "Gid:" in /proc/PID/status."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return [int(x) for x in line.split()[1:5]]
    raise AssertionError(f"no {field} in /proc/{pid}/status")

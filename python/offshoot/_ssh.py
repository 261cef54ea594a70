"""offshoot._ssh — a D-Bus connection to another host over ssh, the way sd-bus makes one for
`busctl -H` (its unixexec transport): `ssh -xT [-p PORT] -- [USER@]HOST systemd-stdio-bridge
[--bus-path=ADDRESS]` with one end of a socketpair as its stdin and stdout; the other end is the
connection. jeepney has no such transport, so this is it.

The host is taken apart as sd_bus_open_system_remote() does ([user@]host[:port], an IPv6
address in brackets), so the Python and the C++ clients reach the same destination. `ssh` comes
from $PATH with the user's own configuration (keys, known hosts, ControlMaster…). On the remote
host the bridge runs as the login user: that is the caller offshootd and the instance's worker
see (docs/lifecycle.md, "Another host").
"""

import re
import socket
import subprocess

from . import errors

# What may reach the remote shell in --bus-path: the characters D-Bus addresses are made of.
_ADDRESS_CHARS = re.compile(r"[A-Za-z0-9_\-/.,=:%]+")
_PORT = re.compile(r"[0-9]+")


def _invalid(text):
    return errors.InvalidArgument(text)


def destination(host):
    """(login, port) for ssh from "[user@]host[:port]" ("[::1]" for IPv6); port may be None."""
    if not host:
        raise _invalid("no host given (user@host)")
    if any(ord(c) < 0x20 or c in "\x7f " for c in host):
        raise _invalid(f"the host {host!r} holds a control character or a space")
    if host.startswith("-"):
        raise _invalid(f"the host {host!r} begins with '-'")
    user, at, rest = host.partition("@") if "@" in host else ("", "", host)
    if not rest or "@" in rest or (at and not user):
        raise _invalid(f"{host!r} is not [user@]host[:port]")
    if rest.startswith("["):
        name, close, rest = rest[1:].partition("]")
        if not close:
            raise _invalid(f"{host!r} has a '[' without its ']'")
    else:
        name, rest = re.match(r"([^:/]*)(.*)", rest).groups()
    if not name:
        raise _invalid(f"{host!r} names no host")
    port = None
    if rest.startswith(":"):
        port, slash, tail = rest[1:].partition("/")
        rest = slash + tail
        if not _PORT.fullmatch(port):
            raise _invalid(f"{host!r}: the port must be a number")
    if rest:
        raise _invalid(f"{host!r}: a container (host/machine) is not supported — instance "
                       "connections cannot reach into it")
    return user + at + name, port


def command(host, bus_path=None):
    """The ssh command line for the system bus of `host`, or for `bus_path` (a D-Bus address
    there, such as an instance's) when given."""
    login, port = destination(host)
    argv = ["ssh", "-xT"] + (["-p", port] if port else []) + ["--", login, "systemd-stdio-bridge"]
    if bus_path is not None:
        if not _ADDRESS_CHARS.fullmatch(bus_path):
            raise _invalid(f"the address {bus_path!r} holds a character a remote shell would interpret")
        argv.append(f"--bus-path={bus_path}")
    return argv


class Tunnel:
    """A running `ssh … systemd-stdio-bridge` and our end of its socket (`.sock`)."""

    def __init__(self, host, bus_path=None):
        argv = command(host, bus_path)
        self.what = f"{host}:{bus_path or 'system bus'}"
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.process = subprocess.Popen(argv, stdin=theirs, stdout=theirs, stderr=subprocess.PIPE,
                                            close_fds=True)
        except OSError as e:
            ours.close()
            raise errors.Disconnected(f"cannot run ssh for {self.what}: {e}") from None
        finally:
            theirs.close()
        self.sock = ours

    def failure(self, why):
        """Disconnected with what ssh said, for a tunnel that broke before it was up."""
        stderr = b""
        try:
            self.process.wait(timeout=5)
            stderr = self.process.stderr.read()
        except (subprocess.TimeoutExpired, OSError, ValueError):
            pass
        said = stderr.decode(errors="replace").strip()
        return errors.Disconnected(f"cannot reach {self.what} over ssh: {why}" +
                                   (f" (ssh: {said})" if said else ""))

    def close(self, timeout=5.0):
        """Ends ssh (it exits once its stdin closes; SIGTERM, then SIGKILL, past `timeout`) and
        reaps it."""
        try:
            self.sock.close()
        except OSError:
            pass
        p = self.process
        for step in (None, p.terminate, p.kill):
            if step is not None:
                step()
            try:
                p.wait(timeout=timeout)
                break
            except subprocess.TimeoutExpired:
                continue
        if p.stderr is not None:
            p.stderr.close()


__all__ = ["Tunnel", "command", "destination"]

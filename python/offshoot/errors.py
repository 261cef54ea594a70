"""offshoot.errors — one exception type, offshoot.Error, carrying the D-Bus error name.

offshootd's own errors (org.offshoot1.Error.<Name>) arrive as subclasses, so they can be caught
by type; every other name — a class's own errors such as org.offshoot1.example.Faulty.Error,
or the bus's org.freedesktop.DBus.Error.* — arrives as offshoot.Error with that `.name`, exactly
as it was thrown. Two conditions the client itself detects get names of their own:
Disconnected (the connection closed under a call: the instance died, or offshootd did) and
Timeout (no reply within the time the caller gave).
"""

__all__ = [
    "Error", "UnknownClass", "AccessDenied", "InvalidArgument", "SpawnFailed", "NotRunning",
    "LimitExceeded", "ShuttingDown", "Failed", "Timeout", "Disconnected", "from_dbus",
]

_PREFIX = "org.offshoot1.Error."


class Error(Exception):
    """A D-Bus error: `.name` (e.g. "org.offshoot1.Error.UnknownClass") and `.message`."""

    NAME = _PREFIX + "Failed"

    def __init__(self, message="", *, name=None):
        super().__init__(message)
        self.name = name or self.NAME
        self.message = message

    def __str__(self):
        return f"{self.name}: {self.message}" if self.message else self.name

    def __reduce__(self):  # picklable (multiprocessing, concurrent.futures) with its name
        return (_rebuild, (self.name, self.message))


def _rebuild(name, message):
    return from_dbus(name, message)


def _subclass(name, doc, dbus_name=None):
    """Error's subclass `name` for the D-Bus error org.offshoot1.Error.<name> (or `dbus_name`):
    a class statement each would repeat the name in NAME and say nothing else."""
    return type(name, (Error,), {
        "__doc__": doc, "__module__": __name__, "NAME": dbus_name or _PREFIX + name})


UnknownClass = _subclass("UnknownClass", "No class of that name is configured.")
AccessDenied = _subclass(
    "AccessDenied",
    "The policy refuses the caller (spawning as that user, or touching someone else's instance).")
InvalidArgument = _subclass(
    "InvalidArgument", "An option offshootd does not know, of the wrong type, or out of range.")


class SpawnFailed(Error):
    """A step of starting the worker failed; the message is "<step>: <reason>"."""
    NAME = _PREFIX + "SpawnFailed"

    @property
    def step(self):
        """The step that failed ("chdir", "setuid", "start", "create-object", …)."""
        step, sep, _ = self.message.partition(":")
        return step.strip() if sep else ""

    @property
    def reason(self):
        _, sep, reason = self.message.partition(":")
        return reason.strip() if sep else self.message


NotRunning = _subclass("NotRunning", "The instance has no process (never started, or ended).")
LimitExceeded = _subclass(
    "LimitExceeded", "A quota: MaxInstances, MaxInstancesPerUser, the spawn rate.")
ShuttingDown = _subclass("ShuttingDown", "offshootd is stopping and starts nothing more.")
Failed = _subclass("Failed", "Something else went wrong in offshootd.")
Timeout = _subclass(
    "Timeout", "No reply within the timeout (the call may still be running on the other side).")
Disconnected = _subclass(
    "Disconnected",
    "The connection closed before the reply: the instance (or offshootd) went away.",
    dbus_name="org.freedesktop.DBus.Error.Disconnected")


_BY_NAME = {cls.NAME: cls for cls in (
    UnknownClass, AccessDenied, InvalidArgument, SpawnFailed, NotRunning, LimitExceeded,
    ShuttingDown, Failed, Timeout, Disconnected)}


def from_dbus(name, message=""):
    """The exception for a D-Bus error reply: the subclass for one of offshoot's names, else
    Error with the name as it came."""
    cls = _BY_NAME.get(name)
    return cls(message) if cls else Error(message, name=name)

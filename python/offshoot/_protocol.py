"""offshoot._protocol — offshoot's D-Bus API as messages, without I/O.

The public names (wire/include/offshoot/names.hpp, the XML in xml-interfaces/),
SpawnWithOptions' a{sv} built from keyword arguments, and the messages the synchronous and
the asyncio clients both send. Both flavours build their messages here and differ only in
how they wait for the reply (offshoot._wire).
"""

import math

from jeepney import DBusAddress, MatchRule, new_method_call

from . import errors

BUS_NAME = "org.offshoot1"
SUPERVISOR_PATH = "/org/offshoot1"
SUPERVISOR_INTERFACE = "org.offshoot1.Supervisor"
INSTANCE_INTERFACE = "org.offshoot1.Instance"
OBJECT_NAME = "org.offshoot1.Object"     # the destination (and signal sender) on a peer link
OBJECT_PATH = "/org/offshoot1/object"
PROPERTIES = "org.freedesktop.DBus.Properties"
INTROSPECTABLE = "org.freedesktop.DBus.Introspectable"

_DBUS = DBusAddress("/org/freedesktop/DBus", "org.freedesktop.DBus", "org.freedesktop.DBus")
_SUPERVISOR = DBusAddress(SUPERVISOR_PATH, BUS_NAME, SUPERVISOR_INTERFACE)

# A Spawn waits for the worker to register its object: the C++ client's spawn_timeout.
SPAWN_TIMEOUT = 30.0
# docs/lifecycle.md: stop-timeout-usec defaults to 10 s, then SIGKILL; on top of it the C++ client
# allows 30 s for the SIGKILL, the reaping and the reply.
DEFAULT_STOP_TIMEOUT = 10.0
# systemd.service(5)'s Restart= values, as SpawnWithOptions' `restart` takes them.
RESTART_POLICIES = ("no", "on-success", "on-failure", "on-abnormal", "on-abort", "always")
STOP_MARGIN = 30.0
_U32_MAX = 2**32 - 1


def hello():
    return new_method_call(_DBUS, "Hello")


def add_match(rule: MatchRule):
    return new_method_call(_DBUS, "AddMatch", "s", (rule.serialise(),))


def remove_match(rule: MatchRule):
    return new_method_call(_DBUS, "RemoveMatch", "s", (rule.serialise(),))


def signal_rule(interface, member, path=OBJECT_PATH, sender=OBJECT_NAME):
    return MatchRule(type="signal", sender=sender, interface=interface, member=member, path=path)


def get_name_owner(name=BUS_NAME):
    return new_method_call(_DBUS, "GetNameOwner", "s", (name,))


def instance_signal_rule(owner, path, member):
    """A signal of the handle at `path`. `owner` is offshootd's unique name: the bus puts that,
    not org.offshoot1, in the sender field, and only offshootd may send it."""
    return signal_rule(INSTANCE_INTERFACE, member, path=path, sender=owner)


def _uint(name, value, limit=_U32_MAX):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise errors.InvalidArgument(f"{name} must be an integer in 0..{limit}, not {value!r}")
    return value


def _strings(name, values):
    if isinstance(values, (str, bytes)) or not all(isinstance(v, str) for v in values):
        raise errors.InvalidArgument(f"{name} must be a list of strings, not {values!r}")
    return list(values)


def spawn_options(*, uid=None, gid=None, groups=None, cwd=None, env=None, umask=None, args=None,
                  start=True, stop_mode=None, stop_timeout=None, restart=None,
                  tie_to_caller=True):
    """SpawnWithOptions' options (jeepney's {key: (signature, value)}). Only what the caller set
    goes out — offshootd applies its own and the class's defaults to the rest — except
    `tie-to-caller`, always sent, as the C++ client does (its default differs from the bus's).
    `env` is a mapping or KEY=VALUE strings; `stop_timeout` is in seconds; `restart` one of
    RESTART_POLICIES (offshootd refuses one that restarts after something the class's Restart=
    does not)."""
    out = {}
    if uid is not None:
        out["uid"] = ("u", _uint("uid", uid))
    if gid is not None:
        out["gid"] = ("u", _uint("gid", gid))
    if groups is not None:
        out["groups"] = ("au", [_uint("groups", g) for g in groups])
    if cwd is not None:
        out["cwd"] = ("s", str(cwd))     # os.PathLike too
    if env is not None:
        if hasattr(env, "items"):
            env = [f"{k}={v}" for k, v in env.items()]
        out["environment"] = ("as", _strings("env", env))
    if umask is not None:
        out["umask"] = ("u", _uint("umask", umask, 0o7777))
    if args is not None:
        out["arguments"] = ("as", _strings("args", args))
    if not start:
        out["start"] = ("b", False)
    if stop_mode is not None:
        if stop_mode not in ("terminate", "wait"):
            raise errors.InvalidArgument(f'stop_mode must be "terminate" or "wait", not {stop_mode!r}')
        out["stop-mode"] = ("s", stop_mode)
    if stop_timeout is not None:
        if not stop_timeout > 0 or math.isinf(stop_timeout):   # offshootd: 1 µs .. 1 h
            raise errors.InvalidArgument(f"stop_timeout must be seconds > 0, not {stop_timeout!r}")
        out["stop-timeout-usec"] = ("t", round(stop_timeout * 1_000_000))
    if restart is not None:
        if restart not in RESTART_POLICIES:
            raise errors.InvalidArgument(
                f"restart must be one of {', '.join(RESTART_POLICIES)}, not {restart!r}")
        out["restart"] = ("s", restart)
    out["tie-to-caller"] = ("b", bool(tie_to_caller))
    return out


def stop_call_timeout(stop_mode, stop_timeout):
    """How long to wait for Stop/Release's reply: without limit when the work is let finish
    (it takes as long as it takes), else the stop timeout plus a margin."""
    if stop_mode == "wait":
        return None
    return (DEFAULT_STOP_TIMEOUT if stop_timeout is None else stop_timeout) + STOP_MARGIN


def spawn(class_name, options):
    return new_method_call(_SUPERVISOR, "SpawnWithOptions", "sa{sv}", (class_name, options))


def supervisor_call(member):
    return new_method_call(_SUPERVISOR, member)


def instance_call(path, member, signature=None, body=()):
    return new_method_call(DBusAddress(path, BUS_NAME, INSTANCE_INTERFACE), member, signature, body)


def get_property(destination, path, interface, name):
    return new_method_call(DBusAddress(path, destination, PROPERTIES), "Get", "ss", (interface, name))


def get_all_properties(destination, path, interface):
    return new_method_call(DBusAddress(path, destination, PROPERTIES), "GetAll", "s", (interface,))


def introspect(destination=OBJECT_NAME, path=OBJECT_PATH):
    return new_method_call(DBusAddress(path, destination, INTROSPECTABLE), "Introspect")


def method_call(interface, member, signature, body, destination=OBJECT_NAME, path=OBJECT_PATH):
    return new_method_call(DBusAddress(path, destination, interface), member, signature or None,
                           tuple(body))


"""offshoot._proxy — a proxy for the object inside an instance, built at run time from the
object's introspection: its methods as attributes (CamelCase as in the XML; positional or named
arguments), its properties readable as attributes, its signals through on().

    counter.Increment(5)          counter.Increment(by=5)        counter.Value
    counter.on("Changed", print)  # callback(*signal arguments)

A method with one out argument returns it; with several, a named tuple of them
(Identity.Describe() → (uid, gid, groups, cwd, pid), also `.cwd`); with none, None. D-Bus types
map as jeepney maps them: integers, bool, float, str, bytes (ay), list, dict, tuple (structs),
(signature, value) for variants. The same description serves the asyncio proxy, whose members
are awaited.

Timeouts (docs/timeouts.md): each call waits at most `proxy.timeout` seconds (default
DEFAULT_CALL_TIMEOUT, 25 s: sd-bus's, as the C++ client; None waits for ever), or what
`proxy.with_timeout(s)` gives the calls made through it. Past it the call raises
offshoot.Timeout (org.offshoot1.Error.Timeout; the instance may still be working on it), never
offshoot.Disconnected, which says the connection closed: the instance is gone.
"""

import collections
import keyword
import xml.etree.ElementTree as ET

from . import _protocol, errors
from ._wire import PreparedCall

# What a call waits for its reply unless told otherwise: sd-bus's default, as in liboffshoot-client.
DEFAULT_CALL_TIMEOUT = 25.0

# Interfaces every sd-bus object has; their members are not the class's.
_STANDARD = ("org.freedesktop.DBus.",)


class Method:
    """One method of the object's interface."""

    def __init__(self, interface, name, in_args, out_args):
        self.interface, self.name = interface, name
        self.in_names = [n for n, _ in in_args]
        self.in_signature = "".join(t for _, t in in_args)
        self.out_signature = "".join(t for _, t in out_args)
        names = [n for n, _ in out_args]
        self._result = None
        self._prepared = None
        if len(out_args) > 1 and all(n.isidentifier() and not keyword.iskeyword(n)
                                     and not n.startswith("_") for n in names) \
                and len(set(names)) == len(names):
            self._result = collections.namedtuple(f"{name}Result", names)

    def message(self, args, kwargs):
        """The method call for these arguments (named ones by their XML names)."""
        return _protocol.method_call(self.interface, self.name, self.in_signature,
                                     self.bind(args, kwargs))

    def prepared(self):
        """The call with its header marshalled once (None for a signature with fds)."""
        if self._prepared is None and "h" not in self.in_signature:
            self._prepared = PreparedCall(self.interface, self.name, self.in_signature,
                                          _protocol.OBJECT_NAME, _protocol.OBJECT_PATH)
        return self._prepared

    def bind(self, args, kwargs):
        """The arguments in the XML's order (named ones by their XML names)."""
        if kwargs:
            args = list(args)
            for n in self.in_names[len(args):]:
                if n not in kwargs:
                    raise TypeError(f"{self.name}() missing argument {n!r}")
                args.append(kwargs.pop(n))
            if kwargs:
                raise TypeError(f"{self.name}() got unexpected arguments {sorted(kwargs)}")
        if len(args) != len(self.in_names):
            raise TypeError(f"{self.name}({', '.join(self.in_names)}) takes {len(self.in_names)} "
                            f"arguments ({len(args)} given)")
        return args

    def result(self, body):
        if not body:
            return None
        if len(body) == 1:
            return body[0]
        return self._result(*body) if self._result else tuple(body)

    def __repr__(self):
        return f"<method {self.interface}.{self.name}({', '.join(self.in_names)})>"


class Description:
    """What introspection says about the object: methods, properties, signals by name."""

    def __init__(self, xml_text):
        self.methods, self.properties, self.signals = {}, {}, {}
        self.interfaces = []
        self._fds = False
        for iface in ET.fromstring(xml_text).findall("interface"):
            iname = iface.get("name", "")
            if iname.startswith(_STANDARD):
                continue
            self.interfaces.append(iname)
            for m in iface.findall("method"):
                ins = [(a.get("name") or f"arg{i}", a.get("type"))
                       for i, a in enumerate(m.findall("arg")) if a.get("direction", "in") == "in"]
                outs = [(a.get("name") or f"out{i}", a.get("type"))
                        for i, a in enumerate(m.findall("arg")) if a.get("direction") == "out"]
                self.methods.setdefault(m.get("name"), Method(iname, m.get("name"), ins, outs))
            for p in iface.findall("property"):
                self.properties.setdefault(p.get("name"), (iname, p.get("type"), p.get("access")))
            for s in iface.findall("signal"):
                self.signals.setdefault(s.get("name"), iname)
            self._fds = self._fds or any("h" in (a.get("type") or "") for a in iface.iter("arg")) \
                or any("h" in (p.get("type") or "") for p in iface.findall("property"))

    @property
    def uses_fds(self):
        """True if a method, signal or property carries a unix fd ('h'): the link must then
        negotiate fd passing, which costs every call on it ~10 µs more (recvmsg)."""
        return self._fds

    def members(self):
        return sorted({*self.methods, *self.properties})

    def signal_interface(self, name):
        try:
            return self.signals[name]
        except KeyError:
            raise AttributeError(f"the object has no signal {name!r} (it has: "
                                 f"{', '.join(sorted(self.signals)) or 'none'})") from None

    def missing(self, name):
        return AttributeError(f"the object has no method or property {name!r} (it has: "
                              f"{', '.join(self.members()) or 'none'})")


class ObjectProxy:
    """The object inside one instance, on a link to its private socket: for an instance's
    handle a ReconnectingLink, so that the next call after a restart goes to the new worker."""

    def __init__(self, link, description, timeout=DEFAULT_CALL_TIMEOUT):
        self._link = link
        self._description = description
        self.timeout = timeout

    @property
    def link(self):
        """The link the calls go through (offshoot._wire)."""
        return self._link

    @property
    def timeout(self):
        """Seconds a call on this proxy waits for its reply (None: no limit)."""
        return self._timeout

    @timeout.setter
    def timeout(self, seconds):
        if seconds is not None and not (isinstance(seconds, (int, float)) and seconds > 0):
            raise errors.InvalidArgument(f"a call timeout is seconds > 0 or None, not {seconds!r}")
        self._timeout = seconds

    def with_timeout(self, seconds):
        """The same object, its calls waiting at most `seconds`: proxy.with_timeout(2).Ping(1)."""
        return type(self)(self._link, self._description, seconds)

    def __getattr__(self, name):
        d = self.__dict__.get("_description")
        if d is None:
            raise AttributeError(name)
        method = d.methods.get(name)
        if method is not None:
            call = self._caller(name, method)
            call.__doc__ = repr(method)
            self.__dict__[name] = call      # found directly from now on: no __getattr__
            return call
        prop = d.properties.get(name)
        if prop is not None:
            return self._get_property(prop[0], name)
        raise d.missing(name)

    # What the blocking and the asyncio proxy do differently: how a call waits for its reply.

    def _caller(self, name, method):
        link, prepared = self._link, method.prepared()

        def call(*args, **kwargs):
            body = method.bind(args, kwargs)
            if prepared is None:
                return method.result(link.call(method.message(body, {}), self._timeout))
            return method.result(link.call_prepared(prepared, body, self._timeout))
        d = self._description
        call.__name__, call.__qualname__ = name, f"{d.interfaces and d.interfaces[0]}.{name}"
        return call

    def _get_property(self, interface, name):
        return self._link.call(_protocol.get_property(
            _protocol.OBJECT_NAME, _protocol.OBJECT_PATH, interface, name), self._timeout)[0][1]

    def export(self, path, obj, *, interface=None, xml=None):
        """Serves the Python object `obj` at `path` on this proxy's connection, for the instance
        to call back (offshoot._export: signatures from `xml` or @offshoot.method with
        `interface`). Returns an Exported (cancel() ends it); it moves to the new connection
        after a restart, and ends with the proxy (start() after stop() makes a new one)."""
        return self._link.export(path, obj, interface=interface, xml=xml)

    def on(self, signal, callback):
        """Calls `callback(*arguments)` for each `signal` the object emits, on the link's reader
        thread. Returns a Subscription (cancel() ends it); it moves to the new connection after
        a restart."""
        rule = _protocol.signal_rule(self._description.signal_interface(signal), signal)
        return self._link.subscribe(rule, callback, self._timeout)

    def __dir__(self):
        return [*super().__dir__(), *self._description.members()]

    def __repr__(self):
        return f"<offshoot object {', '.join(self._description.interfaces)}>"


class AsyncObjectProxy(ObjectProxy):
    """The same on an AsyncLink: `await proxy.Method(...)`, `await proxy.Property`."""

    def _caller(self, name, method):
        link, prepared = self._link, method.prepared()

        async def call(*args, **kwargs):
            body = method.bind(args, kwargs)
            if prepared is None:
                return method.result(await link.call(method.message(body, {}), self._timeout))
            return method.result(await link.call_prepared(prepared, body, self._timeout))
        call.__name__ = name
        return call

    def _get_property(self, interface, name):
        async def get():
            return (await self._link.call(_protocol.get_property(
                _protocol.OBJECT_NAME, _protocol.OBJECT_PATH, interface, name), self._timeout))[0][1]
        return get()

    async def on(self, signal, callback):
        rule = _protocol.signal_rule(self._description.signal_interface(signal), signal)
        return await self._link.subscribe(rule, callback, self._timeout)


def not_running(path):
    return errors.NotRunning(f"instance {path} is not running (no address): start() it first")


def not_reconnected(path, facts, error):
    """What a call raises that found its connection closed when no new one could be made
    (`error`): why, from the handle's properties `facts` (None when they could not be read)."""
    if not facts:
        return error
    state = facts.get("State", "")
    if state in ("running", "restarting"):
        return errors.Disconnected(f"the connection to instance {path} closed and no new one "
                                   f"could be made (State {state}): {error.message}")
    restarts = facts.get("NRestarts", 0)
    return errors.Disconnected(
        f"the connection closed: instance {path} has ended and is not restarted (State {state}, "
        f"Result {facts.get('Result') or 'none'}, {restarts} restart{'s' * (restarts != 1)}, "
        f"Restart={facts.get('Restart') or 'no'}); start() runs it again")

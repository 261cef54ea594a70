"""offshoot._export — Python objects served on the connection a proxy uses, so that the instance
can call them back (a peer connection is symmetric: offshoot/caller.hpp on the worker side).

    class Sink:
        def Entry(self, name):                    # org.offshoot1.example.Sink.Entry(s name)
            print(name)

    export = walker.export("/org/example/sink", Sink(), xml=SINK_XML)   # signatures from XML
    walker.Walk("/srv", "/org/example/sink")      # the worker calls Entry for every entry
    export.cancel()

Signatures come from introspection XML (`xml=`: the text, or a file such as
/usr/share/dbus-1/interfaces/org.offshoot1.example.Sink.xml) or from `@offshoot.method`
decorations with `interface=`. Every method of the interface must be there. A method's return
value is its reply (a tuple for several out-args); raising offshoot.Error answers with its
`.name`, any other exception with org.freedesktop.DBus.Error.Failed. Calls are served on the
link's reader thread (asyncio: the event loop; a coroutine method is awaited), one at a time.
The object is also introspectable at its path.
"""

import logging
import os
import xml.etree.ElementTree as ET

from jeepney import HeaderFields, new_error, new_method_return
from jeepney.low_level import MessageFlag

from . import errors

log = logging.getLogger("offshoot")

INTROSPECTABLE = "org.freedesktop.DBus.Introspectable"


def method(in_signature="", out_signature=""):
    """Marks a method of an exported object with its D-Bus signatures, as dbus-python's
    @dbus.service.method does: @offshoot.method("s", "u")."""
    def mark(fn):
        fn._offshoot_signatures = (in_signature, out_signature)
        return fn
    return mark


class Member:
    """One exported method: its signatures and the bound Python method."""

    def __init__(self, interface, name, in_signature, out_signature, fn):
        self.interface, self.name = interface, name
        self.in_signature, self.out_signature = in_signature, out_signature
        self.fn = fn
        self.out_count = len(_split(out_signature))


def _read_xml(xml):
    if xml.lstrip().startswith("<"):
        return xml
    with open(os.fspath(xml), encoding="utf-8") as f:
        return f.read()


def _members_from_xml(obj, xml, interface):
    found = []
    for iface in ET.fromstring(_read_xml(xml)).findall("interface"):
        name = iface.get("name", "")
        if interface is not None and name != interface:
            continue
        for m in iface.findall("method"):
            ins = "".join(a.get("type") for a in m.findall("arg") if a.get("direction", "in") == "in")
            outs = "".join(a.get("type") for a in m.findall("arg") if a.get("direction") == "out")
            fn = getattr(obj, m.get("name"), None)
            if not callable(fn):
                raise TypeError(f"{type(obj).__name__} has no method {m.get('name')}() of {name}")
            found.append(Member(name, m.get("name"), ins, outs, fn))
    if not found:
        raise TypeError(f"the XML has no methods{f' of {interface}' if interface else ''} to export")
    return found


def _members_from_decorations(obj, interface):
    if interface is None:
        raise TypeError("export() needs interface= (or xml=) to know what it serves")
    found = []
    for name in dir(type(obj)):
        sigs = getattr(getattr(type(obj), name, None), "_offshoot_signatures", None)
        if sigs is not None:
            found.append(Member(interface, name, sigs[0], sigs[1], getattr(obj, name)))
    if not found:
        raise TypeError(f"{type(obj).__name__} has no @offshoot.method methods to export")
    return found


class Exported:
    """An object served at `path`; cancel() stops serving it."""

    def __init__(self, link, path, obj, *, interface=None, xml=None):
        self._link, self.path, self.object = link, path, obj
        members = _members_from_xml(obj, xml, interface) if xml is not None \
            else _members_from_decorations(obj, interface)
        self.members = {(m.interface, m.name): m for m in members}

    def cancel(self):
        if self._link is not None:
            link, self._link = self._link, None
            link._unexport(self)

    def find(self, interface, member):
        if interface:
            return self.members.get((interface, member))
        # D-Bus lets a call omit its interface: the member name alone, if it is unambiguous.
        matches = [m for (_, name), m in self.members.items() if name == member]
        return matches[0] if len(matches) == 1 else None

    def introspect(self):
        node = ET.Element("node")
        by_interface = {}
        for (iface, _), m in sorted(self.members.items()):
            by_interface.setdefault(iface, []).append(m)
        for iface, ms in by_interface.items():
            i = ET.SubElement(node, "interface", name=iface)
            for m in ms:
                e = ET.SubElement(i, "method", name=m.name)
                for direction, sig in (("in", m.in_signature), ("out", m.out_signature)):
                    for t in _split(sig):
                        ET.SubElement(e, "arg", type=t, direction=direction)
        ET.SubElement(ET.SubElement(node, "interface", name=INTROSPECTABLE), "method",
                      name="Introspect").append(ET.Element("arg", type="s", direction="out"))
        return ET.tostring(node, encoding="unicode")


def _split(signature):
    """The complete types of a signature, in order."""
    out, start, depth = [], 0, 0
    for i, c in enumerate(signature):
        if c in "({":
            depth += 1
        elif c in ")}":
            depth -= 1
        if depth == 0 and c != "a":
            out.append(signature[start:i + 1])
            start = i + 1
    return out


class Call:
    """An incoming method call, resolved against the link's exported objects."""

    def __init__(self, exports, msg):
        self.msg = msg
        f = msg.header.fields
        self.path = f.get(HeaderFields.path, "")
        self.interface = f.get(HeaderFields.interface, "")
        self.member = f.get(HeaderFields.member, "")
        self.wants_reply = not (msg.header.flags & MessageFlag.no_reply_expected)
        self.member_info = None
        self.early = None          # the reply when there is nothing to call
        exported = exports.get(self.path)
        if exported is None:
            self.early = self._error("org.freedesktop.DBus.Error.UnknownObject",
                                     f"Unknown object '{self.path}'.")
        elif self.interface == INTROSPECTABLE and self.member == "Introspect":
            self.early = new_method_return(msg, "s", (exported.introspect(),))
        else:
            m = exported.find(self.interface, self.member)
            signature = f.get(HeaderFields.signature, "")
            if m is None:
                self.early = self._error(
                    "org.freedesktop.DBus.Error.UnknownMethod",
                    f"Unknown method {self.interface or '(no interface)'}.{self.member} at {self.path}.")
            elif signature != m.in_signature:
                self.early = self._error(
                    "org.freedesktop.DBus.Error.InvalidArgs",
                    f"{m.interface}.{m.name} takes '{m.in_signature}', not '{signature}'.")
            else:
                self.member_info = m

    def invoke(self):
        """Calls the Python method (what it returns may be awaitable)."""
        return self.member_info.fn(*self.msg.body)

    def reply(self, result):
        """The method return for what the Python method returned (None when none is wanted);
        the link sends failure(TypeError) instead if it does not fit the out-signature."""
        m = self.member_info
        if not self.wants_reply:
            return None
        if m.out_count == 0:
            body = ()
        elif m.out_count == 1:
            body = (result,)
        else:
            body = tuple(result)
        return new_method_return(self.msg, m.out_signature or None, body)

    def misfit(self, result, e):
        m = self.member_info
        return self.failure(TypeError(f"{m.name}() returned {result!r}, which does not fit "
                                      f"'{m.out_signature}': {e}"))

    def failure(self, exc):
        """The error reply for what the Python method raised."""
        if isinstance(exc, errors.Error):
            return self._error(exc.name, exc.message)
        log.error("offshoot: exported %s.%s at %s raised", self.interface, self.member, self.path,
                  exc_info=exc)
        return self._error("org.freedesktop.DBus.Error.Failed", f"{type(exc).__name__}: {exc}")

    def _error(self, name, text):
        return new_error(self.msg, name, "s", (text,)) if self.wants_reply else None


__all__ = ["method", "Exported", "Call"]

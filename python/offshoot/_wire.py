"""offshoot._wire — the one place that opens D-Bus connections and the one place that makes
calls on them, for both flavours (a Link for threads, an AsyncLink for asyncio), on jeepney.

Everything above this module hands over a jeepney Message and gets back the reply's body or an
offshoot.Error; everything below is sockets. `open_link` is the only place that turns an address
into a socket — a unix socket, or (host=) an ssh tunnel to another host (offshoot._ssh). Objects
exported on a link (offshoot._export) are served by the method-call dispatcher next to the
signal one. A ReconnectingLink (AsyncReconnectingLink) is what an instance's proxy holds: it
outlives its connection and, once that has closed, makes the next call on a new one (below).

A Link has two ways of reading its socket:
- direct (the default): the calling thread sends and reads its own reply — the fast path, no
  thread hand-over (liboffshoot-client's `calls_only`). Calls from several threads take turns.
- routed: once something subscribes to signals or exports an object (or the link is opened
  routed), a reader thread reads every message and hands replies to the waiting callers,
  signals to their callbacks and method calls to the exported objects. A callback or an
  exported method that makes a call on the same link reads its reply itself (no deadlock).
"""

import asyncio
import itertools
import logging
import os
import struct
import threading
import time
from concurrent.futures import Future, TimeoutError as FutureTimeout

from jeepney import DBusAddress, HeaderFields, MessageType, Parser, new_method_call
from jeepney.low_level import padding, parse_signature
from jeepney.auth import BEGIN, AuthenticationError, Authenticator
from jeepney.bus import get_bus
from jeepney.io.blocking import prep_socket
from jeepney.io.threading import DBusConnection, ReceiveStopped

from . import _export, _protocol, _ssh, errors

log = logging.getLogger("offshoot")

SYSTEM_BUS = "unix:path=/run/dbus/system_bus_socket"
AUTH_TIMEOUT = 10.0


def system_bus_address():
    return os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") or SYSTEM_BUS


def reply_body(msg):
    """The body of a method return, or the offshoot.Error an error reply stands for."""
    if msg.header.message_type == MessageType.error:
        name = msg.header.fields.get(HeaderFields.error_name, "org.freedesktop.DBus.Error.Failed")
        text = msg.body[0] if msg.body and isinstance(msg.body[0], str) else ""
        raise errors.from_dbus(name, text)
    return msg.body


def _reply_serial(msg):
    return msg.header.fields.get(HeaderFields.reply_serial, -1)


class Subscription:
    """A signal callback registered on a link; cancel() removes it (and its match)."""

    def __init__(self, link, rule, callback):
        self._link, self.rule, self.callback = link, rule, callback

    def cancel(self):
        if self._link is not None:
            link, self._link = self._link, None
            link._unsubscribe(self)

    def _deliver(self, msg):
        try:
            result = self.callback(*msg.body)
            if asyncio.iscoroutine(result):
                asyncio.ensure_future(result)
        except Exception:  # a callback's bug must not stop the reader
            log.exception("offshoot: signal callback %r failed", self.callback)


def _disconnected(why):
    return errors.Disconnected(f"the connection closed: {why}")


class NotSent(errors.Disconnected):
    """Disconnected, for a call that never left: the connection was known to be closed, or
    sending failed (the other end had gone), so nothing reached the other end and the call can
    be made on a new connection without running twice. A ReconnectingLink does that."""


def _not_sent(closed):
    return NotSent(closed.message)


class PreparedCall:
    """A method call whose header is marshalled once: per call only the body is marshalled and
    the serial and body length are patched in (jeepney marshals the header fields in Python,
    the larger part of a small call's cost). Not for signatures with fds."""

    def __init__(self, interface, member, signature, destination, path):
        msg = new_method_call(DBusAddress(path, destination, interface), member,
                              signature or None, ())
        header = msg.header
        header.body_length = 0
        raw = header.serialise(serial=0)
        self._header = bytes(raw + b"\0" * padding(len(raw), 8))
        self._endian = header.endianness
        self._lengths = self._endian.struct_code() + "II"
        self._body = parse_signature(list(f"({signature})")) if signature else None
        self.what = f"{interface}.{member}"
        self.signature = signature

    def serialise(self, body, serial):
        try:
            data = self._body.serialise(tuple(body), 0, self._endian) if self._body else b""
        except _MISFIT as e:
            raise TypeError(f"{self.what}: arguments {tuple(body)!r} do not fit signature "
                            f"{self.signature!r}: {e}") from None
        header = bytearray(self._header)
        struct.pack_into(self._lengths, header, 4, len(data), serial)
        return header + data


class Link:
    """One D-Bus connection (to a bus, or to an instance's peer socket), for threads."""

    def __init__(self, conn: DBusConnection, tunnel=None):
        self._conn = conn
        self._tunnel = tunnel                  # the ssh process behind the socket, if any
        self._exports = {}                     # path → offshoot._export.Exported
        self._turn = threading.Lock()          # direct mode: whose turn it is to read
        self._state = threading.Lock()         # the fields below
        self._pending = {}                     # serial → Future (routed mode)
        self._subscriptions = []
        self._reader = None
        self._closed = None                    # the Disconnected error once closed
        self.unique_name = None

    # -- the one place that makes calls ----------------------------------------------------

    def call(self, msg, timeout=None):
        """Sends a method call and returns its reply's body; raises offshoot.Error for an error
        reply, offshoot.Timeout past `timeout` seconds (None: no limit), offshoot.Disconnected
        when the connection closes first, TypeError for arguments that do not fit."""
        def marshal(serial):
            try:   # marshals before anything is sent
                return self._conn._serialise(msg, serial)
            except _MISFIT as e:
                raise _misfit(msg, e) from None
        return self._round_trip(marshal, _describe(msg), timeout)

    def call_prepared(self, prepared, body, timeout=None):
        """As call(), for a PreparedCall and its arguments."""
        return self._round_trip(lambda serial: (prepared.serialise(body, serial), None),
                                prepared.what, timeout)

    def _round_trip(self, marshal, what, timeout):
        if self._closed:
            raise _not_sent(self._closed)
        reader = self._reader
        if reader is None:
            with self._turn:
                if self._reader is None:
                    return reply_body(self._call_direct(marshal, what, timeout))
            reader = self._reader
        if reader is threading.current_thread():   # a signal callback calling back
            return reply_body(self._call_direct(marshal, what, timeout))
        return reply_body(self._call_routed(marshal, what, timeout))

    def _call_direct(self, marshal, what, timeout):
        serial = next(self._conn.outgoing_serial)
        self._send(*marshal(serial))
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                reply = self._conn.receive(timeout=left)
            except TimeoutError:
                raise errors.Timeout(f"no reply to {what} within {timeout} s") from None
            except (OSError, EOFError, ReceiveStopped) as e:
                raise self._lost(e) from None
            if _reply_serial(reply) == serial:
                return reply
            self._dispatch(reply)

    def _call_routed(self, marshal, what, timeout):
        serial = next(self._conn.outgoing_serial)
        data, fds = marshal(serial)
        future = Future()
        with self._state:
            if self._closed:
                raise _not_sent(self._closed)
            self._pending[serial] = future
        try:
            self._send(data, fds)
            return future.result(timeout)
        except FutureTimeout:
            raise errors.Timeout(f"no reply to {what} within {timeout} s") from None
        finally:
            with self._state:
                self._pending.pop(serial, None)

    def _send(self, data, fds=None):
        try:
            with self._conn.send_lock:
                if fds:
                    self._conn._send_with_fds(data, fds)
                else:
                    self._conn.sock.sendall(data)
        except OSError as e:   # the other end has closed: it cannot have read the message
            raise _not_sent(self._lost(e)) from None

    def send(self, msg):
        """Sends a message that gets no reply (a signal)."""
        self._send(*self._conn._serialise(msg, next(self._conn.outgoing_serial)))

    # -- signals -----------------------------------------------------------------------------

    def subscribe(self, rule, callback, timeout=None):
        """Calls `callback(*body)` for every message matching `rule`, on the link's reader
        thread (started here if it isn't yet); asks the other end for the signals (AddMatch,
        waiting at most `timeout` seconds for its reply)."""
        return self._attach(Subscription(self, rule, callback), timeout)

    def _attach(self, sub, timeout=None):
        """Delivers `sub` (whichever link it was made on) from this link; once."""
        with self._state:
            if sub in self._subscriptions:
                return sub
        self.call(_protocol.add_match(sub.rule), timeout)
        with self._state:
            if sub not in self._subscriptions:
                self._subscriptions.append(sub)
        self.route()
        return sub

    def _unsubscribe(self, sub):
        with self._state:
            if sub in self._subscriptions:
                self._subscriptions.remove(sub)
        if not self._closed:
            try:
                self.call(_protocol.remove_match(sub.rule))
            except errors.Disconnected:
                pass

    # -- exported objects -------------------------------------------------------------------

    def export(self, path, obj, *, interface=None, xml=None):
        """Serves `obj` at `path` on this link (offshoot._export); switches to routed mode."""
        return self._attach_export(_export.Exported(self, path, obj, interface=interface, xml=xml))

    def _attach_export(self, exported):
        """Serves `exported` (whichever link it was made on) on this link; once."""
        with self._state:
            present = self._exports.get(exported.path)
            if present is not None and present is not exported:
                raise ValueError(f"an object is exported at {exported.path} already")
            self._exports[exported.path] = exported
        self.route()
        return exported

    def _unexport(self, exported):
        with self._state:
            if self._exports.get(exported.path) is exported:
                del self._exports[exported.path]

    def _serve(self, msg):
        with self._state:
            call = _export.Call(self._exports, msg)
        if call.member_info is None:
            return self._answer(call, call.early)
        try:
            result = call.invoke()
        except Exception as e:   # the object's bug or its D-Bus error: an error reply either way
            return self._answer(call, call.failure(e))
        self._answer(call, call.reply(result), result)

    def _answer(self, call, reply, result=None):
        if reply is None:
            return
        try:
            data, fds = self._conn._serialise(reply, next(self._conn.outgoing_serial))
        except _MISFIT as e:
            data, fds = self._conn._serialise(call.misfit(result, e), next(self._conn.outgoing_serial))
        try:
            self._send(data, fds)
        except errors.Disconnected:
            pass   # the caller has gone: nobody to answer

    def route(self):
        """Switches to routed mode: a reader thread from now on (idempotent)."""
        with self._turn:                      # no direct caller is reading meanwhile
            if self._reader is None and not self._closed:
                self._reader = threading.Thread(target=self._read, name="offshoot-link",
                                                daemon=True)
                self._reader.start()

    def _read(self):
        try:
            while True:
                self._dispatch(self._conn.receive())
        except ReceiveStopped:
            self._lost(EOFError("closed"))
        except (OSError, EOFError) as e:
            self._lost(e)

    def _dispatch(self, msg):
        kind = msg.header.message_type
        if kind in (MessageType.method_return, MessageType.error):
            with self._state:
                future = self._pending.pop(_reply_serial(msg), None)
            if future is not None:
                future.set_result(msg)
            return   # else: the reply to a call that timed out
        if kind == MessageType.signal:
            with self._state:
                subs = [s for s in self._subscriptions if s.rule.matches(msg)]
            for sub in subs:
                sub._deliver(msg)
        elif kind == MessageType.method_call:
            self._serve(msg)

    def _lost(self, why):
        with self._state:
            if self._closed is None:
                self._closed = _disconnected(why)
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_exception(self._closed)
        return self._closed

    @property
    def closed(self):
        return self._closed is not None

    def close(self):
        with self._state:
            if self._closed is None:
                self._closed = _disconnected("closed by this client")
        reader = self._reader
        try:
            self._conn.close()     # interrupts the reader's receive
        except OSError:
            pass
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=5)
        if self._tunnel is not None:
            self._tunnel.close()
        self._lost(EOFError("closed by this client"))


def _deadline(timeout):
    return None if timeout is None else time.monotonic() + timeout


def _left(deadline):
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


def _reconnect_timeout(timeout):
    return errors.Timeout(f"no connection to the instance within {timeout} s: its worker did not "
                          "accept one in time (a restart still pending?)")


class ReconnectingLink:
    """The link an instance's proxy holds. It outlives its connection: once that has closed
    (the worker ended), the next call opens a new one with `reopen(timeout)` — the instance's
    address again, where offshootd keeps the socket across a restart and the restarted worker
    answers — moves the subscriptions and exported objects made through it onto the new one,
    and makes the call there. Only a call that never left (NotSent) is made again; one that
    had been sent when the connection closed fails with Disconnected, for it may have run.

    When no connection can be made, `explain(error)` gives the error to raise (why the
    instance is not there). `watch(self)` is called once, at the first subscription or export:
    refresh() then moves what listens as soon as a restart is known, without waiting for a
    call. A call waits for the reconnect within its own timeout (a connection made while the
    restart is pending waits in the socket's backlog until the new worker accepts it).

    Locks: `_state` guards the fields briefly and is never held across a call; `_redial` lets
    one thread reconnect at a time, and the new connection is in place before anything is
    attached to it, so a callback that calls or cancels from its reader thread never waits for
    a thread that waits for that reader."""

    def __init__(self, link, reopen, explain=None, watch=None):
        self._link = link
        self._reopen, self._explain, self._watch = reopen, explain, watch
        self._state = threading.Lock()           # the fields below, briefly
        self._subscriptions = []
        self._exports = {}
        self._redial = threading.Lock()          # one reconnect at a time
        self._closed = False                     # by this client: no reconnecting
        self.reconnects = 0

    @property
    def link(self):
        """The connection in use now (a Link)."""
        return self._link

    @property
    def closed(self):
        """True once closed by this client (a lost connection is replaced on the next call)."""
        return self._closed

    @property
    def unique_name(self):
        return self._link.unique_name

    def call(self, msg, timeout=None):
        link = self._link
        try:
            return link.call(msg, timeout)
        except NotSent:
            link, timeout = self._renewed(link, timeout)
        return _sent(link.call, msg, timeout)

    def call_prepared(self, prepared, body, timeout=None):
        link = self._link
        try:
            return link.call_prepared(prepared, body, timeout)
        except NotSent:
            link, timeout = self._renewed(link, timeout)
        return _sent(link.call_prepared, prepared, body, timeout)

    def send(self, msg):
        self._link.send(msg)

    def route(self):
        self._link.route()

    def subscribe(self, rule, callback, timeout=None):
        """As Link.subscribe; the subscription moves with the connection."""
        sub = Subscription(self, rule, callback)
        with self._state:
            self._subscriptions.append(sub)      # first: a reconnect meanwhile moves it too
            link = self._link
        deadline = _deadline(timeout)
        try:
            while True:
                try:
                    link._attach(sub, _left(deadline))
                    break
                except NotSent:
                    link, _ = self._renewed(link, _left(deadline))
        except BaseException:
            _quietly(sub.cancel)
            raise
        self._watched()
        return sub

    def export(self, path, obj, *, interface=None, xml=None):
        """As Link.export; the object moves with the connection."""
        exported = _export.Exported(self, path, obj, interface=interface, xml=xml)
        with self._state:
            if path in self._exports:
                raise ValueError(f"an object is exported at {path} already")
            self._exports[path] = exported
            link = self._link
        link._attach_export(exported)
        self._watched()
        return exported

    def _unsubscribe(self, sub):
        with self._state:
            if sub in self._subscriptions:
                self._subscriptions.remove(sub)
            link = self._link
        link._unsubscribe(sub)

    def _unexport(self, exported):
        with self._state:
            if self._exports.get(exported.path) is exported:
                del self._exports[exported.path]
            link = self._link
        link._unexport(exported)

    def _watched(self):
        with self._state:
            watch, self._watch = self._watch, None
        if watch is not None:
            watch(self)

    def refresh(self, timeout=AUTH_TIMEOUT):
        """A new connection now if the old one has closed and something listens on it: after a
        restart, so that signals arrive again without a call first. Does nothing while another
        thread reconnects; failures are left for the next call to report. Returns True if it
        reconnected."""
        link = self._link
        if self._closed or not link.closed or not (self._subscriptions or self._exports):
            return False
        try:
            return self._renew(link, _deadline(timeout), wait=False) is not link
        except errors.Error as e:
            log.debug("offshoot: no reconnect after the restart: %s", e)
            return False

    def _renewed(self, dead, timeout):
        """The link to use instead of `dead`, and what is left of `timeout`."""
        deadline = _deadline(timeout)
        try:
            return self._renew(dead, deadline), _left(deadline)
        except errors.Timeout:
            raise
        except errors.Disconnected as e:
            if deadline is not None and _left(deadline) == 0:
                raise _reconnect_timeout(timeout) from None
            if self._closed or self._explain is None:
                raise
            raise self._explain(e) from None

    def _renew(self, dead, deadline, wait=True):
        if not self._redial.acquire(blocking=wait):
            return self._link
        try:
            if self._closed:
                raise _disconnected("closed by this client")
            if self._link is not dead and not self._link.closed:
                return self._link                # another thread has reconnected meanwhile
            link = self._reopen(_left(deadline))
            with self._state:
                closed = self._closed
                if not closed:
                    old, self._link = self._link, link
                    subs, exports = list(self._subscriptions), list(self._exports.values())
                    self.reconnects += 1
            if closed:
                link.close()
                raise _disconnected("closed by this client")
            try:
                for exported in exports:
                    link._attach_export(exported)
                if subs or dead._reader is not None:
                    link.route()                 # before the AddMatches: none reads directly
                for sub in subs:
                    link._attach(sub, _left(deadline))
                    if sub._link is None:        # cancelled meanwhile
                        link._unsubscribe(sub)
            except BaseException:
                link.close()                     # the next call reconnects (and attaches) again
                raise
        finally:
            self._redial.release()
        old.close()                              # lost already: its socket and reader go
        return link

    def close(self):
        self._closed = True
        self._link.close()


def _quietly(fn):
    try:
        fn()
    except errors.Error:
        pass


def _sent(call, *args):
    """A call on a connection just made: were it closed already, a plain Disconnected."""
    try:
        return call(*args)
    except NotSent as e:
        raise errors.Disconnected(e.message) from None


# What jeepney raises when arguments do not fit the signature: a TypeError for the caller.
_MISFIT = (TypeError, ValueError, struct.error)


def _misfit(msg, e):
    sig = msg.header.fields.get(HeaderFields.signature, "")
    return TypeError(f"{_describe(msg)}: arguments {msg.body!r} do not fit signature {sig!r}: {e}")


def _describe(msg):
    f = msg.header.fields
    return f"{f.get(HeaderFields.interface, '')}.{f.get(HeaderFields.member, '')}"


# -- the one place that opens connections ---------------------------------------------------

def open_link(address, *, enable_fds=False, routed=False, timeout=AUTH_TIMEOUT, host=None):
    """Connects to a D-Bus address (`unix:path=…`, or None for the system bus) — on this machine,
    or with `host` ([user@]host[:port]) on that one, through ssh and systemd-stdio-bridge —
    authenticates (EXTERNAL) and says Hello, which a bus and an instance's worker both answer."""
    tunnel = None
    if host is not None:
        tunnel = _ssh.Tunnel(host, address)
        sock = tunnel.sock
        try:
            _authenticate(sock, enable_fds, timeout)
        except (OSError, TimeoutError, EOFError, AuthenticationError) as e:
            err = tunnel.failure(e)
            tunnel.close()
            raise err from None
    else:
        if address is None:
            address = system_bus_address()
        try:
            sock = prep_socket(get_bus(address), enable_fds, timeout=timeout)
        except (OSError, TimeoutError) as e:
            raise errors.Disconnected(f"cannot connect to {address}: {e}") from None
    link = Link(DBusConnection(sock, enable_fds=enable_fds), tunnel)
    try:
        link.unique_name = link.call(_protocol.hello(), timeout=timeout)[0]
        if routed:
            link.route()
    except BaseException:
        link.close()
        raise
    return link


def _authenticate(sock, enable_fds, timeout):
    """The SASL exchange on a socket that is connected already (jeepney's prep_socket connects
    one of its own), within `timeout` seconds in all (None: no limit)."""
    deadline = _deadline(timeout)
    auth = Authenticator(enable_fds=enable_fds)
    for request in auth:
        sock.settimeout(None if deadline is None else max(_left(deadline), 0.001))
        sock.sendall(request)
        data = sock.recv(1024)
        if not data:
            raise EOFError("the connection closed during authentication")
        auth.feed(data)
    sock.sendall(BEGIN)
    sock.settimeout(None)


# -- asyncio -------------------------------------------------------------------------------

class AsyncLink:
    """One D-Bus connection for asyncio: a reader task hands replies to the awaiting callers
    and signals to their callbacks (a coroutine callback is scheduled as a task)."""

    def __init__(self, reader, writer, tunnel=None):
        self._reader, self._writer = reader, writer
        self._tunnel = tunnel
        self._exports = {}
        self._serving = set()                  # tasks answering calls to exported objects
        self._parser = Parser()
        self._serials = itertools.count(1)
        self._pending = {}
        self._subscriptions = []
        self._closed = None
        self._task = None
        self.unique_name = None

    def _start(self):
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def call(self, msg, timeout=None):
        """As Link.call, awaited."""
        def marshal(serial):
            try:
                return msg.serialise(serial)
            except _MISFIT as e:
                raise _misfit(msg, e) from None
        return await self._round_trip(marshal, _describe(msg), timeout)

    async def call_prepared(self, prepared, body, timeout=None):
        return await self._round_trip(lambda serial: prepared.serialise(body, serial),
                                      prepared.what, timeout)

    async def _round_trip(self, marshal, what, timeout):
        if self._closed:
            raise _not_sent(self._closed)
        serial = next(self._serials)
        future = asyncio.get_running_loop().create_future()
        self._pending[serial] = future
        try:
            data = marshal(serial)
            try:
                self._writer.write(data)
            except (OSError, RuntimeError) as e:
                raise _not_sent(self._lost(e)) from None
            try:
                return reply_body(await asyncio.wait_for(future, timeout))
            except asyncio.TimeoutError:
                raise errors.Timeout(f"no reply to {what} within {timeout} s") from None
        finally:
            self._pending.pop(serial, None)

    async def subscribe(self, rule, callback, timeout=None):
        return await self._attach(Subscription(self, rule, callback), timeout)

    async def _attach(self, sub, timeout=None):
        if sub in self._subscriptions:
            return sub
        await self.call(_protocol.add_match(sub.rule), timeout)
        if sub not in self._subscriptions:
            self._subscriptions.append(sub)
        return sub

    def _unsubscribe(self, sub):
        if sub in self._subscriptions:
            self._subscriptions.remove(sub)
        if not self._closed:   # fire and forget: cancel() is not a coroutine
            self._writer.write(_protocol.remove_match(sub.rule).serialise(next(self._serials)))

    async def _read(self):
        try:
            while True:
                msg = self._parser.get_next_message()
                if msg is None:
                    data = await self._reader.read(65536)
                    if not data:
                        raise EOFError("end of stream")
                    self._parser.add_data(data)
                    continue
                self._dispatch(msg)
        except asyncio.CancelledError:
            self._lost(EOFError("closed by this client"))
            raise
        except (OSError, EOFError) as e:
            self._lost(e)

    def _dispatch(self, msg):
        kind = msg.header.message_type
        if kind in (MessageType.method_return, MessageType.error):
            future = self._pending.pop(_reply_serial(msg), None)
            if future is not None and not future.done():
                future.set_result(msg)
        elif kind == MessageType.signal:
            for sub in [s for s in self._subscriptions if s.rule.matches(msg)]:
                sub._deliver(msg)
        elif kind == MessageType.method_call:
            self._serve(msg)

    # -- exported objects (as Link's; a coroutine method is awaited in a task of its own) ----

    def export(self, path, obj, *, interface=None, xml=None):
        return self._attach_export(_export.Exported(self, path, obj, interface=interface, xml=xml))

    def _attach_export(self, exported):
        present = self._exports.get(exported.path)
        if present is not None and present is not exported:
            raise ValueError(f"an object is exported at {exported.path} already")
        self._exports[exported.path] = exported
        return exported

    def _unexport(self, exported):
        if self._exports.get(exported.path) is exported:
            del self._exports[exported.path]

    def _serve(self, msg):
        call = _export.Call(self._exports, msg)
        if call.member_info is None:
            return self._answer(call, call.early)
        try:
            result = call.invoke()
        except Exception as e:
            return self._answer(call, call.failure(e))
        if not asyncio.iscoroutine(result):
            return self._answer(call, call.reply(result), result)

        async def finish():
            try:
                value = await result
            except Exception as e:
                return self._answer(call, call.failure(e))
            self._answer(call, call.reply(value), value)
        task = asyncio.ensure_future(finish())
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)

    def _answer(self, call, reply, result=None):
        if reply is None or self._closed:
            return
        try:
            data = reply.serialise(next(self._serials))
        except _MISFIT as e:
            data = call.misfit(result, e).serialise(next(self._serials))
        try:
            self._writer.write(data)
        except (OSError, RuntimeError):
            pass   # the caller has gone

    def _lost(self, why):
        if self._closed is None:
            self._closed = _disconnected(why)
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(self._closed)
        return self._closed

    @property
    def closed(self):
        return self._closed is not None

    async def close(self):
        if self._closed is None:
            self._closed = _disconnected("closed by this client")
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for task in list(self._serving):
            task.cancel()
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except OSError:
            pass
        if self._tunnel is not None:   # reaping ssh blocks: not on the event loop's thread
            await asyncio.get_running_loop().run_in_executor(None, self._tunnel.close)
        self._lost(EOFError("closed by this client"))


class AsyncReconnectingLink:
    """ReconnectingLink for asyncio: the same, around AsyncLinks (`reopen`, `explain` and
    `watch` are coroutine functions). One task reconnects at a time (`_redial`); callbacks are
    plain functions or tasks of their own, so none waits for the reader."""

    def __init__(self, link, reopen, explain=None, watch=None):
        self._link = link
        self._reopen, self._explain, self._watch = reopen, explain, watch
        self._subscriptions = []
        self._exports = {}
        self._redial = asyncio.Lock()
        self._closed = False
        self._tasks = set()                      # refreshes and watches under way
        self.reconnects = 0

    link = ReconnectingLink.link
    closed = ReconnectingLink.closed
    unique_name = ReconnectingLink.unique_name

    async def call(self, msg, timeout=None):
        link = self._link
        try:
            return await link.call(msg, timeout)
        except NotSent:
            link, timeout = await self._renewed(link, timeout)
        return await _sent_async(link.call(msg, timeout))

    async def call_prepared(self, prepared, body, timeout=None):
        link = self._link
        try:
            return await link.call_prepared(prepared, body, timeout)
        except NotSent:
            link, timeout = await self._renewed(link, timeout)
        return await _sent_async(link.call_prepared(prepared, body, timeout))

    async def subscribe(self, rule, callback, timeout=None):
        sub = Subscription(self, rule, callback)
        self._subscriptions.append(sub)          # first: a reconnect meanwhile moves it too
        link, deadline = self._link, _deadline(timeout)
        try:
            while True:
                try:
                    await link._attach(sub, _left(deadline))
                    break
                except NotSent:
                    link, _ = await self._renewed(link, _left(deadline))
        except BaseException:
            sub.cancel()
            raise
        await self._watched()
        return sub

    def export(self, path, obj, *, interface=None, xml=None):
        exported = _export.Exported(self, path, obj, interface=interface, xml=xml)
        if path in self._exports:
            raise ValueError(f"an object is exported at {path} already")
        self._exports[path] = exported
        self._link._attach_export(exported)
        if self._watch is not None:   # export() is not a coroutine: the watch goes on alone
            self._keep(self._watched())
        return exported

    def _unsubscribe(self, sub):
        if sub in self._subscriptions:
            self._subscriptions.remove(sub)
        self._link._unsubscribe(sub)

    def _unexport(self, exported):
        if self._exports.get(exported.path) is exported:
            del self._exports[exported.path]
        self._link._unexport(exported)

    async def _watched(self):
        watch, self._watch = self._watch, None
        if watch is not None:
            await watch(self)

    def _keep(self, coro):
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def refresh_soon(self, timeout=AUTH_TIMEOUT):
        """refresh() in a task of its own (from a signal callback)."""
        self._keep(self.refresh(timeout))

    async def refresh(self, timeout=AUTH_TIMEOUT):
        """As ReconnectingLink.refresh."""
        link = self._link
        if self._closed or not link.closed or not (self._subscriptions or self._exports) \
                or self._redial.locked():
            return False
        try:
            return await self._renew(link, _deadline(timeout)) is not link
        except errors.Error as e:
            log.debug("offshoot: no reconnect after the restart: %s", e)
            return False

    async def _renewed(self, dead, timeout):
        deadline = _deadline(timeout)
        try:
            return await self._renew(dead, deadline), _left(deadline)
        except errors.Timeout:
            raise
        except errors.Disconnected as e:
            if deadline is not None and _left(deadline) == 0:
                raise _reconnect_timeout(timeout) from None
            if self._closed or self._explain is None:
                raise
            raise await self._explain(e) from None

    async def _renew(self, dead, deadline):
        async with self._redial:
            if self._closed:
                raise _disconnected("closed by this client")
            if self._link is not dead and not self._link.closed:
                return self._link
            link = await self._reopen(_left(deadline))
            if self._closed:
                await link.close()
                raise _disconnected("closed by this client")
            old, self._link = self._link, link
            self.reconnects += 1
            try:
                for exported in list(self._exports.values()):
                    link._attach_export(exported)
                for sub in list(self._subscriptions):
                    await link._attach(sub, _left(deadline))
                    if sub._link is None:        # cancelled meanwhile
                        link._unsubscribe(sub)
            except BaseException:
                await link.close()
                raise
        await old.close()
        return link

    async def close(self):
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await self._link.close()


async def _sent_async(call):
    try:
        return await call
    except NotSent as e:
        raise errors.Disconnected(e.message) from None


async def open_async_link(address, *, timeout=AUTH_TIMEOUT, host=None):
    """As open_link, for asyncio."""
    tunnel = None
    if host is not None:
        tunnel = _ssh.Tunnel(host, address)
    elif address is None:
        address = system_bus_address()

    async def connect():
        if tunnel is not None:
            tunnel.sock.setblocking(False)
            reader, writer = await asyncio.open_unix_connection(sock=tunnel.sock)
        else:
            reader, writer = await asyncio.open_unix_connection(get_bus(address))
        auth = Authenticator()
        for request in auth:
            writer.write(request)
            data = await reader.read(1024)
            if not data:
                raise EOFError("closed during authentication")
            auth.feed(data)
        writer.write(BEGIN)
        return reader, writer

    try:
        reader, writer = await asyncio.wait_for(connect(), timeout)
    except (OSError, EOFError, AuthenticationError, asyncio.TimeoutError) as e:
        if tunnel is None:
            raise errors.Disconnected(f"cannot connect to {address}: {e!r}") from None
        err = await asyncio.get_running_loop().run_in_executor(None, tunnel.failure, repr(e))
        await asyncio.get_running_loop().run_in_executor(None, tunnel.close)
        raise err from None
    link = AsyncLink(reader, writer, tunnel)
    link._start()
    try:
        link.unique_name = (await link.call(_protocol.hello(), timeout=timeout))[0]
    except BaseException:
        await link.close()
        raise
    return link


__all__ = ["Link", "AsyncLink", "ReconnectingLink", "AsyncReconnectingLink", "NotSent",
           "PreparedCall", "Subscription", "open_link", "open_async_link", "reply_body",
           "system_bus_address"]

"""offshoot.supervisor — the synchronous client: Supervisor (the connection to offshootd) and
Instance (one instance handle, also its object's proxy and a context manager).

    sup = offshoot.Supervisor(address="unix:path=…")          # None: the system bus
    sup = offshoot.Supervisor(host="user@host")               # that host's system bus, over ssh
    with sup.spawn("Counter", uid=65534, cwd="/srv/x") as counter:
        counter.Increment(5)               # the object's methods, from its introspection
        counter.pid, counter.state         # the handle's facts
    # here: stopped and released, like the C++ client's RAII handle

At interpreter exit, the tied instances this process still holds are stopped and released
(offspring's atexit shutdown), so they are gone before the interpreter is; were that skipped
(os._exit, SIGKILL), offshootd stops them anyway when this process's bus connection closes.
"""

import atexit
import signal as _signal
import threading
import weakref

from . import _protocol, _wire, errors
from ._handles import Closing, InstanceFacts, SupervisorFacts
from ._proxy import Description, ObjectProxy, not_reconnected, not_running

__all__ = ["Supervisor", "Instance"]


class Supervisor(SupervisorFacts, Closing):
    """A connection to offshootd (bus name org.offshoot1) on the bus at `address`
    (`unix:path=…`), or on the system bus when `address` is None — of this machine, or with
    `host` ("[user@]host[:port]") of that one, over ssh: as `busctl -H` reaches it, and the
    instances' connections go through ssh too (docs/lifecycle.md, "Another host").

    Keep it open while you use the instances it spawned: offshootd stops and releases tied
    instances (the default) when this connection closes."""

    def __init__(self, address=None, *, host=None):
        self.address = address
        self.host = host
        # Routed: one thread may wait() for an instance while another stops it.
        self._link = _wire.open_link(address, routed=True, host=host)
        self._daemon = None                    # offshootd's unique name, once asked

    def spawn(self, class_name, uid=None, *, gid=None, groups=None, cwd=None, env=None,
              umask=None, args=None, start=True, stop_mode=None, stop_timeout=None,
              restart=None, tie_to_caller=True):
        """Starts an instance of `class_name` and returns its handle once the object is
        callable (connected, introspected). `uid`/`gid`/`groups`/`cwd`/`umask` as the worker
        should run; `env` a mapping or KEY=VALUE strings; `args` the class's arguments;
        `start=False` creates the handle only (start() later); `stop_mode` "terminate"
        (SIGTERM, the default) or "wait" (let the work finish); `stop_timeout` seconds until
        SIGKILL; `restart` a restart policy ("no", "on-success", "on-failure", "on-abnormal",
        "on-abort", "always") that restarts after nothing the class's Restart= does not (else
        AccessDenied; default: the class's); `tie_to_caller` stops the instance when this
        connection goes away."""
        options = _protocol.spawn_options(
            uid=uid, gid=gid, groups=groups, cwd=cwd, env=env, umask=umask, args=args,
            start=start, stop_mode=stop_mode, stop_timeout=stop_timeout, restart=restart,
            tie_to_caller=tie_to_caller)
        path, address = self._link.call(_protocol.spawn(class_name, options),
                                        timeout=_protocol.SPAWN_TIMEOUT)
        instance = Instance(self, path, stop_mode=stop_mode, stop_timeout=stop_timeout,
                            tied=tie_to_caller)
        if address:
            try:
                instance._connect(address)
            except BaseException:
                instance._discard()
                raise
        return instance

    def adopt(self, path):
        """A handle for an existing instance (e.g. from instances()); stopped at the end of a
        `with` like a spawned one."""
        instance = Instance(self, path, stop_mode=None, stop_timeout=None, tied=False)
        instance.id  # fails at once if there is no such handle
        if instance.state in ("running",):
            instance._connect(instance.address)
        return instance

    def classes(self):
        """[(name, interface)] of every configured class."""
        return [tuple(row) for row in self._link.call(_protocol.supervisor_call("ListClasses"))[0]]

    def describe_classes(self):
        """{name: {"interface": …, <policy facts>}}."""
        out = {}
        for name, interface, facts in self._link.call(
                _protocol.supervisor_call("DescribeClasses"))[0]:
            out[name] = {"interface": interface, **{k: v for k, (_, v) in facts.items()}}
        return out

    def instances(self):
        """[(path, class, state, uid, pid, owner)] of every instance handle."""
        return [tuple(row) for row in
                self._link.call(_protocol.supervisor_call("ListInstances"))[0]]

    def _property(self, name):
        return self._link.call(_protocol.get_property(
            _protocol.BUS_NAME, _protocol.SUPERVISOR_PATH, _protocol.SUPERVISOR_INTERFACE, name))[0][1]

    def _on_instance(self, path, member, callback):
        """`callback(*arguments)` for each signal `member` of the handle at `path`, on this
        connection's reader thread; a Subscription."""
        if self._daemon is None:
            self._daemon = self._link.call(_protocol.get_name_owner())[0]
        return self._link.subscribe(_protocol.instance_signal_rule(self._daemon, path, member),
                                    callback)

    def close(self):
        """Closes the connection (offshootd then stops this connection's tied instances)."""
        self._link.close()

    def __repr__(self):
        where = self.address or "system bus"
        return f"<offshoot.Supervisor {where}{f' on {self.host}' if self.host else ''}>"


# Tied handles still held, for the atexit shutdown.
_live = weakref.WeakSet()
_live_lock = threading.Lock()
_atexit_registered = False


def _track(instance):
    global _atexit_registered
    with _live_lock:
        _live.add(instance)
        if not _atexit_registered:
            atexit.register(shutdown_all)
            _atexit_registered = True


def shutdown_all():
    """Stops and releases every tied instance this process still holds (run at exit)."""
    with _live_lock:
        instances = list(_live)
        _live.clear()
    for instance in instances:
        instance.close()


class Instance(InstanceFacts, Closing):
    """One instance handle (`/org/offshoot1/instance/<id>`) and the proxy of its object.

    The object's methods, properties and on() are attributes of the handle; `.object` is the
    proxy alone (for a method whose name clashes with the handle's own: start, stop, kill,
    wait, release, path, address, pid, uid, state, …)."""

    def __init__(self, supervisor, path, *, stop_mode, stop_timeout, tied):
        self._supervisor = supervisor
        self._link = supervisor._link
        self.path = path
        self._stop_mode, self._stop_timeout = stop_mode, stop_timeout
        self._address = None
        self._object = None
        self._restarts_watch = None            # the object's reconnect on Restarted
        self._done = False
        if tied:
            _track(self)

    # -- the object -----------------------------------------------------------------------------

    def _connect(self, address):
        self._disconnect()
        host = self._supervisor.host
        link = _wire.open_link(address, host=host)
        try:
            description = Description(link.call(_protocol.introspect())[0])
            fds = description.uses_fds and host is None
            if fds:                                      # again, with fd passing negotiated
                link.close()                             # (descriptors do not cross ssh)
                link = _wire.open_link(address, enable_fds=True)
        except BaseException:
            link.close()
            raise

        def reopen(timeout):   # the same address: offshootd keeps it across a restart
            return _wire.open_link(address, enable_fds=fds, host=host, timeout=timeout)
        self._object = ObjectProxy(_wire.ReconnectingLink(link, reopen, self._not_reconnected,
                                                          self._watch_restarts), description)
        self._address = address

    def _not_reconnected(self, error):
        try:
            facts = self.properties()
        except errors.Error:
            facts = None
        return not_reconnected(self.path, facts, error)

    def _watch_restarts(self, link):
        # Something listens on the object's connection (a signal, an exported object): move it
        # to the restarted worker as soon as it is there, not at the next call.
        self._restarts_watch = self._supervisor._on_instance(
            self.path, "Restarted", lambda *_: link.refresh())

    def _disconnect(self):
        obj, self._object, self._address = self._object, None, None
        watch, self._restarts_watch = self._restarts_watch, None
        if watch is not None:
            try:
                watch.cancel()
            except errors.Error:
                pass
        if obj is not None:
            obj.link.close()

    @property
    def object(self):
        """The object's proxy (NotRunning before start())."""
        if self._object is None:
            raise not_running(self.path)
        return self._object

    def on(self, signal, callback):
        """`callback(*arguments)` for each `signal` of the object; returns a Subscription. It
        outlives a restart: the new worker's signals reach it too."""
        return self.object.on(signal, callback)

    def on_restart(self, callback):
        """`callback(result, code, n_restarts)` each time the restart policy has restarted the
        instance and the new worker is ready (the handle's Restarted signal): what ended the
        last worker — ("signal", 11), ("exit-code", 3), … — and NRestarts now. On the
        Supervisor connection's reader thread; returns a Subscription (cancel() ends it)."""
        return self._supervisor._on_instance(self.path, "Restarted", callback)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.object, name)

    def __dir__(self):
        members = self._object._description.members() if self._object else []
        return [*super().__dir__(), *members]

    # -- the handle's facts ---------------------------------------------------------------------

    def _property(self, name):
        return self._link.call(_protocol.get_property(
            _protocol.BUS_NAME, self.path, _protocol.INSTANCE_INTERFACE, name))[0][1]

    def properties(self):
        """Every property of the handle in one round trip: {"MainPID": …, "State": …, …}."""
        return {k: v for k, (_, v) in self._link.call(_protocol.get_all_properties(
            _protocol.BUS_NAME, self.path, _protocol.INSTANCE_INTERFACE))[0].items()}

    @property
    def address(self):
        """The object's private address (`unix:path=…`); "" while there is no process."""
        return self._address or self._property("Address")

    # id, class_name, owner, pid, uid, gid, groups, cwd, state, result, exit_code, exit_signal,
    # n_restarts and restart: InstanceFacts.

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self):
        """Starts a created or finished instance (a fresh process) and connects to it."""
        self._disconnect()
        self._call("Start", timeout=_protocol.SPAWN_TIMEOUT)
        self._connect(self._property("Address"))

    def stop(self):
        """Asks the instance to stop; returns when its process is gone."""
        try:
            self._call("Stop", timeout=self._stop_call_timeout())
        finally:
            self._disconnect()

    def kill(self, sig=_signal.SIGTERM):
        """Sends `sig` to the instance's process."""
        self._call("Kill", "i", (int(sig),))

    def wait(self, timeout=None):
        """(result, code) once the process is gone — ("success", 0), ("exit-code", 3),
        ("signal", 11), … — at once if it already is; ("", 0) for a never-started handle.
        offshoot.Timeout past `timeout` seconds."""
        result, code = self._call("Wait", timeout=timeout)
        return result, code

    def release(self):
        """Forgets the handle (stopping the instance first if it runs)."""
        try:
            self._call("Release", timeout=self._stop_call_timeout())
        finally:
            self._forget()

    def detach(self):
        """Forgets the handle here without stopping anything; returns its path."""
        self._forget()
        return self.path

    def close(self):
        """stop() then release(), swallowing offshoot.Error (the instance may have ended, the
        daemon may be gone): what leaving a `with` block does."""
        if self._done:
            return
        for step in (self.stop, self.release):
            try:
                step()
            except errors.Error:
                pass
        self._forget()

    def _forget(self):
        self._done = True
        self._disconnect()
        with _live_lock:
            _live.discard(self)

    def _discard(self):
        try:
            self.release()
        except errors.Error:
            self._forget()

    def _call(self, member, signature=None, body=(), timeout=None):
        if self._done:
            raise errors.InvalidArgument(f"the handle {self.path} was released or detached")
        return self._link.call(_protocol.instance_call(self.path, member, signature, body),
                               timeout=timeout)

    def _stop_call_timeout(self):
        return _protocol.stop_call_timeout(self._stop_mode, self._stop_timeout)

    def __repr__(self):
        return f"<offshoot.Instance {self.path}{' (released)' if self._done else ''}>"

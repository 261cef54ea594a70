"""offshoot.aio — the asyncio flavour of offshoot: the same names, awaited.

    async with offshoot.aio.Supervisor(address="unix:path=…") as sup:
        async with sup.spawn("Counter", uid=65534) as counter:   # stopped and released at exit
            await counter.Increment(5)
            await counter.on("Changed", print)                    # plain or async callbacks
            await counter.pid, await counter.state                # facts are awaited too
        task = await sup.spawn("Sleeper", uid=65534, args=["200", "3"])
        await task.wait(timeout=10)                               # ("exit-code", 3)

No atexit shutdown here: the event loop is gone by then. Leave `async with` blocks (or call
close()) to stop instances; tied ones (the default) go anyway when the process's connection
to the bus closes — at exit at the latest.
"""

import signal as _signal

from . import _protocol, _wire, errors
from ._handles import InstanceFacts, SupervisorFacts
from ._proxy import AsyncObjectProxy, Description, not_reconnected, not_running

__all__ = ["Supervisor", "Instance", "connect"]


async def connect(address=None, *, host=None):
    """An open Supervisor (as `async with Supervisor(address)` gives)."""
    return await Supervisor(address, host=host).open()


class Supervisor(SupervisorFacts):
    """A connection to offshootd on the bus at `address` (None: the system bus), on `host` over
    ssh when given (as offshoot.Supervisor), opened by `async with` or `await sup.open()`."""

    def __init__(self, address=None, *, host=None):
        self.address = address
        self.host = host
        self._link = None
        self._daemon = None

    async def open(self):
        if self._link is None:
            self._link = await _wire.open_async_link(self.address, host=self.host)
        return self

    def _call(self, msg, timeout=None):
        if self._link is None:
            raise errors.Disconnected("offshoot.aio.Supervisor is not open: use async with or open()")
        return self._link.call(msg, timeout=timeout)

    def spawn(self, class_name, uid=None, **options):
        """As offshoot.Supervisor.spawn (same keywords); await it for the Instance, or use it
        in `async with` to stop and release the instance at the end of the block."""
        return _Spawning(self, class_name, uid, options)

    async def _spawn(self, class_name, uid, options):
        tied = options.get("tie_to_caller", True)
        msg = _protocol.spawn(class_name, _protocol.spawn_options(uid=uid, **options))
        path, address = await self._call(msg, timeout=_protocol.SPAWN_TIMEOUT)
        instance = Instance(self, path, stop_mode=options.get("stop_mode"),
                            stop_timeout=options.get("stop_timeout"), tied=tied)
        if address:
            try:
                await instance._connect(address)
            except BaseException:
                try:
                    await instance.release()
                except errors.Error:
                    pass
                raise
        return instance

    async def classes(self):
        return [tuple(r) for r in (await self._call(_protocol.supervisor_call("ListClasses")))[0]]

    async def instances(self):
        return [tuple(r) for r in (await self._call(_protocol.supervisor_call("ListInstances")))[0]]

    async def _property(self, name):
        return (await self._call(_protocol.get_property(
            _protocol.BUS_NAME, _protocol.SUPERVISOR_PATH, _protocol.SUPERVISOR_INTERFACE,
            name)))[0][1]

    async def _on_instance(self, path, member, callback):
        """As offshoot.Supervisor._on_instance, on the event loop."""
        if self._daemon is None:   # _call raises if not open
            self._daemon = (await self._call(_protocol.get_name_owner()))[0]
        return await self._link.subscribe(
            _protocol.instance_signal_rule(self._daemon, path, member), callback)

    async def close(self):
        if self._link is not None:
            await self._link.close()

    async def __aenter__(self):
        return await self.open()

    async def __aexit__(self, *exc):
        await self.close()
        return False


class _Spawning:
    """What Supervisor.spawn returns: awaitable, and an async context manager."""

    def __init__(self, supervisor, class_name, uid, options):
        self._args = (class_name, uid, options)
        self._supervisor = supervisor
        self._instance = None

    def __await__(self):
        return self._supervisor._spawn(*self._args).__await__()

    async def __aenter__(self):
        self._instance = await self._supervisor._spawn(*self._args)
        return self._instance

    async def __aexit__(self, *exc):
        await self._instance.close()
        return False


class Instance(InstanceFacts):
    """One instance handle and its object's proxy, for asyncio (see offshoot.Instance)."""

    def __init__(self, supervisor, path, *, stop_mode, stop_timeout, tied):
        self._supervisor = supervisor
        self.path = path
        self._stop_mode, self._stop_timeout = stop_mode, stop_timeout
        self.tied = tied
        self._address = None
        self._object = None
        self._restarts_watch = None
        self._done = False

    async def _connect(self, address):
        await self._disconnect()
        host = self._supervisor.host
        link = await _wire.open_async_link(address, host=host)
        try:
            description = Description((await link.call(_protocol.introspect()))[0])
        except BaseException:
            await link.close()
            raise

        def reopen(timeout):   # the same address: offshootd keeps it across a restart
            return _wire.open_async_link(address, host=host, timeout=timeout)
        self._object = AsyncObjectProxy(_wire.AsyncReconnectingLink(
            link, reopen, self._not_reconnected, self._watch_restarts), description)
        self._address = address

    async def _not_reconnected(self, error):
        try:
            facts = await self.properties()
        except errors.Error:
            facts = None
        return not_reconnected(self.path, facts, error)

    async def _watch_restarts(self, link):
        self._restarts_watch = await self._supervisor._on_instance(
            self.path, "Restarted", lambda *_: link.refresh_soon())

    async def _disconnect(self):
        obj, self._object, self._address = self._object, None, None
        watch, self._restarts_watch = self._restarts_watch, None
        if watch is not None:
            watch.cancel()
        if obj is not None:
            await obj.link.close()

    @property
    def object(self):
        if self._object is None:
            raise not_running(self.path)
        return self._object

    async def on(self, signal, callback):
        return await self.object.on(signal, callback)

    async def on_restart(self, callback):
        """As offshoot.Instance.on_restart: `callback(result, code, n_restarts)` (plain or
        async) after each restart by the policy, on the event loop; a Subscription."""
        return await self._supervisor._on_instance(self.path, "Restarted", callback)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.object, name)

    async def _property(self, name):
        return (await self._supervisor._call(_protocol.get_property(
            _protocol.BUS_NAME, self.path, _protocol.INSTANCE_INTERFACE, name)))[0][1]

    async def properties(self):
        reply = await self._supervisor._call(_protocol.get_all_properties(
            _protocol.BUS_NAME, self.path, _protocol.INSTANCE_INTERFACE))
        return {k: v for k, (_, v) in reply[0].items()}

    @property
    def address(self):
        async def get():
            return self._address or await self._property("Address")
        return get()

    # id, class_name, owner, pid, uid, gid, groups, cwd, state, result, exit_code, exit_signal,
    # n_restarts and restart: InstanceFacts (each awaited).

    async def start(self):
        await self._disconnect()
        await self._call("Start", timeout=_protocol.SPAWN_TIMEOUT)
        await self._connect(await self._property("Address"))

    async def stop(self):
        try:
            await self._call("Stop", timeout=self._stop_call_timeout())
        finally:
            await self._disconnect()

    async def kill(self, sig=_signal.SIGTERM):
        await self._call("Kill", "i", (int(sig),))

    async def wait(self, timeout=None):
        result, code = await self._call("Wait", timeout=timeout)
        return result, code

    async def release(self):
        try:
            await self._call("Release", timeout=self._stop_call_timeout())
        finally:
            self._done = True
            await self._disconnect()

    async def detach(self):
        self._done = True
        await self._disconnect()
        return self.path

    async def close(self):
        """stop() then release(), swallowing offshoot.Error (what leaving `async with` does)."""
        if self._done:
            return
        for step in (self.stop, self.release):
            try:
                await step()
            except errors.Error:
                pass
        self._done = True
        await self._disconnect()

    def _call(self, member, signature=None, body=(), timeout=None):
        if self._done:
            raise errors.InvalidArgument(f"the handle {self.path} was released or detached")
        return self._supervisor._call(
            _protocol.instance_call(self.path, member, signature, body), timeout=timeout)

    def _stop_call_timeout(self):
        return _protocol.stop_call_timeout(self._stop_mode, self._stop_timeout)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
        return False

    def __repr__(self):
        return f"<offshoot.aio.Instance {self.path}{' (released)' if self._done else ''}>"

#!/usr/bin/python3
"""compare_libraries.py — the measurements behind the Python client's choice of D-Bus library
(docs/python.md, "Which D-Bus library"). Each of Debian's four Python D-Bus libraries is put
against a real instance's peer socket (a `unix:path=` address that is not a bus but answers
Hello):

  connect   open the peer connection, authenticate, Hello (p50 over 50)
  ping      Echo.Ping round trips, synchronous API (p50/p90 over --count, 100 warm-up)
  aio-ping  the same through the library's asyncio API, where it has one
  signal    Counter.Increment → the Changed signal on the same connection (p50 over 200)
  fd        negotiate unix fds with the worker and send it a message carrying an fd
            (the worker answers with an error: no Echo method takes one); the connection
            must still answer a Ping afterwards

  /usr/bin/python3 bench/python/compare_libraries.py --prefix=/opt/offshoot-base [--count=N]
  taskset -c 0 /usr/bin/python3 bench/python/compare_libraries.py ...   # everything on one core

It starts its own dbus-daemon and offshootd (offshoot.embedded) and prints one JSON object per
library and figure. Libraries not installed are reported as such.
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time

from measure import clock, summary, timed  # beside this script

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from offshoot import embedded  # noqa: E402  (the worktree's copy, not an installed one)

DEST = "org.offshoot1.Object"
PATH = "/org/offshoot1/object"
ECHO = "org.offshoot1.example.Echo"
COUNTER = "org.offshoot1.example.Counter"


def figure(lib, name, samples_ns, **extra):
    print(json.dumps({"library": lib, "name": name, **summary(samples_ns), **extra}), flush=True)


def note(lib, name, **facts):
    print(json.dumps({"library": lib, "name": name, **facts}), flush=True)


def iterate_until_signal(ctx, got, seen):
    """Runs the GLib main context until `got` holds more than `seen` signals (5 s at most)."""
    deadline = time.monotonic() + 5
    while len(got) == seen:
        assert time.monotonic() < deadline, "no Changed signal"
        ctx.iteration(True)


# ---- jeepney ---------------------------------------------------------------------------------

def bench_jeepney(echo_addr, counter_addr, count):
    from jeepney import DBusAddress, MatchRule, new_method_call, message_bus
    from jeepney.io import blocking
    lib = "jeepney"
    figure(lib, "connect", timed(lambda i: blocking.open_dbus_connection(bus=echo_addr).close(), 50))
    conn = blocking.open_dbus_connection(bus=echo_addr)
    echo = DBusAddress(PATH, DEST, ECHO)

    def ping(v):
        reply = conn.send_and_get_reply(new_method_call(echo, "Ping", "x", (v,)))
        assert reply.body[0] == v
    figure(lib, "ping", timed(ping, count, 100))

    async def aio():
        from jeepney.io.asyncio import open_dbus_router
        async with open_dbus_router(bus=echo_addr) as router:
            for v in range(100):
                await router.send_and_get_reply(new_method_call(echo, "Ping", "x", (v,)))
            samples = []
            for v in range(count):
                t0 = clock()
                reply = await router.send_and_get_reply(new_method_call(echo, "Ping", "x", (v,)))
                samples.append(clock() - t0)
                assert reply.body[0] == v
            return samples
    figure(lib, "aio-ping", asyncio.run(aio()))

    c = blocking.open_dbus_connection(bus=counter_addr)
    rule = MatchRule(type="signal", sender=DEST, interface=COUNTER, member="Changed", path=PATH)
    c.send_and_get_reply(new_method_call(
        DBusAddress("/org/freedesktop/DBus", "org.freedesktop.DBus", "org.freedesktop.DBus"),
        "AddMatch", "s", (rule.serialise(),)))
    counter = DBusAddress(PATH, DEST, COUNTER)
    with c.filter(rule, bufsize=10) as queue:
        def inc(i):
            c.send_and_get_reply(new_method_call(counter, "Increment", "x", (1,)))
            msg = c.recv_until_filtered(queue, timeout=5)
            assert msg.body[0] > 0
        figure(lib, "signal", timed(inc, 200))
    c.close()

    fd_conn = blocking.open_dbus_connection(bus=echo_addr, enable_fds=True)
    with tempfile.TemporaryFile() as f:
        reply = fd_conn.send_and_get_reply(new_method_call(echo, "Ping", "h", (f,)))
    ok = fd_conn.send_and_get_reply(new_method_call(echo, "Ping", "x", (7,))).body[0] == 7
    note(lib, "fd", negotiated=True, worker_answered=reply.header.fields.get(4, "reply"),
         still_connected=ok)
    fd_conn.close()
    conn.close()


# ---- dbus-next -------------------------------------------------------------------------------

def bench_dbus_next(echo_addr, counter_addr, count):
    import subprocess
    from dbus_next import Message, MessageType
    from dbus_next.aio import MessageBus as AioBus
    lib = "dbus-next"

    def msg(member, sig, body, iface=ECHO, **kw):
        return Message(destination=DEST, path=PATH, interface=iface, member=member,
                       signature=sig, body=body, **kw)

    # Its synchronous API is the GLib flavour (connect_sync, call_sync). On bookworm's Python
    # 3.11 it crashes in its first main-loop run (altdesktop/python-dbus-next#138): shown in a
    # child process, so this one goes on.
    child = subprocess.run(
        [sys.executable, "-c", "import sys; from dbus_next.glib import MessageBus; "
         "MessageBus(bus_address=sys.argv[1]).connect_sync().call_sync"
         "", echo_addr], capture_output=True)
    note(lib, "ping", available=child.returncode == 0,
         why=f"glib connect_sync exit status {child.returncode} (-11: SIGSEGV)")

    async def aio():
        async def connect(addr, **kw):
            return await AioBus(bus_address=addr, **kw).connect()
        samples = []
        for _ in range(50):
            t0 = clock()
            b = await connect(echo_addr)
            samples.append(clock() - t0)
            b.disconnect()
            await b.wait_for_disconnect()
        figure(lib, "connect", samples, api="asyncio")
        b = await connect(echo_addr)
        for v in range(100):
            await b.call(msg("Ping", "x", [v]))
        samples = []
        for v in range(count):
            t0 = clock()
            reply = await b.call(msg("Ping", "x", [v]))
            samples.append(clock() - t0)
            assert reply.body[0] == v
        figure(lib, "aio-ping", samples)

        got = asyncio.Queue()
        b2 = await connect(counter_addr)
        b2.add_message_handler(lambda m: got.put_nowait(m) if m.message_type == MessageType.SIGNAL
                               and m.member == "Changed" else None)
        await b2.call(Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                              interface="org.freedesktop.DBus", member="AddMatch", signature="s",
                              body=[f"type='signal',sender='{DEST}',member='Changed'"]))
        sig = []
        for _ in range(200):
            t0 = clock()
            await b2.call(msg("Increment", "x", [1], COUNTER))
            await asyncio.wait_for(got.get(), 5)
            sig.append(clock() - t0)
        figure(lib, "signal", sig, api="asyncio")
        b2.disconnect()

        fd_bus = await connect(echo_addr, negotiate_unix_fd=True)
        with tempfile.TemporaryFile() as f:
            reply = await fd_bus.call(msg("Ping", "h", [0], unix_fds=[f.fileno()]))
        ok = (await fd_bus.call(msg("Ping", "x", [7]))).body[0] == 7
        note(lib, "fd", negotiated=True, worker_answered=reply.error_name or "reply",
             still_connected=ok)
        fd_bus.disconnect()
        b.disconnect()
    asyncio.run(aio())


# ---- dbus-python (python3-dbus, libdbus) -----------------------------------------------------

def bench_dbus_python(echo_addr, counter_addr, count):
    import dbus
    from dbus.mainloop.glib import DBusGMainLoop
    from gi.repository import GLib
    lib = "dbus-python"
    # BusConnection sends Hello (a peer dbus.connection.Connection would not, and the worker
    # would take any call first as fine too; Hello is what lets it deliver signals).
    figure(lib, "connect", timed(lambda i: dbus.bus.BusConnection(echo_addr).close(), 50))
    conn = dbus.bus.BusConnection(echo_addr)

    def ping(v):
        assert conn.call_blocking(DEST, PATH, ECHO, "Ping", "x", (v,)) == v
    figure(lib, "ping", timed(ping, count, 100))
    note(lib, "aio-ping", available=False, why="no asyncio API (GLib main loop only)")

    loop = DBusGMainLoop()
    c = dbus.bus.BusConnection(counter_addr, mainloop=loop)
    got = []
    c.add_signal_receiver(lambda v: got.append(v), signal_name="Changed", dbus_interface=COUNTER,
                          bus_name=DEST, path=PATH)
    ctx = GLib.MainContext.default()

    def inc(i):
        n = len(got)
        c.call_blocking(DEST, PATH, COUNTER, "Increment", "x", (1,))
        iterate_until_signal(ctx, got, n)
    figure(lib, "signal", timed(inc, 200), api="GLib main loop")

    with tempfile.TemporaryFile() as f:
        try:
            conn.call_blocking(DEST, PATH, ECHO, "Ping", "h", (dbus.types.UnixFd(f),))
            answered = "reply"
        except dbus.DBusException as e:
            answered = e.get_dbus_name()
    ok = conn.call_blocking(DEST, PATH, ECHO, "Ping", "x", (7,)) == 7
    note(lib, "fd", negotiated=True, worker_answered=answered, still_connected=ok)
    c.close()
    conn.close()


# ---- GDBus (python3-gi) ----------------------------------------------------------------------

def bench_gio(echo_addr, counter_addr, count):
    import gi
    gi.require_version("Gio", "2.0")
    from gi.repository import Gio, GLib
    lib = "gio"
    flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
             | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)   # MESSAGE_BUS_CONNECTION: Hello

    def connect():
        return Gio.DBusConnection.new_for_address_sync(echo_addr, flags, None, None)
    figure(lib, "connect", timed(lambda i: connect().close_sync(None), 50))
    conn = connect()
    out = GLib.VariantType("(x)")

    def ping(v):
        r = conn.call_sync(DEST, PATH, ECHO, "Ping", GLib.Variant("(x)", (v,)), out,
                           Gio.DBusCallFlags.NONE, -1, None)
        assert r.unpack()[0] == v
    figure(lib, "ping", timed(ping, count, 100))
    note(lib, "aio-ping", available=False,
         why="no asyncio API in PyGObject 3.42 (callbacks on a GLib main loop)")

    c = Gio.DBusConnection.new_for_address_sync(counter_addr, flags, None, None)
    got = []
    c.signal_subscribe(DEST, COUNTER, "Changed", PATH, None, Gio.DBusSignalFlags.NONE,
                       lambda *a: got.append(a[5]))
    ctx = GLib.MainContext.default()

    def inc(i):
        n = len(got)
        c.call_sync(DEST, PATH, COUNTER, "Increment", GLib.Variant("(x)", (1,)), out,
                    Gio.DBusCallFlags.NONE, -1, None)
        iterate_until_signal(ctx, got, n)
    figure(lib, "signal", timed(inc, 200), api="GLib main loop")

    with tempfile.TemporaryFile() as f:
        fds = Gio.UnixFDList.new()
        fds.append(f.fileno())
        try:
            conn.call_with_unix_fd_list_sync(DEST, PATH, ECHO, "Ping", GLib.Variant("(h)", (0,)),
                                             None, Gio.DBusCallFlags.NONE, -1, fds, None)
            answered = "reply"
        except GLib.Error as e:
            answered = Gio.DBusError.get_remote_error(e)
    ok = conn.call_sync(DEST, PATH, ECHO, "Ping", GLib.Variant("(x)", (7,)), out,
                        Gio.DBusCallFlags.NONE, -1, None).unpack()[0] == 7
    note(lib, "fd", negotiated=conn.get_capabilities() & Gio.DBusCapabilityFlags.UNIX_FD_PASSING != 0,
         worker_answered=answered, still_connected=ok)
    c.close_sync(None)
    conn.close_sync(None)


LIBRARIES = {"jeepney": bench_jeepney, "dbus-next": bench_dbus_next,
             "dbus-python": bench_dbus_python, "gio": bench_gio}


def spawn(bus_address, cls):
    """Spawns with busctl, so no candidate library gets a head start (or the blame)."""
    import subprocess
    out = subprocess.run(
        ["busctl", f"--address={bus_address}", "--json=short", "call", "org.offshoot1",
         "/org/offshoot1", "org.offshoot1.Supervisor", "Spawn", "su", cls, "65534"],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)["data"][1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", help="where bin/offshootd is (default: $OFFSHOOT_PREFIX, PATH)")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--only", choices=sorted(LIBRARIES), action="append")
    args = parser.parse_args()
    print(json.dumps({"name": "placement", "cpus": sorted(os.sched_getaffinity(0))}), flush=True)
    with embedded.PrivateBus() as bus, embedded.Daemon(bus.address, prefix=args.prefix,
                                                       log_level="warning"):
        for name in args.only or LIBRARIES:
            # A fresh Echo and Counter per library: nobody inherits another's state.
            echo, counter = spawn(bus.address, "Echo"), spawn(bus.address, "Counter")
            try:
                LIBRARIES[name](echo, counter, args.count)
            except ImportError as e:
                note(name, "import", available=False, why=str(e))


if __name__ == "__main__":
    main()

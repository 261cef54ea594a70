#!/usr/bin/python3
"""bench_python.py — the Python client against Python's own cross-process baseline,
multiprocessing.managers (bench/peers/managers_peer.py), in the same run, Python on both sides:

  python/offshoot_spawn        Supervisor.spawn("Echo", uid=65534) + the first Ping (then released)
  python/managers_spawn        BaseManager().start() + the first call (then shutdown)
  python/offshoot_call         Echo.Ping through the handle (direct: the caller reads its reply)
  python/offshoot_call_routed  the same once a signal is subscribed (a reader thread routes)
  python/offshoot_aio_call     the same through offshoot.aio
  python/jeepney_call          jeepney's own blocking send_and_get_reply: the library's floor
  python/dbus_python_call      libdbus through python3-dbus, if installed: another library's
  python/managers_call         a managers proxy's call
  python/offshoot_call_profile where a call's time goes (cProfile, per call; the profiler's own
                               overhead inflates the total, the shares are what it is for)

Prints one JSON object per figure ({"name", "n", "p50_us", "p90_us"}, like managers_peer.py).
Starts its own dbus-daemon and offshootd (offshoot.embedded):

  /usr/bin/python3 bench/python/bench_python.py --prefix=/opt/offshoot-base
  taskset -c 0 /usr/bin/python3 bench/python/bench_python.py --prefix=...   # all on one core
"""

import argparse
import asyncio
import cProfile
import importlib.util
import json
import os
import pstats
import sys

from measure import clock, summary, timed  # beside this script

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
import offshoot  # noqa: E402  (the worktree's copy)
import offshoot.aio  # noqa: E402
from offshoot import embedded  # noqa: E402

NOBODY = 65534


def load_managers_peer():
    spec = importlib.util.spec_from_file_location(
        "managers_peer", os.path.join(HERE, "..", "peers", "managers_peer.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def emit(name, samples_ns, **extra):
    out = {"name": name, **summary(samples_ns), **extra}
    print(json.dumps(out), flush=True)
    return out


def timed_calls(fn, count, warmup=100):
    return timed(fn, count, warmup, echoes=True)


def offshoot_spawn(sup, count):
    samples = []
    for _ in range(count):
        t0 = clock()
        echo = sup.spawn("Echo", uid=NOBODY)
        if echo.Ping(1) != 1:
            raise SystemExit("Ping answered wrongly")
        samples.append(clock() - t0)
        echo.release()   # not timed, like managers' shutdown()
    return samples


def offshoot_calls(sup, count):
    with sup.spawn("Echo", uid=NOBODY) as echo:
        emit("python/offshoot_call", timed_calls(echo.Ping, count))
        echo.object.link.route()   # what subscribing to a signal does
        emit("python/offshoot_call_routed", timed_calls(echo.Ping, count))


def offshoot_aio_calls(address, count):
    async def run():
        async with offshoot.aio.Supervisor(address) as sup, \
                sup.spawn("Echo", uid=NOBODY) as echo:
            for v in range(100):
                await echo.Ping(v)
            samples = []
            for v in range(count):
                t0 = clock()
                if await echo.Ping(v) != v:
                    raise SystemExit("Ping answered wrongly")
                samples.append(clock() - t0)
            return samples
    emit("python/offshoot_aio_call", asyncio.run(run()))


def jeepney_calls(address, count):
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection
    target = DBusAddress("/org/offshoot1/object", "org.offshoot1.Object",
                         "org.offshoot1.example.Echo")
    with open_dbus_connection(bus=address) as conn:
        emit("python/jeepney_call", timed_calls(
            lambda v: conn.send_and_get_reply(new_method_call(target, "Ping", "x", (v,))).body[0],
            count))


def dbus_python_calls(address, count):
    try:
        import dbus
    except ImportError:
        print(json.dumps({"name": "python/dbus_python_call", "available": False}), flush=True)
        return
    conn = dbus.bus.BusConnection(address)
    emit("python/dbus_python_call", timed_calls(
        lambda v: conn.call_blocking("org.offshoot1.Object", "/org/offshoot1/object",
                                     "org.offshoot1.example.Echo", "Ping", "x", (v,)), count))
    conn.close()


# Where a call's time goes: cProfile's own time per function, by what the function is.
def _category(filename, function):
    if "offshoot" in filename and "jeepney" not in filename:
        return "offshoot"
    if "jeepney" in filename:
        return "jeepney (marshalling, parsing, auth-free I/O wrappers)"
    if filename == "~" and any(s in function for s in ("sendall", "recv", "send", "sendmsg",
                                                        "recvmsg", "poll", "select")):
        return "syscalls (socket send/recv, epoll wait: includes the worker's turn)"
    if "selectors" in filename or "threading" in filename or "queue" in filename:
        return "waiting machinery (selectors, locks, futures)"
    if "concurrent" in filename:
        return "waiting machinery (selectors, locks, futures)"
    return "other (builtins, struct, enum)"


def profile_calls(sup, count):
    with sup.spawn("Echo", uid=NOBODY) as echo:
        ping = echo.Ping
        for v in range(100):
            ping(v)
        profiler = cProfile.Profile()
        profiler.enable()
        for v in range(count):
            ping(v)
        profiler.disable()
    stats = pstats.Stats(profiler).stats
    shares, total = {}, 0.0
    top = []
    for (filename, _, function), (_, ncalls, tottime, _, _) in stats.items():
        cat = _category(filename, function)
        shares[cat] = shares.get(cat, 0.0) + tottime
        total += tottime
        top.append((tottime, f"{os.path.basename(filename)}:{function}", ncalls))
    top.sort(reverse=True)
    print(json.dumps({
        "name": "python/offshoot_call_profile", "n": count,
        "profiled_us_per_call": round(total / count * 1e6, 1),
        "share": {k: round(v / total, 3) for k, v in sorted(shares.items(), key=lambda kv: -kv[1])},
        "top": [{"function": f, "us_per_call": round(t / count * 1e6, 2), "calls_per_call":
                 round(n / count, 1)} for t, f, n in top[:8]],
    }), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", help="where bin/offshootd is (default: $OFFSHOOT_PREFIX, PATH)")
    parser.add_argument("--count", type=int, default=5000, help="calls per call figure")
    parser.add_argument("--spawns", type=int, default=100, help="spawns per spawn figure")
    args = parser.parse_args()
    if args.count <= 0 or args.spawns <= 0:
        parser.error("counts must be positive")
    print(json.dumps({"name": "placement", "cpus": sorted(os.sched_getaffinity(0)),
                      "load": os.getloadavg()}), flush=True)
    managers = load_managers_peer()
    with embedded.PrivateBus() as bus, embedded.Daemon(bus.address, prefix=args.prefix,
                                                       log_level="warning"):
        with offshoot.Supervisor(address=bus.address) as sup:
            offshoot_spawn(sup, 5)                       # warm-up: page cache, first exec
            emit("python/offshoot_spawn", offshoot_spawn(sup, args.spawns))
            print(json.dumps(managers.spawn(args.spawns)), flush=True)
            offshoot_calls(sup, args.count)
            offshoot_aio_calls(bus.address, args.count)
            with sup.spawn("Echo", uid=NOBODY) as echo:
                jeepney_calls(echo.address, args.count)
                dbus_python_calls(echo.address, args.count)
            print(json.dumps(managers.calls(args.count)), flush=True)
            profile_calls(sup, min(args.count, 5000))


if __name__ == "__main__":
    main()

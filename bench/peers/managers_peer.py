#!/usr/bin/python3
"""managers_peer.py — the Python baseline: multiprocessing.managers (stdlib only), the
mechanism the cross-process-bridge seed is built on.

  managers_peer.py calls  --count=N   proxy.ping(v) round trips on one manager proxy
  managers_peer.py spawn  --count=N   BaseManager().start() + first call, then shutdown()

Prints one JSON object: {"name": ..., "n": N, "p50_us": ..., "p90_us": ...}. The manager's
server process is forked from this one (Linux's default start method), so it inherits this
process's CPU affinity: run it under `taskset -c 0` for the one-core placement.
"""

import argparse
import json
import math
import sys
import time
from multiprocessing.managers import BaseManager


class Echo:
    def ping(self, v):
        return v


class EchoManager(BaseManager):
    pass


EchoManager.register("Echo", Echo)


def percentile(sorted_us, q):
    rank = max(1, math.ceil(q * len(sorted_us)))
    return sorted_us[rank - 1]


def summary(name, samples_ns):
    us = sorted(ns / 1000.0 for ns in samples_ns)
    return {"name": name, "n": len(us), "p50_us": percentile(us, 0.5), "p90_us": percentile(us, 0.9)}


def calls(count):
    with EchoManager() as manager:
        echo = manager.Echo()
        for v in range(100):  # warm-up, as the C++ benchmarks do
            echo.ping(v)
        samples = []
        clock = time.perf_counter_ns
        for v in range(count):
            t0 = clock()
            if echo.ping(v) != v:
                raise SystemExit("ping answered wrongly")
            samples.append(clock() - t0)
    return summary("python/managers_call", samples)


def spawn(count):
    samples = []
    clock = time.perf_counter_ns
    for _ in range(count):
        t0 = clock()
        manager = EchoManager()
        manager.start()
        if manager.Echo().ping(1) != 1:
            raise SystemExit("ping answered wrongly")
        samples.append(clock() - t0)
        manager.shutdown()  # not timed, like offshoot's Release
    return summary("python/managers_spawn", samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["calls", "spawn"])
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    if args.count <= 0:
        parser.error("--count must be positive")
    result = calls(args.count) if args.mode == "calls" else spawn(args.count)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

"""measure.py — what bench_python.py and compare_libraries.py share: timing operations and
turning the samples into the figures they print (n, p50_us, p90_us; nearest-rank percentiles,
as offshoot-bench and managers_peer.py report them).
"""

import math
import time

clock = time.perf_counter_ns


def percentile(sorted_us, q):
    return sorted_us[max(1, math.ceil(q * len(sorted_us))) - 1]


def summary(samples_ns):
    """{"n", "p50_us", "p90_us"} of samples in nanoseconds, rounded to 0.1 µs."""
    us = sorted(ns / 1000.0 for ns in samples_ns)
    return {"n": len(us), "p50_us": round(percentile(us, 0.5), 1),
            "p90_us": round(percentile(us, 0.9), 1)}


def timed(fn, n, warmup=0, *, echoes=False):
    """Calls fn(i) `warmup` times, then times fn(0) … fn(n - 1) one by one: the samples in
    nanoseconds. With `echoes`, fn is a Ping: it must answer i, else the run ends."""
    for i in range(warmup):
        fn(i)
    samples = []
    for i in range(n):
        t0 = clock()
        answer = fn(i)
        if echoes and answer != i:
            raise SystemExit("Ping answered wrongly")
        samples.append(clock() - t0)
    return samples

#!/usr/bin/python3
"""report.py — turns one bench run into bench/results/<stamp>.md and .json (stdlib only).

  report.py --out=PREFIX --command=CMD [--smoke] --placement=NAME:DIR [--placement=NAME:DIR ...]
  report.py --out=PREFIX --from-json=RESULT.json     re-renders an earlier result (ratios recomputed)

Each DIR holds what scripts/bench.sh collected for one placement:
  gbench.json        offshoot-bench's Google Benchmark JSON (figures in counters)
  python_calls.json  bench/peers/managers_peer.py calls
  python_spawn.json  bench/peers/managers_peer.py spawn
  meta.json          {"placement", "cpus", "load_before", "load_after", "started", "finished"}
Writes PREFIX.md and PREFIX.json. Every expected figure must be a finite positive number
(zero where zero is a valid count); otherwise report.py names what is missing and exits 1 —
the smoke test relies on that. Targets are goals: a missed target is reported, never an error.
"""

import argparse
import json
import math
import os
import re
import sys

SIZES = [64, 4096, 65536, 1048576, 16777216]
ELEMENTWISE_SIZES = [64, 4096, 65536, 1048576]  # one byte at a time: seconds per call past that
MEMFD_SIZES = [65536, 1048576, 16777216]
DEPTHS = [1, 16, 256]

# key → counters that must be present and positive
EXPECTED = {
    "baseline/raw_socketpair/8": ["p50_us", "p90_us"],
    "baseline/posix_spawn_true": ["p50_us", "p90_us"],
    "baseline/posix_spawn_sdbus_exit": ["p50_us", "p90_us"],
    "baseline/posix_spawn_worker_exit": ["p50_us", "p90_us"],
    "baseline/dbus_daemon_sdbus": ["p50_us", "p90_us"],
    "call/offshoot_proxy": ["p50_us", "p90_us"],
    "call/offshoot_proxy_calls_only": ["p50_us", "p90_us"],
    "call/offshoot_proxy_with_callbacks": ["p50_us", "p90_us"],
    "call/offshoot_sdbus": ["p50_us", "p90_us"],
    "spawn/offshoot_sdbus": ["p50_us", "p90_us"],
    "spawn/offshoot_client": ["p50_us", "p90_us"],
    "spawn/contained/none": ["p50_us", "p90_us"],
    "spawn/contained/private-tmp": ["p50_us", "p90_us"],
    "spawn/contained/private-network": ["p50_us", "p90_us"],
    "spawn/contained/protect-system": ["p50_us", "p90_us"],
    "spawn/contained/memory-max": ["p50_us", "p90_us"],
    "spawn/restart": ["p50_us", "p90_us"],
    "python/managers_call": ["p50_us", "p90_us"],
    "python/managers_spawn": ["p50_us", "p90_us"],
    "callback/walk_empty": ["p50_us", "p90_us"],
    "callback/walk_one": ["p50_us", "p90_us"],
    "scale": ["block0_ms", "last_over_first", "supervisor_rss_MiB", "pss_per_instance_MiB",
              "stop_all_s", "supervisor_cpu_us_per_spawn", "callable", "supervisor_fds"],
}
for _s in SIZES:
    for _k in ("baseline/raw_socketpair_copy", "echo/offshoot_proxy", "echo/offshoot_sdbus"):
        EXPECTED[f"{_k}/{_s}"] = ["p50_us", "p90_us", "MBps"]
for _s in ELEMENTWISE_SIZES:
    EXPECTED[f"echo/offshoot_proxy_elementwise/{_s}"] = ["p50_us", "p90_us", "MBps"]
for _s in MEMFD_SIZES:
    EXPECTED[f"echo_memfd/offshoot_proxy/{_s}"] = ["p50_us", "p90_us", "MBps"]
    EXPECTED[f"echo_shared/offshoot_proxy/{_s}"] = ["p50_us", "p90_us", "MBps"]
for _n in DEPTHS:
    for _k in ("async/offshoot_sdbus", "async/offshoot_proxy"):
        EXPECTED[f"{_k}/{_n}"] = ["calls_per_s"]


def normalize(name):
    return re.sub(r"/(iterations:\d+|real_time|manual_time|min_time:[\d.]+)", "", name)


def load_placement(directory):
    """All measurements of one placement: key → dict of numbers."""
    out = {}
    with open(os.path.join(directory, "gbench.json")) as f:
        gb = json.load(f)
    for b in gb.get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        key = normalize(b["name"])
        if key.startswith("scale/"):
            key = "scale"
        skip = {"name", "run_name", "run_type", "family_index", "per_family_instance_index",
                "repetitions", "repetition_index", "threads", "time_unit", "aggregate_name"}
        out[key] = {k: v for k, v in b.items() if k not in skip and isinstance(v, (int, float))}
        out[key]["time_unit"] = b.get("time_unit")
        if b.get("label"):
            out[key]["label"] = b["label"]
    for peer in ("python_calls.json", "python_spawn.json"):
        path = os.path.join(directory, peer)
        if os.path.exists(path):
            with open(path) as f:
                p = json.load(f)
            out[p["name"]] = {k: v for k, v in p.items() if k != "name"}
    with open(os.path.join(directory, "meta.json")) as f:
        meta = json.load(f)
    return out, meta, gb.get("context", {})


def number(x):
    return isinstance(x, (int, float)) and math.isfinite(x)


def missing_figures(measurements):
    missing = []
    for key, counters in EXPECTED.items():
        m = measurements.get(key)
        if m is None:
            missing.append(key)
            continue
        for c in counters:
            ok = number(m.get(c)) and (m.get(c) > 0 or (c == "stop_all_s" and m.get(c) >= 0))
            if not ok:
                missing.append(f"{key}:{c}")
    return missing


def get(m, key, counter):
    v = m.get(key, {}).get(counter)
    return v if number(v) else None


def ratio(a, b):
    return a / b if a is not None and b else None


def sync_rate(m, key):
    """Calls per second of a synchronous call benchmark (iterations / total real time)."""
    t = get(m, key, "real_time")
    unit = m.get(key, {}).get("time_unit")
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}.get(unit)
    return 1.0 / (t * scale) if t and scale else None


def compute_ratios(name, m):
    """[(id, description, value, op, target, applies)] for one placement."""
    one_core = name == "core0"
    rows = []

    def add(rid, text, value, op=None, target=None, applies=True):
        rows.append({"id": rid, "placement": name, "what": text, "value": value, "op": op,
                     "target": target, "target_applies": applies and op is not None})

    raw = get(m, "baseline/raw_socketpair/8", "p50_us")
    proxy = get(m, "call/offshoot_proxy", "p50_us")
    calls_only = get(m, "call/offshoot_proxy_calls_only", "p50_us")
    sdb = get(m, "call/offshoot_sdbus", "p50_us")
    routed = get(m, "baseline/dbus_daemon_sdbus", "p50_us")
    py = get(m, "python/managers_call", "p50_us")
    # Targets are issue 17's (the README's Performance section quotes them).
    add("proxy_over_raw", "proxy call ÷ raw socketpair round trip (p50)", ratio(proxy, raw), "<=", 1.5, one_core)
    add("proxy_calls_only_over_raw", "proxy made with calls_only (no loop thread) ÷ raw (p50)",
        ratio(calls_only, raw))
    with_callbacks = get(m, "call/offshoot_proxy_with_callbacks", "p50_us")
    add("proxy_with_callbacks_over_raw", "proxy made with with_callbacks (classic loop thread) ÷ raw (p50)",
        ratio(with_callbacks, raw))
    add("proxy_with_callbacks_over_proxy", "with_callbacks proxy ÷ default proxy (p50; the old default ÷ the new)",
        ratio(with_callbacks, proxy))
    add("sdbus_over_raw", "plain sd-bus on the instance ÷ raw (p50)", ratio(sdb, raw))
    add("python_over_proxy", "Python managers ÷ offshoot proxy (p50)", ratio(py, proxy), ">=", 1.2)
    add("python_over_proxy_calls_only", "Python managers ÷ offshoot proxy made with calls_only (p50)",
        ratio(py, calls_only))
    add("routed_over_proxy", "dbus-daemon-routed sd-bus ÷ offshoot proxy (p50)", ratio(routed, proxy), ">=", 2.5,
        one_core)
    add("routed_over_sdbus", "dbus-daemon-routed sd-bus ÷ direct sd-bus on the instance (p50)", ratio(routed, sdb))
    for size in SIZES:
        raw_copy = get(m, f"baseline/raw_socketpair_copy/{size}", "MBps")
        add(f"echo_proxy_over_raw_{size}", f"Echo {size} B: proxy MB/s ÷ raw copy MB/s",
            ratio(get(m, f"echo/offshoot_proxy/{size}", "MBps"), raw_copy))
        add(f"echo_proxy_elementwise_over_raw_{size}",
            f"Echo {size} B: proxy with sdbus-c++'s element-wise ay ÷ raw copy MB/s",
            ratio(get(m, f"echo/offshoot_proxy_elementwise/{size}", "MBps"), raw_copy))
        add(f"echo_sdbus_over_raw_{size}", f"Echo {size} B: plain sd-bus ÷ raw copy MB/s",
            ratio(get(m, f"echo/offshoot_sdbus/{size}", "MBps"), raw_copy))
        if size in MEMFD_SIZES:
            add(f"echo_memfd_over_raw_{size}", f"EchoMemfd {size} B: sealed memfd MB/s ÷ raw copy MB/s",
                ratio(get(m, f"echo_memfd/offshoot_proxy/{size}", "MBps"), raw_copy))
            # The best documented path for big payloads (docs/payloads.md): reused buffers.
            add(f"echo_shared_over_raw_{size}", f"EchoShared {size} B: reused shared buffers MB/s ÷ raw copy MB/s",
                ratio(get(m, f"echo_shared/offshoot_proxy/{size}", "MBps"), raw_copy),
                ">=" if size == 1048576 else None, 0.5 if size == 1048576 else None)
    # Pipelining target: issue 17's 3× the synchronous rate at N=256 (the README's figure).
    for api, sync_key in (("sdbus", "call/offshoot_sdbus"), ("proxy", "call/offshoot_proxy")):
        sync = sync_rate(m, sync_key)
        for n in DEPTHS:
            rate = get(m, f"async/offshoot_{api}/{n}", "calls_per_s")
            add(f"async_{api}_{n}_over_sync", f"{api}: async N={n} ÷ sync (calls/s)", ratio(rate, sync),
                ">=" if n == 256 else None, 3.0 if n == 256 else None)
    ps = get(m, "baseline/posix_spawn_true", "p50_us")
    add("spawn_over_posix_spawn", "Spawn → first call (sd-bus) ÷ posix_spawn+waitpid /bin/true (p50)",
        ratio(get(m, "spawn/offshoot_sdbus", "p50_us"), ps), "<=", 4.0)
    # The floor under the spawn: what exec and dynamic linking cost before any code of ours runs.
    add("sdbus_exit_over_posix_spawn", "posix_spawn of a C++ program linked with libsystemd that exits at once "
        "÷ posix_spawn /bin/true (p50)", ratio(get(m, "baseline/posix_spawn_sdbus_exit", "p50_us"), ps))
    add("worker_exit_over_posix_spawn", "posix_spawn of offshoot-worker, exiting in main() ÷ posix_spawn "
        "/bin/true (p50)", ratio(get(m, "baseline/posix_spawn_worker_exit", "p50_us"), ps))
    add("spawn_client_over_posix_spawn", "Spawn → first call (liboffshoot-client) ÷ posix_spawn (p50)",
        ratio(get(m, "spawn/offshoot_client", "p50_us"), ps))
    add("python_spawn_over_spawn", "Python BaseManager().start() + call ÷ offshoot Spawn → call (p50)",
        ratio(get(m, "python/managers_spawn", "p50_us"), get(m, "spawn/offshoot_sdbus", "p50_us")))
    add("scale_last_over_first", "scale: last tenth ÷ first tenth of the spawns",
        get(m, "scale", "last_over_first"), "<=", 1.5)
    add("scale_supervisor_rss", "scale: supervisor RSS with all instances live (MiB)",
        get(m, "scale", "supervisor_rss_MiB"), "<=", 32.0)
    add("scale_pss_per_instance", "scale: PSS per instance (MiB)", get(m, "scale", "pss_per_instance_MiB"), "<=", 1.5)
    add("scale_stop_all", "scale: stop all (s)", get(m, "scale", "stop_all_s"), "<=", 5.0)
    empty, one = get(m, "callback/walk_empty", "p50_us"), get(m, "callback/walk_one", "p50_us")
    callback = one - empty if one is not None and empty is not None else None
    add("callback_over_call", "one callback into the caller (Walk of 1 entry − Walk of none) ÷ plain call (p50)",
        ratio(callback, sdb))
    for r in rows:
        v, op, t = r["value"], r["op"], r["target"]
        r["met"] = None if v is None or op is None else (v <= t if op == "<=" else v >= t)
    return rows


def fmt(v, digits=1):
    if v is None:
        return "—"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def markdown(result):
    P = result["placements"]
    names = list(P.keys())
    label = {"core0": "one core (taskset -c 0)", "free": "free (2 cores)"}
    L = []
    L.append(f"# offshoot benchmark — {result['date']}")
    L.append("")
    L.append(f"Command: `{result['command']}`  ")
    L.append(f"Machine: {result['machine']}  ")
    for n in names:
        meta = P[n]["meta"]
        wl = P[n]["measurements"].get("scale", {}).get("label", "")
        L.append(f"Placement {label.get(n, n)}: cpus {meta.get('cpus')} ({wl or 'worker cpus ?'}), load average before "
                 f"{meta.get('load_before')}, after {meta.get('load_after')}  ")
    L.append("")
    L.append("Latencies are per operation, median (p50) and 90th percentile (p90), measured in the same run as "
             "their baselines. MB/s = payload bytes (10^6) per second at the median round trip.")
    L.append("")

    def m(n):
        return P[n]["measurements"]

    def head(cols):
        L.append("| " + " | ".join(cols) + " |")
        L.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(cols))) + "|")

    L.append("## 1. Call round trip (Echo.Ping), µs")
    L.append("")
    cols = ["what"]
    for n in names:
        cols += [f"{n} p50", f"{n} p90", f"{n} ÷ raw"]
    head(cols)
    rows = [("raw socketpair ping-pong (8 B, two processes)", "baseline/raw_socketpair/8"),
            ("offshoot: generated sdbus-c++ proxy as liboffshoot-client hands it out (default)", "call/offshoot_proxy"),
            ("offshoot: same proxy made with offshoot::calls_only (no thread)", "call/offshoot_proxy_calls_only"),
            ("offshoot: same proxy made with offshoot::with_callbacks (classic loop thread: the old default)",
             "call/offshoot_proxy_with_callbacks"),
            ("offshoot: plain sd-bus client on the instance's address", "call/offshoot_sdbus"),
            ("plain sd-bus service routed through dbus-daemon", "baseline/dbus_daemon_sdbus"),
            ("Python multiprocessing.managers proxy", "python/managers_call")]
    for text, key in rows:
        cells = [text]
        for n in names:
            raw = get(m(n), "baseline/raw_socketpair/8", "p50_us")
            p50 = get(m(n), key, "p50_us")
            cells += [fmt(p50), fmt(get(m(n), key, "p90_us")), fmt(ratio(p50, raw), 2)]
        L.append("| " + " | ".join(cells) + " |")
    L.append("")

    L.append("## 2. Payload throughput (Echo.Echo, there and back), MB/s at p50")
    L.append("")
    L.append("proxy: the generated sdbus-c++ proxy, its `ay` handed to sd-bus in one piece by "
             "offshoot/client/arrays.hpp; element-wise: the same call through sdbus-c++ 1.2's own "
             "templates, one byte at a time (bench/src/elementwise_bytes.cpp: what any sdbus-c++ proxy "
             "does without offshoot's header); sd-bus: plain sd-bus client; memfd: Echo.EchoMemfd, the bytes "
             "in a sealed memfd passed as `h` (offshoot/sealed_memfd.hpp, docs/payloads.md), copied once "
             "on each side; shared: Echo.EchoShared, the bytes in two buffers the caller made once and "
             "passes as `h` on every call (offshoot/shared_buffer.hpp), copied in and out on each side.")
    L.append("")
    cols = ["size"]
    for n in names:
        cols += [f"{n} raw copy", f"{n} proxy", f"{n} proxy ÷ raw", f"{n} proxy, element-wise",
                 f"{n} sd-bus", f"{n} memfd", f"{n} memfd ÷ raw", f"{n} shared", f"{n} shared ÷ raw"]
    head(cols)
    for size in SIZES:
        cells = [f"{size:,} B"]
        for n in names:
            raw = get(m(n), f"baseline/raw_socketpair_copy/{size}", "MBps")
            px = get(m(n), f"echo/offshoot_proxy/{size}", "MBps")
            cells += [fmt(raw), fmt(px, 2), fmt(ratio(px, raw), 3),
                      fmt(get(m(n), f"echo/offshoot_proxy_elementwise/{size}", "MBps")),
                      fmt(get(m(n), f"echo/offshoot_sdbus/{size}", "MBps"))]
            mf = get(m(n), f"echo_memfd/offshoot_proxy/{size}", "MBps")
            sh = get(m(n), f"echo_shared/offshoot_proxy/{size}", "MBps")
            cells += [fmt(mf), fmt(ratio(mf, raw), 3), fmt(sh), fmt(ratio(sh, raw), 3)]
        L.append("| " + " | ".join(cells) + " |")
    L.append("")

    L.append("## 3. Async pipelining (Echo.Ping, N in flight on one connection), calls/s")
    L.append("")
    cols = ["N"]
    for n in names:
        cols += [f"{n} sd-bus", f"{n} ÷ sync", f"{n} proxy", f"{n} ÷ sync"]
    head(cols)
    syncs = {n: (sync_rate(m(n), "call/offshoot_sdbus"), sync_rate(m(n), "call/offshoot_proxy")) for n in names}
    cells = ["sync"]
    for n in names:
        cells += [fmt(syncs[n][0]), "1.00", fmt(syncs[n][1]), "1.00"]
    L.append("| " + " | ".join(cells) + " |")
    for depth in DEPTHS:
        cells = [str(depth)]
        for n in names:
            a = get(m(n), f"async/offshoot_sdbus/{depth}", "calls_per_s")
            b = get(m(n), f"async/offshoot_proxy/{depth}", "calls_per_s")
            cells += [fmt(a), fmt(ratio(a, syncs[n][0]), 2), fmt(b), fmt(ratio(b, syncs[n][1]), 2)]
        L.append("| " + " | ".join(cells) + " |")
    L.append("")

    L.append("## 4. Spawn latency, ms")
    L.append("")
    cols = ["what"]
    for n in names:
        cols += [f"{n} p50", f"{n} p90", f"{n} ÷ posix_spawn"]
    head(cols)
    rows = [("posix_spawn + waitpid of /bin/true", "baseline/posix_spawn_true"),
            ("… of a C++ program linked with libsystemd, exiting at once", "baseline/posix_spawn_sdbus_exit"),
            ("… of offshoot-worker, exiting in main() (the floor of an exec'd worker)",
             "baseline/posix_spawn_worker_exit"),
            ("offshoot Spawn → first Echo.Ping (sd-bus)", "spawn/offshoot_sdbus"),
            ("offshoot via liboffshoot-client: spawn + proxy + Ping", "spawn/offshoot_client"),
            ("SpawnWithOptions, no containment key (next four's baseline)", "spawn/contained/none"),
            ("… private-tmp (mount namespace, tmpfs /tmp and /var/tmp)", "spawn/contained/private-tmp"),
            ("… private-network (network namespace, lo up)", "spawn/contained/private-network"),
            ("… protect-system=strict (mount namespace, / read-only)", "spawn/contained/protect-system"),
            ("… memory-max=256M (a cgroup of its own, embedded engine)", "spawn/contained/memory-max"),
            ("restart: crash → a call answered by the restarted worker (RestartSec=100ms included)",
             "spawn/restart"),
            ("Python BaseManager().start() + first call", "python/managers_spawn")]
    for text, key in rows:
        cells = [text]
        for n in names:
            ps = get(m(n), "baseline/posix_spawn_true", "p50_us")
            p50 = get(m(n), key, "p50_us")
            p90 = get(m(n), key, "p90_us")
            cells += [fmt(p50 / 1000 if p50 else None, 2), fmt(p90 / 1000 if p90 else None, 2),
                      fmt(ratio(p50, ps), 1)]
        L.append("| " + " | ".join(cells) + " |")
    L.append("")

    L.append("## 5. Scale")
    L.append("")
    head(["figure"] + names)
    scale_rows = [
        ("live instances (all answered Echo.Ping)", "callable", 0),
        ("spawn time of each tenth, ms", None, 0),
        ("mean Spawn, ms", "spawn_ms_mean", 2),
        ("last tenth ÷ first tenth", "last_over_first", 2),
        ("offshootd CPU per spawn in each tenth, µs", None, 0),
        ("offshootd CPU per spawn, last tenth ÷ first", "supervisor_cpu_last_over_first", 2),
        ("supervisor RSS before → with all live → after, MiB", None, 1),
        ("supervisor open fds with all live (limit)", None, 0),
        ("supervisor CPU per spawn, µs", "supervisor_cpu_us_per_spawn", 0),
        ("PSS per instance, MiB", "pss_per_instance_MiB", 2),
        ("RSS per instance, MiB", "rss_per_instance_MiB", 2),
        ("stop all (Stop calls all in flight), s", "stop_all_s", 2),
    ]
    for text, counter, digits in scale_rows:
        cells = [text]
        for n in names:
            s = m(n).get("scale", {})
            if counter:
                cells.append(fmt(get(m(n), "scale", counter), digits))
            elif text.startswith("spawn time"):
                blocks = [s.get(f"block{k}_ms") for k in range(10) if number(s.get(f"block{k}_ms"))]
                cells.append(" ".join(f"{b:.0f}" for b in blocks) + f" (per {s.get('block_size', 0):.0f})")
            elif text.startswith("offshootd CPU per spawn in each"):
                cpus = [s.get(f"block{k}_supervisor_cpu_us") for k in range(10)
                        if number(s.get(f"block{k}_supervisor_cpu_us"))]
                cells.append(" ".join(f"{c:.0f}" for c in cpus) or "—")
            elif text.startswith("supervisor RSS"):
                cells.append(" → ".join(fmt(s.get(k), 1) for k in
                                        ("supervisor_rss_before_MiB", "supervisor_rss_MiB", "supervisor_rss_after_MiB")))
            else:
                cells.append(f"{fmt(s.get('supervisor_fds'), 0)} → {fmt(s.get('supervisor_fds_after'), 0)} after"
                             f" ({fmt(s.get('supervisor_fd_limit'), 0)})")
        L.append("| " + " | ".join(cells) + " |")
    L.append("")

    L.append("## 6. A call that calls back into its caller (Walker.Walk, plain sd-bus), µs")
    L.append("")
    L.append("The caller exports org.offshoot1.example.Sink on its connection to the instance; Walk "
             "answers from a thread of its own and calls Sink.Entry once per entry, from that thread "
             "through the worker's loop (bench/src/callbacks.cpp). The callback's round trip is the "
             "difference of the two walks.")
    L.append("")
    cols = ["what"]
    for n in names:
        cols += [f"{n} p50", f"{n} p90", f"{n} ÷ plain call"]
    head(cols)
    for text, key in (("plain call: Echo.Ping (sd-bus)", "call/offshoot_sdbus"),
                      ("Walk of an empty directory (no callback)", "callback/walk_empty"),
                      ("Walk of one entry (one Sink.Entry callback)", "callback/walk_one")):
        cells = [text]
        for n in names:
            p50 = get(m(n), key, "p50_us")
            cells += [fmt(p50), fmt(get(m(n), key, "p90_us")), fmt(ratio(p50, get(m(n), "call/offshoot_sdbus", "p50_us")), 2)]
        L.append("| " + " | ".join(cells) + " |")
    cells = ["one callback round trip (difference of the medians)"]
    for n in names:
        e, o = get(m(n), "callback/walk_empty", "p50_us"), get(m(n), "callback/walk_one", "p50_us")
        d = o - e if o is not None and e is not None else None
        cells += [fmt(d), "—", fmt(ratio(d, get(m(n), "call/offshoot_sdbus", "p50_us")), 2)]
    L.append("| " + " | ".join(cells) + " |")
    L.append("")

    L.append("## Targets (goals, not assertions)")
    L.append("")
    head(["ratio", "placement", "measured", "target", "met"])
    for r in result["ratios"]:
        if r["op"] is None:
            continue
        met = "—" if r["met"] is None else ("yes" if r["met"] else "**no**")
        if not r["target_applies"]:
            met += " (target is for one core)"
        L.append(f"| {r['what']} | {r['placement']} | {fmt(r['value'], 2)} | {r['op']} {r['target']} | {met} |")
    L.append("")
    L.append("## Other ratios")
    L.append("")
    head(["ratio", "placement", "measured"])
    for r in result["ratios"]:
        if r["op"] is None:
            L.append(f"| {r['what']} | {r['placement']} | {fmt(r['value'], 2)} |")
    L.append("")
    if result.get("missing"):
        L.append("## Missing figures")
        L.append("")
        for n, miss in result["missing"].items():
            L.append(f"- {n}: {', '.join(miss)}")
        L.append("")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--from-json")
    ap.add_argument("--command", default="")
    ap.add_argument("--date", default="")
    ap.add_argument("--machine", default="")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--placement", action="append", default=[])
    args = ap.parse_args()

    if args.from_json:
        with open(args.from_json) as f:
            result = json.load(f)
        result["ratios"], result["missing"] = [], {}
    else:
        if not args.placement or not args.command:
            ap.error("--command and at least one --placement are required")
        result = {"date": args.date, "command": args.command, "machine": args.machine, "smoke": args.smoke,
                  "placements": {}, "ratios": [], "missing": {}}
        for spec in args.placement:
            name, directory = spec.split(":", 1)
            measurements, meta, context = load_placement(directory)
            result["placements"][name] = {"meta": meta, "context": context, "measurements": measurements}
    for name, placement in result["placements"].items():
        measurements = placement["measurements"]
        result["ratios"] += compute_ratios(name, measurements)
        miss = missing_figures(measurements)
        if miss:
            result["missing"][name] = miss
    with open(args.out + ".json", "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    with open(args.out + ".md", "w") as f:
        f.write(markdown(result))
    if result["missing"]:
        for n, miss in result["missing"].items():
            print(f"report.py: placement {n}: no number for {', '.join(miss)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""check-journal.py — checks offshootd's journal entries from one run of service-test.sh.

    check-journal.py DAEMON_JSON WORKERS_JSON INSTANCE1 INSTANCE2 PID1 PID2

DAEMON_JSON: `journalctl -o json _SYSTEMD_INVOCATION_ID=<offshootd's>`; WORKERS_JSON: the
entries of the workers' own output streams. Instance 1 is a Counter, instance 2 an Identity
started with OFFSHOOT_LOG_LEVEL=debug (so its worker writes a line). Both as uid 65534, by
root, then stopped by `systemctl stop offshootd`; in between, uid 65534 was refused a Spawn. Prints each failed expectation; exit 1 if any.
"""
import json
import sys

# The MESSAGE_IDs of common/include/offshoot/common/log.hpp.
SPAWN = "dfac995c18f04e429c101e6c9517d180"
EXIT = "2933407afb0f4669976441ba101cb335"
STOP = "6129d2aac97648fa937ed642dfda2734"
DENY = "ab5457fd91554362ba27187ab7b29e96"

daemon_json, workers_json, inst1, inst2, pid1, pid2 = sys.argv[1:7]
id1, id2 = inst1.rsplit("/", 1)[1], inst2.rsplit("/", 1)[1]


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


entries = load(daemon_json)
workers = load(workers_json)
problems = []


def expect(cond, what):
    if not cond:
        problems.append(what)


def find(message_id, instance):
    """Index and entry of the first event with this MESSAGE_ID for this instance."""
    for n, e in enumerate(entries):
        if e.get("MESSAGE_ID") == message_id and e.get("OFFSHOOT_INSTANCE") == instance:
            return n, e
    problems.append(f"no event MESSAGE_ID={message_id} for OFFSHOOT_INSTANCE={instance}")
    return None, None


def fields(e, **want):
    for k, v in want.items():
        expect(e.get(k) == v, f"{e.get('MESSAGE')!r}: {k}={e.get(k)!r}, expected {v!r}")


expect(entries, "no journal entries from offshootd's invocation at all")
for e in entries:
    if "MESSAGE_ID" in e:
        fields(e, SYSLOG_IDENTIFIER="offshootd", _SYSTEMD_UNIT="offshootd.service")

positions = {}
for inst, cls, pid in ((id1, "Counter", pid1), (id2, "Identity", pid2)):
    common = dict(OFFSHOOT_CLASS=cls, OFFSHOOT_UID="65534", OFFSHOOT_OWNER_UID="0", OFFSHOOT_PID=pid)
    n_spawn, spawn = find(SPAWN, inst)
    if spawn:
        fields(spawn, PRIORITY="6", **common)
        expect(spawn.get("OFFSHOOT_ADDRESS", "").startswith("unix:path=/run/offshoot/instances/"),
               f"spawn event of {inst}: OFFSHOOT_ADDRESS={spawn.get('OFFSHOOT_ADDRESS')!r}")
    n_stop, stop = find(STOP, inst)
    if stop:
        fields(stop, **common)
    n_exit, exit_ = find(EXIT, inst)
    if exit_:
        fields(exit_, OFFSHOOT_RESULT="success", **common)
    if None not in (n_spawn, n_stop, n_exit):
        expect(n_spawn < n_stop < n_exit, f"instance {inst}: spawn, stop, exit not in that order")
    positions[inst] = n_stop

if None not in positions.values():
    expect(positions[id1] < positions[id2], "the instances were not stopped in id order")
expect(any(e.get("MESSAGE") == "exiting" for e in entries), "no 'exiting' entry from offshootd")

# uid 65534's Spawn of a Counter as root was refused.
denials = [e for e in entries if e.get("MESSAGE_ID") == DENY]
expect(len(denials) == 1, f"{len(denials)} deny events, expected 1")
for e in denials:
    fields(e, OFFSHOOT_CALLER_UID="65534", OFFSHOOT_METHOD="Spawn", OFFSHOOT_OBJECT="/org/offshoot1", PRIORITY="5")

# The workers' stdout/stderr: a journal stream per worker, named after its class, which the
# journal files under the instance's own scope (the worker's cgroup when it wrote).
lines = [w for w in workers if w.get("SYSLOG_IDENTIFIER") == "offshoot-Identity"]
expect(any("serving" in str(w.get("MESSAGE", "")) for w in lines),
       "no line of the Identity worker's own output under SYSLOG_IDENTIFIER=offshoot-Identity")
for w in lines:
    fields(w, _SYSTEMD_UNIT=f"offshoot-Identity-{id2}.scope", _TRANSPORT="stdout")

for p in problems:
    print("check-journal:", p, file=sys.stderr)
if problems:
    print(f"check-journal: {len(entries)} daemon entries, {len(workers)} worker entries", file=sys.stderr)
sys.exit(1 if problems else 0)

#!/usr/bin/env bash
# load-trace.sh — where does a slow ListInstances answer spend its time? Runs the load test
# (tests/reliability/load_test.cpp) under the kernel's own tracer (tracefs; no perf, nothing
# lost: the ring buffer is sized for the run and the script checks that nothing was dropped),
# then prints, for the slowest ListInstances round trips, how the three processes on its path —
# the prober (the test's own, in a session of its own; the test prints its pid), the bus daemon
# and offshootd — spent that interval: running, runnable but waiting for a CPU, or asleep.
#
#   scripts/load-trace.sh [--clients=N] [--calls=N] [--samples=K] [--build-dir=DIR]
#                         [--bus-nice=N] [--keep=FILE]
#
# --bus-nice runs the private dbus-daemon at that nice value (offshootd already runs at -10);
# --keep saves the raw trace. Needs root and tracefs (/sys/kernel/tracing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build" clients=50 calls=1000 samples=3 bus_nice="" keep=""
for arg; do
  case "$arg" in
    --clients=*) clients="${arg#*=}" ;;
    --calls=*) calls="${arg#*=}" ;;
    --samples=*) samples="${arg#*=}" ;;
    --build-dir=*) build="${arg#*=}" ;;
    --bus-nice=*) bus_nice="${arg#*=}" ;;
    --keep=*) keep="${arg#*=}" ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "load-trace.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done
((EUID == 0)) || { echo "load-trace.sh: run as root (tracefs)" >&2; exit 1; }
T=/sys/kernel/tracing
[[ -d $T/events ]] || T=/sys/kernel/debug/tracing
[[ -d $T/events ]] || { echo "load-trace.sh: no tracefs at /sys/kernel/tracing" >&2; exit 1; }
tests="$build/bin/offshoot-reliability-tests"
[[ -x $tests ]] || { echo "load-trace.sh: $tests not built" >&2; exit 1; }

work="$(mktemp -d /tmp/offshoot-load-trace.XXXXXX)"
events=(sched/sched_switch sched/sched_wakeup
        syscalls/sys_enter_sendmsg syscalls/sys_exit_sendmsg
        syscalls/sys_enter_recvmsg syscalls/sys_exit_recvmsg)
reset_tracing() {
  echo 0 >"$T/tracing_on"
  for e in "${events[@]}"; do
    echo 0 >"$T/events/$e/enable"
    echo 0 >"$T/events/$e/filter"
  done
}
cleanup() { reset_tracing 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Only the three kinds of process on the path (the clients share the test's name): the filters
# run in the kernel, so the workers' traffic costs nothing.
comms='comm == "dbus-daemon" || comm == "offshootd" || comm == "offshoot-reliab"'
reset_tracing
echo >"$T/trace"
echo 65536 >"$T/buffer_size_kb"
for e in "${events[@]}"; do
  case "$e" in
    sched/sched_switch) echo "${comms//comm/prev_comm} || ${comms//comm/next_comm}" >"$T/events/$e/filter" ;;
    *) echo "$comms" >"$T/events/$e/filter" ;;
  esac
  echo 1 >"$T/events/$e/enable"
done

path="$PATH"
if [[ -n "$bus_nice" ]]; then
  mkdir -p "$work/bin"
  printf '#!/bin/sh\nexec nice -n %s %s "$@"\n' "$bus_nice" "$(command -v dbus-daemon)" >"$work/bin/dbus-daemon"
  chmod +x "$work/bin/dbus-daemon"
  path="$work/bin:$PATH"
fi

echo 1 >"$T/tracing_on"
PATH="$path" OFFSHOOT_LOAD_CLIENTS="$clients" OFFSHOOT_LOAD_CALLS="$calls" \
  "$tests" --gtest_filter='ManyConcurrentClients.*' >"$work/test.out" 2>&1 &
test_pid=$!
wait "$test_pid" || { cat "$work/test.out"; echo "load-trace.sh: the load test failed" >&2; exit 1; }
echo 0 >"$T/tracing_on"
cat "$T/trace" >"$work/trace.txt"
[[ -n "$keep" ]] && cp "$work/trace.txt" "$keep"
grep -E '\[  FIGURE  \]|\[  SLOWEST \]' "$work/test.out" | sed 's/^\[[^]]*\] //'

prober="$(sed -n 's/^\[  PROBER  \] pid \([0-9]*\)$/\1/p' "$work/test.out")"
[[ -n $prober ]] || { echo "load-trace.sh: the load test did not say which process probes" >&2; exit 1; }
python3 - "$work/trace.txt" "$prober" "$samples" <<'PY'
import re, sys
path, prober, samples = sys.argv[1], sys.argv[2], int(sys.argv[3])
head = open(path).read(4096)
m = re.search(r'entries-in-buffer/entries-written: (\d+)/(\d+)', head)
if m and m.group(1) != m.group(2):
    sys.exit(f"load-trace.sh: the trace buffer overflowed ({m.group(1)} of {m.group(2)} events kept)")
line_re = re.compile(r'\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (.*)')
events, comm_of = [], {}
for line in open(path):
    m = line_re.match(line)
    if not m:
        continue
    comm, pid, _cpu, t, rest = m.groups()
    comm_of.setdefault(pid, comm)
    events.append((float(t), pid, rest))
# Roles: the prober (a process of its own, in a session of its own, that the test names); the
# bus and offshootd by name (one of each per run).
role = {prober: 'prober'}
for pid, comm in comm_of.items():
    if comm in ('dbus-daemon', 'offshootd') and comm not in role.values():
        role[pid] = {'dbus-daemon': 'bus', 'offshootd': 'offshootd'}[comm]
# The prober's round trips: its sendmsg until the reply's body arrives (sd-bus reads a message
# as a 24-byte header, then the rest). Each probe is ListInstances then the bus's GetId, and
# the last trip is a GetId: counted from the end, every other trip is a ListInstances.
all_trips, sent = [], None
for t, pid, rest in events:
    if pid != prober:
        continue
    if rest.startswith('sys_sendmsg('):
        sent = t
    elif rest.startswith('sys_recvmsg -> ') and sent is not None:
        n = int(rest.split('-> ')[1], 16)
        if 24 < n < 1 << 63:
            all_trips.append((t - sent, sent, t))
            sent = None
trips = all_trips[-2::-2]
if not trips:
    sys.exit("load-trace.sh: no ListInstances round trips in the trace")
trips.sort(reverse=True)
start = events[0][0]
sw_re = re.compile(r'prev_pid=(\d+) .*prev_state=(\S+) ==> next_comm=.* next_pid=(\d+)')
for took, a, z in trips[:samples]:
    spent = {r: {'running': 0.0, 'runnable': 0.0, 'asleep': 0.0} for r in ('prober', 'bus', 'offshootd')}
    state, since = {}, {}
    def move(pid, new, t):
        r = role.get(pid)
        if r is None:
            return
        if r in state:
            lo, hi = max(since[r], a), min(t, z)
            if hi > lo:
                spent[r][state[r]] += hi - lo
        state[r], since[r] = new, t
    for t, pid, rest in events:
        if t > z:
            break
        if rest.startswith('sched_switch:'):
            m = sw_re.search(rest)
            if m:
                move(m.group(1), 'runnable' if m.group(2).startswith('R') else 'asleep', t)
                move(m.group(3), 'running', t)
        elif rest.startswith('sched_wakeup:'):
            m = re.search(r' pid=(\d+)', rest)
            if m and state.get(role.get(m.group(1))) == 'asleep':
                move(m.group(1), 'runnable', t)
    for r in state:
        move(next(p for p, x in role.items() if x == r), state[r], z)
    print(f"\nListInstances took {took * 1000:.1f} ms (sent {1000 * (a - start):.0f} ms into the trace):")
    for r, s in spent.items():
        print(f"  {r:<10} " + ", ".join(f"{k} {v * 1000:6.1f} ms" for k, v in s.items()))
PY

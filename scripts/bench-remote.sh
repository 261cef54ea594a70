#!/usr/bin/env bash
# bench-remote.sh — a call's round trip to an instance on another host, next to the same
# instance reached on its own host, in the same run. As root, from the repository:
#
#   scripts/bench-remote.sh [--no-build] [--build-dir=DIR] [--calls=N]
#
# The other host is tests/remote/ssh-host.sh's (sshd on 127.0.0.1 in a network namespace of its
# own, offshootd on a system bus behind it). An Echo instance is spawned there with
# `offshootctl --host`, then offshoot-bench-tunnel (bench/helpers/tunnel_ping.cpp), run in
# that host's mount and PID namespaces (sd-bus refuses EXTERNAL authentication from a peer
# whose pid it cannot see), times Echo.Ping on three addresses of that one instance:
#   direct   unix:path=/run/offshoot/instances/N — a caller on the instance's host
#   bridge   unixexec:path=systemd-stdio-bridge,… — the bridge alone, no ssh
#   ssh      unixexec:path=ssh,…,systemd-stdio-bridge,… — what Supervisor::remote's proxies use
# and prints per address the connect time and p50/p90/p99 (with the ratio to direct).
# Defaults: --build-dir=build-release, --calls=5000. The placement is free (2 cores): ssh,
# sshd and the bridge are four processes in the path of every call.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == --inside ]]; then  # re-run by ssh-host.sh, in the test host's network namespace
  build=$2 calls=$3
  out=$("$build/bin/offshootctl" --host="$OFFSHOOT_TEST_SSH_HOST" --json spawn Echo)
  address=$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])' <<<"$out")
  escape() { printf '%s' "$1" | sed 's/%/%25/g; s/=/%3d/g; s/,/%2c/g; s/:/%3a/g; s/@/%40/g'; }
  bridge="unixexec:path=systemd-stdio-bridge,argv1=$(escape "--bus-path=$address")"
  ssh="unixexec:path=ssh,argv1=-xT,argv2=--,argv3=$(escape "$OFFSHOOT_TEST_SSH_HOST"),argv4=systemd-stdio-bridge,argv5=$(escape "--bus-path=$address")"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  nsenter -t "$OFFSHOOT_TEST_SSH_NS" -m -p -- "$build/bin/offshoot-bench-tunnel" --calls="$calls" \
    direct="$address" bridge="$bridge" ssh="$ssh" >"$OFFSHOOT_BENCH_REMOTE_OUT"
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  id=$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$out")
  "$build/bin/offshootctl" --host="$OFFSHOOT_TEST_SSH_HOST" release "$id"
  exit 0
fi

build=build-release calls=5000 do_build=1
for arg; do
  case "$arg" in
    --no-build) do_build=0 ;;
    --build-dir=*) build="${arg#*=}" ;;
    --calls=*) calls="${arg#*=}" ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "bench-remote.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done
((EUID == 0)) || { echo "bench-remote.sh: run as root (namespaces, sshd)" >&2; exit 1; }
if ((do_build)); then
  bash scripts/deps.sh
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$build" -j2 --target offshootd offshoot-worker echo offshootctl offshoot-bench-tunnel
fi
build=$(cd "$build" && pwd)
results=$(mktemp /tmp/offshoot-bench-remote.XXXXXX.json)
trap 'rm -f "$results"' EXIT
scratch=$(mktemp -d /tmp/offshoot-bench-remote.XXXXXX)  # ssh-host.sh makes it anew and removes it
OFFSHOOT_BENCH_REMOTE_OUT=$results bash tests/remote/ssh-host.sh "$build" "$scratch" \
  bash "$PWD/scripts/bench-remote.sh" --inside "$build" "$calls"
echo
echo "Command: scripts/bench-remote.sh $*"
echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)"
/usr/bin/python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
direct = next(r for r in rows if r["name"] == "direct")
print()
print("| Echo.Ping to one instance | connect, ms | p50 µs | p90 µs | p99 µs | p50 ÷ direct |")
print("|---|---:|---:|---:|---:|---:|")
what = {"direct": "direct: its unix socket, on its host",
        "bridge": "systemd-stdio-bridge alone (unixexec), on its host",
        "ssh": "ssh + systemd-stdio-bridge (Supervisor::remote's tunnel)"}
for r in rows:
    print(f"| {what[r['name']]} | {r['connect_ms']:.1f} | {r['p50_us']:.1f} | {r['p90_us']:.1f} | "
          f"{r['p99_us']:.1f} | {r['p50_us'] / direct['p50_us']:.2f} |")
PY

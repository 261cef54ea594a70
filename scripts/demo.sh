#!/usr/bin/env bash
# demo.sh — the demo command. On a fresh Debian machine, as root:
#   installs what is missing, builds, starts a private dbus-daemon and offshootd on it (embedded
#   mode: nothing is installed system-wide), runs offshoot-demo (a Counter and two Identity
#   instances as uid 65534, each Identity in a directory of its own), then stops everything.
#
#   scripts/demo.sh [--no-build] [--build-dir=DIR] [--uid=UID]
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
do_build=1
uid=65534
for arg; do
  case "$arg" in
    --no-build) do_build=0 ;;
    --build-dir=*) build="${arg#*=}" ;;
    --uid=*) uid="${arg#*=}" ;;
    -h|--help) sed -n '2,7p' scripts/demo.sh; exit 0 ;;
    *) echo "demo.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

if ((EUID != 0)); then
  echo "demo.sh: run as root: offshootd has to switch its instances to uid $uid" >&2
  exit 1
fi

if ((do_build)); then
  bash scripts/deps.sh
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build "$build" -j2
fi

if [[ -t 1 ]]; then
  say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
  say() { printf '\n== %s\n' "$*"; }
fi

# --- everything below is torn down on exit, however the script ends ----------------------------
work="$(mktemp -d /tmp/offshoot-demo.XXXXXX)"
dbus_pid=""
offshootd_pid=""

# Ends a process we started: SIGTERM, up to 5 s to go, then SIGKILL.
stop_process() {
  local pid="$1"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_process "$offshootd_pid"
  stop_process "$dbus_pid"
  if ((rc != 0)) && [[ -s "$work/offshootd.log" ]]; then
    echo "--- offshootd log (last 30 lines) ---" >&2
    tail -n 30 "$work/offshootd.log" >&2
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits up to $1 seconds for the command after it to succeed; fails if process $2 dies first.
wait_until() {
  local seconds="$1" pid="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo.sh: process $pid exited while waiting for: $*" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "demo.sh: timed out after ${seconds}s waiting for: $*" >&2
      return 1
    fi
    sleep 0.05
  done
}

# The instances run as $uid and must be able to pass through $work to their directories.
chmod 0755 "$work"

say "private dbus-daemon"
cat >"$work/bus.conf" <<CONF
<busconfig>
  <type>custom</type>
  <listen>unix:path=$work/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
    <allow user="*"/>
  </policy>
</busconfig>
CONF
# dbus-daemon prints its address once it listens: that is the readiness signal.
dbus-daemon --config-file="$work/bus.conf" --nofork --print-address=3 \
  3>"$work/bus.address" 2>"$work/dbus.log" &
dbus_pid=$!
wait_until 10 "$dbus_pid" test -s "$work/bus.address"
address="unix:path=$work/bus"
echo "listening on $address (pid $dbus_pid)"

say "offshootd"
"$build/bin/offshootd" --address="$address" --runtime-dir="$work/run" >"$work/offshootd.log" 2>&1 &
offshootd_pid=$!
name_owned() {
  busctl --address="$address" call org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus NameHasOwner s org.offshoot1 | grep -qx 'b true'
}
wait_until 10 "$offshootd_pid" name_owned
echo "org.offshoot1 is served (pid $offshootd_pid)"

say "offshoot-demo"
gid_arg=()
if group="$(id -g "$uid" 2>/dev/null)"; then :; else group="$uid"; gid_arg=(--gid="$uid"); fi
for d in a b; do
  install -d -m 0755 -o "$uid" -g "$group" "$work/dirs/$d"
done
chmod 0755 "$work/dirs"
"$build/bin/offshoot-demo" --address="$address" --uid="$uid" "${gid_arg[@]}" \
  --dir-a="$work/dirs/a" --dir-b="$work/dirs/b"

say "shutting down"
stop_process "$offshootd_pid"
offshootd_pid=""
stop_process "$dbus_pid"
dbus_pid=""
echo "done."

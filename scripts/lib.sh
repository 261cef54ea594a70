# lib.sh — shell helpers shared by scripts/demo.sh and scripts/bench.sh (sourced, not run):
# a private dbus-daemon and offshootd from the build tree, torn down however the script ends.
#
#   source scripts/lib.sh
#   stop_seconds=10 poll_seconds=0.02     # optional: the defaults are 5 and 0.05
#   make_work_dir offshoot-demo           # $work = a fresh /tmp/offshoot-demo.XXXXXX
#   install_cleanup_traps                 # from here on, exiting stops everything below
#   private_bus_config "$work/bus" >"$work/bus.conf"
#   start_dbus_daemon "$work/bus.conf" "$work/bus.address"             # sets dbus_pid
#   start_offshootd "$address" "$build/bin/offshootd" --address="$address" …  # offshootd_pid
#
# Messages name the script that sourced this file ("demo.sh: …"). Everything here expects
# `set -euo pipefail`: a helper that fails ends the script, and the EXIT trap cleans up.
# shellcheck shell=bash

: "${stop_seconds:=5}"     # how long stop_process gives a process after SIGTERM
: "${poll_seconds:=0.05}"  # how often wait_until tries again

dbus_pid=""
offshootd_pid=""
offshootd_address=""

# Ends a process we started: SIGTERM, up to $stop_seconds to go (offshootd stops its
# instances first), then SIGKILL.
stop_process() {
  local pid="$1"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq $((stop_seconds * 20))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# The EXIT trap: stops offshootd, then the bus, shows offshootd's log if the script failed,
# and removes $work; keeps the script's exit status.
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

# Makes the scratch directory $work: /tmp/$1.XXXXXX, removed by cleanup.
make_work_dir() {
  work="$(mktemp -d "/tmp/$1.XXXXXX")"
}

# From here on, however the script ends (exit, error, SIGINT, SIGTERM), cleanup runs.
install_cleanup_traps() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Waits up to $1 seconds for the command after it to succeed; fails if process $2 dies first.
wait_until() {
  local seconds="$1" pid="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "${0##*/}: process $pid exited while waiting for: $*" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "${0##*/}: timed out after ${seconds}s waiting for: $*" >&2
      return 1
    fi
    sleep "$poll_seconds"
  done
}

# Prints the configuration of a private bus listening on the socket $1: any local user may
# connect, own any name and eavesdrop. Further lines ($2, e.g. <limit>s) go in after <auth>.
private_bus_config() {
  local socket="$1" extra="${2:-}"
  echo "<busconfig>"
  echo "  <type>custom</type>"
  echo "  <listen>unix:path=$socket</listen>"
  echo "  <auth>EXTERNAL</auth>"
  [[ -z "$extra" ]] || printf '%s\n' "$extra"
  cat <<CONF
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
    <allow user="*"/>
  </policy>
</busconfig>
CONF
}

# Starts dbus-daemon on the configuration $1 (under the command prefix $3…, e.g. taskset, if
# any) and waits until it has written its address to $2: it prints the address once it
# listens, which is the readiness signal. Its stderr goes to $work/dbus.log. Sets dbus_pid.
start_dbus_daemon() {
  local conf="$1" address_file="$2"
  shift 2
  "$@" dbus-daemon --config-file="$conf" --nofork --print-address=3 \
    3>"$address_file" 2>"$work/dbus.log" &
  dbus_pid=$!
  wait_until 10 "$dbus_pid" test -s "$address_file"
}

# Whether org.offshoot1 has an owner on the bus at $offshootd_address (set by start_offshootd;
# a variable rather than an argument so that wait_until's messages name just the check).
name_owned() {
  busctl --address="$offshootd_address" call org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus NameHasOwner s org.offshoot1 | grep -qx 'b true'
}

# Runs the command $2… (offshootd, or a shell function that ends by exec'ing it) in the
# background with its output in $work/offshootd.log, and waits until it owns org.offshoot1
# on the bus at $1. Sets offshootd_pid.
start_offshootd() {
  offshootd_address="$1"
  shift
  "$@" >"$work/offshootd.log" 2>&1 &
  offshootd_pid=$!
  wait_until 10 "$offshootd_pid" name_owned
}

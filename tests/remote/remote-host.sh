#!/usr/bin/env bash
# remote-host.sh — the remote side of ssh-host.sh: PID 1 of new PID and mount namespaces (in
# ssh-host.sh's network namespace). Gives itself a /run of its own (so /run/dbus/
# system_bus_socket and /run/offshoot are this side's), the copies of /etc/passwd and /etc/group
# with the test's login users, then starts a system bus there, the build tree's offshootd on it
# (--system, as in production) and sshd on 127.0.0.1:22, and writes SCRATCH_DIR/ready.
#
#   remote-host.sh BUILD_DIR SCRATCH_DIR
#
# On SIGTERM: waits (10 s at most) for the ssh sessions' systemd-stdio-bridge processes to have
# ended — each ends when its client closes the connection — then stops offshootd (SIGTERM: it
# stops every instance), sshd and the bus, and exits with offshootd's status (1 if bridges were
# left). Whatever is left then ends with this PID 1.
set -euo pipefail
build=$1
scratch=$2
work=$scratch  # scripts/lib.sh keeps its logs in $work
source "$(dirname "$0")/../../scripts/lib.sh"  # private_bus_config, start_dbus_daemon, start_offshootd

mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -m 0755 /run/sshd /run/dbus
mount --bind "$scratch/passwd" /etc/passwd
mount --bind "$scratch/group" /etc/group
unset DBUS_SYSTEM_BUS_ADDRESS DBUS_SESSION_BUS_ADDRESS

system_bus=unix:path=/run/dbus/system_bus_socket
private_bus_config /run/dbus/system_bus_socket >"$scratch/bus.conf"
start_dbus_daemon "$scratch/bus.conf" "$scratch/bus.address"
start_offshootd "$system_bus" "$build/bin/offshootd" --system --log-level=debug
/usr/sbin/sshd -D -e -f "$scratch/sshd_config" 2>"$scratch/sshd.log" &
sshd_pid=$!
sshd_listening() { grep -q "Server listening on 127.0.0.1 port 22" "$scratch/sshd.log"; }
wait_until 10 "$sshd_pid" sshd_listening

bridges() {  # the pids of systemd-stdio-bridge processes (comm is cut to 15 characters)
  local p
  for p in /proc/[0-9]*; do
    [[ "$(cat "$p/comm" 2>/dev/null)" == systemd-stdio-b ]] && echo "${p#/proc/}"
  done
}

shut_down() {
  trap - TERM
  local status=0 left deadline=$((SECONDS + 10))
  while left=$(bridges) && [[ -n "$left" ]] && ((SECONDS < deadline)); do sleep 0.05; done
  if [[ -n "$left" ]]; then
    echo "remote-host.sh: systemd-stdio-bridge still running 10 s after the test: $left" >&2
    status=1
  fi
  kill -TERM "$offshootd_pid"
  local code=0
  wait "$offshootd_pid" || code=$?
  echo "remote-host.sh: offshootd exited with status $code" >&2
  ((code == 0)) || status=$code
  kill -TERM "$sshd_pid" "$dbus_pid" 2>/dev/null || true
  wait "$sshd_pid" "$dbus_pid" 2>/dev/null || true
  exit "$status"
}
trap shut_down TERM

echo ready >"$scratch/ready"
# `wait` returns when a trapped signal arrives; the trap then ends the script.
while :; do wait "$offshootd_pid" || { echo "remote-host.sh: offshootd died" >&2; exit 1; }; done

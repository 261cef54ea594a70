#!/usr/bin/env bash
# demo.sh — the demo command. On a fresh Debian machine, as root:
#   installs what is missing, builds, starts a private dbus-daemon and offshootd on it (embedded
#   mode: nothing is installed system-wide), runs offshoot-demo (a Counter and two Identity
#   instances as uid 65534, each Identity in a directory of its own), then stops everything.
#
#   scripts/demo.sh [--no-build] [--build-dir=DIR] [--uid=UID]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh  # stop_process, cleanup, wait_until, start_dbus_daemon, start_offshootd

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
make_work_dir offshoot-demo
install_cleanup_traps

# The instances run as $uid and must be able to pass through $work to their directories.
chmod 0755 "$work"

say "private dbus-daemon"
private_bus_config "$work/bus" >"$work/bus.conf"
start_dbus_daemon "$work/bus.conf" "$work/bus.address"
address="unix:path=$work/bus"
echo "listening on $address (pid $dbus_pid)"

say "offshootd"
start_offshootd "$address" "$build/bin/offshootd" --address="$address" --runtime-dir="$work/run"
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

#!/usr/bin/env bash
# service-test.sh — offshootd as a real system service, under a real systemd.
#
#   service-test.sh BUILD_DIR SCRATCH_DIR
#
# Installs the build into a staging prefix, then boots /lib/systemd/systemd as PID 1 of a new
# PID+mount namespace (DESIGN.md, "Verified facts") with a unit path holding the staged
# offshootd.service (plus a drop-in shortening its watchdog interval) and a minimal journald,
# dbus and target of our own; /usr/share/dbus-1 is bind-mounted over with a copy holding the
# distribution's bus configuration plus the staged D-Bus activation file and policy. Inside:
#   1. a Spawn call with offshootd not running D-Bus-activates offshootd.service; the unit is
#      active and its StatusText is the daemon's STATUS=; the activation-to-first-reply time
#      is printed (and a Spawn with offshootd running, for comparison);
#   2. the instance answers at its address, runs as uid 65534 at nice 0 in the service's
#      cgroup (offshootd at the unit's nice -10); uid 65534 may call Spawn (bus policy) and is
#      refused an instance as root by offshootd; the daemon's watchdog pings arrive;
#   3. `systemctl stop offshootd` stops every instance within the stop timeout and leaves no
#      worker; offshootd exits 0;
#   4. the journal holds the spawn, stop (in id order), exit and deny events with their
#      structured fields, and a worker's own output under SYSLOG_IDENTIFIER=offshoot-<Class>
#      (check-journal.py); a property read activates offshootd again;
#   5. the namespace goes away completely (kill -9 of its PID 1, then its cgroups), also
#      when a check fails (trap) or this script is killed outright (parent-death signals).
# OFFSHOOT_KEEP_SCRATCH=1 keeps the scratch directory (staged tree, logs) for a look.
source "$(dirname "$0")/lib.sh"

build=$(realpath "$1")
scratch=$2
here=$(realpath "$(dirname "$0")")

[[ $EUID -eq 0 ]] || fail "must run as root (it boots systemd in a namespace)"
for tool in unshare nsenter setpriv busctl systemctl journalctl python3; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/deps.sh installs it)"
done
[[ -x /lib/systemd/systemd ]] || fail "/lib/systemd/systemd is missing (package systemd)"

rm -rf "$scratch"
mkdir -p "$scratch"
scratch=$(realpath "$scratch")
prefix=$scratch/stage/usr
units=$scratch/units
console=$scratch/console.log
# The service's cgroup name must be unique: several runs may share the host's hierarchy.
cgname="offshoot-systemd-test-$$"

ns_pid=""       # host pid of the namespace's PID 1 (systemd)
unshare_pid=""  # host pid of unshare(1), its parent

show_diagnostics() {
  echo "---- unshare and the namespace's start-up ----" >&2
  tail -n 20 "$scratch/unshare.log" >&2 2>/dev/null || true
  echo "---- systemd console (PID 1 of the namespace) ----" >&2
  tail -n 60 "$console" >&2 2>/dev/null || true
  if [[ -n "$ns_pid" ]] && kill -0 "$ns_pid" 2>/dev/null; then
    echo "---- journal of the namespace ----" >&2
    in_ns journalctl --no-pager -n 80 -o short-monotonic >&2 2>/dev/null || true
    echo "---- systemctl status offshootd ----" >&2
    in_ns systemctl --no-pager status offshootd >&2 2>/dev/null || true
  fi
}

teardown() {
  local rc=$?
  trap - EXIT
  ((rc == 0)) || show_diagnostics
  # kill -9 of a PID namespace's init ends every process in it; unshare then exits.
  [[ -n "$ns_pid" ]] && kill -9 "$ns_pid" 2>/dev/null || true
  [[ -n "$unshare_pid" ]] && wait "$unshare_pid" 2>/dev/null || true
  # The namespace's cgroups (init.sh lists them as it makes them) and those systemd made
  # below them are empty once the namespace is gone.
  local d deadline=$(( $(now_ms) + 10000 )) cg_dirs=()
  [[ -f "$scratch/cgroups" ]] && mapfile -t cg_dirs <"$scratch/cgroups"
  for d in "${cg_dirs[@]}"; do
    while [[ -d "$d" ]]; do
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [[ -d "$d" ]] || break
      if (( $(now_ms) > deadline )); then
        echo "teardown: cannot remove cgroup $d" >&2
        rc=1
        break
      fi
      sleep 0.02
    done
  done
  # OFFSHOOT_KEEP_SCRATCH=1 keeps the staged install and the logs for a look.
  [[ "${OFFSHOOT_KEEP_SCRATCH:-}" == 1 ]] || rm -rf "$scratch"
  exit "$rc"
}
trap teardown EXIT
# A signal (ctest's timeout, ^C) ends the test through the same teardown.
trap 'exit 143' TERM INT HUP

in_ns() { nsenter -t "$ns_pid" -m -p -- "$@"; }

# Cgroups an earlier run could not remove (it was SIGKILLed); rmdir takes only empty ones.
# (Only those whose test, named by the pid at the end, is gone.)
while read -r d; do
  kill -0 "${d##*-}" 2>/dev/null || find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
done < <(find /sys/fs/cgroup -maxdepth 6 -type d -name 'offshoot-systemd-test-*' -prune 2>/dev/null)

# ---- stage the install ------------------------------------------------------------------
stage_install "$build" "$prefix"
[[ -f $prefix/lib/systemd/system/offshootd.service ]] || fail "no unit in the staged install"
grep -qx "ExecStart=$prefix/bin/offshootd --system" "$prefix/lib/systemd/system/offshootd.service" ||
  fail "the staged unit's ExecStart does not name the staged offshootd"
ok "staged install in $prefix"

# The namespace's own units: stand-ins for the distribution's targets (offshootd.service
# keeps its default dependencies on them), a journald and a dbus without the distribution's
# dependencies, and the target we boot into. offshootd.service itself comes from the staged
# prefix, unchanged except for a drop-in with a short watchdog interval (so the pings can be
# seen within the test).
mkdir -p "$units/offshootd.service.d"
for t in sysinit basic sockets shutdown; do
  printf '[Unit]\nDescription=%s (stand-in)\nDefaultDependencies=no\n' "$t" >"$units/$t.target"
done
cat >"$units/offshoot-test.target" <<'EOF'
[Unit]
Description=offshoot systemd test
DefaultDependencies=no
Wants=systemd-journald.socket systemd-journald.service dbus.socket dbus.service
EOF
cat >"$units/systemd-journald.socket" <<'EOF'
[Unit]
Description=Journal Socket
DefaultDependencies=no
[Socket]
ListenDatagram=/run/systemd/journal/socket
ListenStream=/run/systemd/journal/stdout
ListenDatagram=/run/systemd/journal/dev-log
PassCredentials=yes
PassSecurity=yes
ReceiveBuffer=8M
Service=systemd-journald.service
SocketMode=0666
Timestamping=us
EOF
cat >"$units/systemd-journald.service" <<'EOF'
[Unit]
Description=Journal Service
DefaultDependencies=no
Requires=systemd-journald.socket
After=systemd-journald.socket
[Service]
Type=notify
ExecStart=/lib/systemd/systemd-journald
Sockets=systemd-journald.socket
RuntimeDirectory=systemd/journal
RuntimeDirectoryPreserve=yes
StandardOutput=null
EOF
cat >"$units/dbus.socket" <<'EOF'
[Unit]
Description=D-Bus System Message Bus Socket
DefaultDependencies=no
[Socket]
ListenStream=/run/dbus/system_bus_socket
EOF
cat >"$units/dbus.service" <<'EOF'
[Unit]
Description=D-Bus System Message Bus
DefaultDependencies=no
Requires=dbus.socket
After=dbus.socket systemd-journald.socket
[Service]
Type=notify
NotifyAccess=main
ExecStart=/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only
EOF
cat >"$units/offshootd.service.d/test-watchdog.conf" <<'EOF'
[Service]
WatchdogSec=2s
EOF
# In a sanitizer build, offshootd under systemd runs without LeakSanitizer: its exit-time check
# stops the process with a ptrace-ing helper, which hung once at offshootd's exit inside the
# service's sandbox (a second "offshootd" task, the stop timing out; upstream:
# google/sanitizers#777 — "disable any sandboxes in sanitizer builds" — and #1330). AddressSanitizer
# and UBSan stay on here, and every other offshootd in the suite is still leak-checked.
if ldd "$prefix/bin/offshootd" | grep -q libasan; then
  cat >"$units/offshootd.service.d/test-sanitizer.conf" <<'EOF'
[Service]
Environment=ASAN_OPTIONS=detect_leaks=0
EOF
fi

# Runs as the namespace's first process: joins cgroups of its own (below ours, in every
# hierarchy, so systemd's tree stays inside the limits we run under and can be removed after),
# bind-mounts over /usr/share/dbus-1 a copy holding the distribution's bus configuration plus
# the staged activation file and policy (the bus reads them where an installed package puts
# them), puts a tmpfs over /run (systemd's runtime state) and /var/log/journal (the host keeps
# a persistent journal there), sends the console to a file, and becomes systemd.
cat >"$scratch/init.sh" <<EOF
#!/bin/bash
set -eu
# Read whole first: the file changes as we join, and read(1) re-reads it line by line.
own=\$(cat /proc/self/cgroup)
while IFS=: read -r _ controllers path; do
  case "\$controllers" in
    "") mnt=/sys/fs/cgroup/unified; [[ -e /sys/fs/cgroup/cgroup.controllers ]] && mnt=/sys/fs/cgroup ;;
    name=systemd) mnt=/sys/fs/cgroup/systemd ;;
    name=*|cpuset|*,cpuset|cpuset,*) continue ;;  # systemd manages no v1 cpuset
    *) mnt=/sys/fs/cgroup/\$controllers ;;
  esac
  [[ -d "\$mnt" ]] || continue
  dir="\$mnt\${path%/}/$cgname"
  mkdir -p "\$dir"
  echo "\$dir" >>"$scratch/cgroups"
  echo \$\$ >"\$dir/cgroup.procs"
done <<<"\$own"
mkdir -p "$scratch/dbus-1"
cp -a /usr/share/dbus-1/. "$scratch/dbus-1/"
mkdir -p "$scratch/dbus-1/system-services" "$scratch/dbus-1/system.d"
cp "$prefix/share/dbus-1/system-services/org.offshoot1.service" "$scratch/dbus-1/system-services/"
cp "$prefix/share/dbus-1/system.d/org.offshoot1.conf" "$scratch/dbus-1/system.d/"
mount --bind "$scratch/dbus-1" /usr/share/dbus-1
mount -t tmpfs -o mode=0755 tmpfs /run
if [[ -d /var/log/journal ]]; then mount -t tmpfs -o mode=2755 tmpfs /var/log/journal; fi
touch "$console"
mount --bind "$console" /dev/console
export SYSTEMD_UNIT_PATH="$units:$prefix/lib/systemd/system"
export container=offshoot-test
exec /lib/systemd/systemd --system --unit=offshoot-test.target --log-target=console --show-status=no </dev/null >>"$console" 2>&1
EOF
chmod +x "$scratch/init.sh"

# ---- boot -------------------------------------------------------------------------------
boot_started=$(now_ms)
# Should this script be killed outright (SIGKILL, no teardown), the kernel's parent-death
# signals take the namespace down all the same: unshare gets SIGKILL when we die (setpriv
# --pdeathsig), and the namespace's PID 1 when unshare dies (--kill-child).
setpriv --pdeathsig KILL \
  unshare --pid --fork --kill-child=SIGKILL --mount --mount-proc --propagation private "$scratch/init.sh" \
  >"$scratch/unshare.log" 2>&1 &
unshare_pid=$!
find_ns_pid() {
  ns_pid=$(cat "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null | awk '{print $1}')
  [[ -n "$ns_pid" ]]
}
wait_until 10 "unshare's child (the namespace's PID 1)" find_ns_pid
find_ns_pid
# The cgroup list is complete once the child has become systemd (it writes it before exec).
ns_is_systemd() { [[ "$(cat "/proc/$ns_pid/comm" 2>/dev/null)" == systemd ]]; }
wait_until 10 "PID 1 of the namespace to exec systemd" ns_is_systemd
wait_until 20 "systemd's private socket in the namespace" test -S "/proc/$ns_pid/root/run/systemd/private"
# is-system-running --wait returns once the boot's jobs are done.
state=$(in_ns timeout 20 systemctl is-system-running --wait 2>&1 || true)
[[ "$state" == running ]] || { in_ns systemctl --no-pager --failed >&2 || true; fail "the namespace's systemd is '$state', not running"; }
# D-Bus activation goes through systemd's own bus connection, made once dbus is up.
wait_until 10 "systemd on the namespace's system bus" \
  in_ns busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetNameOwner s org.freedesktop.systemd1
ok "systemd booted as PID 1 of a new PID+mount namespace in $(( $(now_ms) - boot_started )) ms"

# ---- 1. activation ----------------------------------------------------------------------
state=$(in_ns systemctl is-active offshootd || true)
[[ "$state" == inactive ]] || fail "offshootd.service is '$state' before the first call"
t0=$EPOCHREALTIME
reply=$(in_ns busctl --system call org.offshoot1 /org/offshoot1 org.offshoot1.Supervisor Spawn su Counter 65534) ||
  fail "Spawn through D-Bus activation failed: $reply"
t1=$EPOCHREALTIME
activation_ms=$(python3 -c "print(f'{($t1 - $t0) * 1000:.1f}')")
echo "activation-to-first-reply: ${activation_ms} ms (Spawn of Counter as 65534 with offshootd not running, via busctl in the namespace)"
[[ "$reply" =~ ^os\ \"(/org/offshoot1/instance/[0-9]+)\"\ \"unix:path=([^\"]+)\"$ ]] ||
  fail "unexpected Spawn reply: $reply"
inst1=${BASH_REMATCH[1]}
addr1="unix:path=${BASH_REMATCH[2]}"
state=$(in_ns systemctl is-active offshootd || true)
[[ "$state" == active ]] || fail "offshootd.service is '$state' after activation"
status=$(in_ns systemctl show -P StatusText offshootd)
[[ "$status" == "1 instance running (1 user), 1 handle" ]] || fail "StatusText is '$status'"
ok "activation: Spawn answered $inst1 at $addr1; offshootd.service active; StatusText='$status'"

# ---- 2. the instance --------------------------------------------------------------------
value=$(in_ns busctl --address="$addr1" call org.offshoot1.Object /org/offshoot1/object \
  org.offshoot1.example.Counter Increment x 5)
[[ "$value" == "x 5" ]] || fail "Increment through the instance's address answered '$value'"
pid1=$(in_ns busctl --system get-property org.offshoot1 "$inst1" org.offshoot1.Instance MainPID | awk '{print $2}')
[[ "$pid1" =~ ^[0-9]+$ && "$pid1" -gt 1 ]] || fail "MainPID of $inst1 is '$pid1'"
uids=$(in_ns awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid1/status")
[[ "$uids" == "65534 65534 65534 65534" ]] || fail "worker $pid1 runs with uids '$uids', not 65534"
cgroup=$(in_ns cat "/proc/$pid1/cgroup")
main_pid=$(in_ns systemctl show -P MainPID offshootd)
grep -qE ':/offshootd.service$|/system.slice/offshootd.service$' <<<"$cgroup" ||
  fail "worker $pid1 is not in offshootd.service's cgroup: $cgroup"
in_ns systemctl show -P ControlGroup offshootd | grep -q offshootd.service || fail "offshootd.service has no cgroup"
nice=$(in_ns ps -o ni= -p "$main_pid" | tr -d ' ')
[[ "$nice" == -10 ]] || fail "offshootd runs at nice '$nice', not the unit's -10"
worker_nice=$(in_ns ps -o ni= -p "$pid1" | tr -d ' ')
[[ "$worker_nice" == 0 ]] || fail "the worker runs at nice '$worker_nice', not 0"
ok "instance: Increment answered through $addr1; worker pid $pid1 (offshootd is $main_pid) runs as 65534 in offshootd.service's cgroup"

# A second instance, so the stop below has an order to keep; its worker logs at debug level,
# so it writes a line of its own to its stdout/stderr (a journal stream).
t0=$EPOCHREALTIME
reply=$(in_ns busctl --system call org.offshoot1 /org/offshoot1 org.offshoot1.Supervisor SpawnWithOptions 'sa{sv}' \
  Identity 2 uid u 65534 environment as 1 OFFSHOOT_LOG_LEVEL=debug) ||
  fail "second Spawn failed: $reply"
t1=$EPOCHREALTIME
echo "for comparison, a Spawn with offshootd running: $(python3 -c "print(f'{($t1 - $t0) * 1000:.1f}')") ms (the same nsenter + busctl)"
[[ "$reply" =~ ^os\ \"(/org/offshoot1/instance/[0-9]+)\" ]] || fail "unexpected Spawn reply: $reply"
inst2=${BASH_REMATCH[1]}
pid2=$(in_ns busctl --system get-property org.offshoot1 "$inst2" org.offshoot1.Instance MainPID | awk '{print $2}')
status=$(in_ns systemctl show -P StatusText offshootd)
[[ "$status" == "2 instances running (1 user), 2 handles" ]] || fail "StatusText is '$status'"
ok "second instance $inst2 (Identity, pid $pid2); StatusText='$status'"

# Anyone may call the supervisor (bus policy), and offshootd itself refuses what they may not
# do: uid 65534 asking for an instance as root is denied by offshootd (not by the bus) and
# the refusal is logged with the caller's uid (checked in the journal below).
denied=$(in_ns setpriv --reuid=65534 --regid=65534 --clear-groups \
  busctl --system call org.offshoot1 /org/offshoot1 org.offshoot1.Supervisor Spawn su Counter 0 2>&1) &&
  fail "uid 65534 could spawn an instance as root: $denied"
[[ "$denied" != *"Rejected send message"* && "$denied" != *"Access denied"* ]] ||
  fail "the bus policy, not offshootd, refused uid 65534's call: $denied"
ok "uid 65534 may call Spawn; offshootd refused it an instance as root ($denied)"

# The watchdog: systemd records every WATCHDOG=1 it accepts (WatchdogTimestamp). With the
# drop-in's 2 s interval offshootd pings every second; two new pings must arrive in time.
[[ "$(in_ns systemctl show -P WatchdogUSec offshootd)" == 2s ]] || fail "the watchdog drop-in is not in effect"
wd0=$(in_ns systemctl show -P WatchdogTimestampMonotonic offshootd)
wd_changed() { [[ "$(in_ns systemctl show -P WatchdogTimestampMonotonic offshootd)" != "$1" ]]; }
wait_until 3 "a WATCHDOG=1 from offshootd" wd_changed "$wd0"
wd1=$(in_ns systemctl show -P WatchdogTimestampMonotonic offshootd)
wait_until 3 "a second WATCHDOG=1 from offshootd" wd_changed "$wd1"
wd2=$(in_ns systemctl show -P WatchdogTimestampMonotonic offshootd)
ok "watchdog: pings $(( (wd2 - wd1) / 1000 )) ms apart (WatchdogSec=2s)"

# ---- 3. stop ----------------------------------------------------------------------------
invocation=$(in_ns systemctl show -P InvocationID offshootd)
stop_timeout_s=$(( $(in_ns systemctl show -P TimeoutStopUSec offshootd | sed 's/s$//') ))
t0=$(now_ms)
in_ns timeout "$(( stop_timeout_s + 5 ))" systemctl stop offshootd || fail "systemctl stop offshootd failed"
stop_ms=$(( $(now_ms) - t0 ))
(( stop_ms < stop_timeout_s * 1000 )) || fail "the stop took $stop_ms ms, beyond TimeoutStopSec=${stop_timeout_s}s"
workers=$(in_ns sh -c 'for d in /proc/[0-9]*; do c=$(cat $d/comm 2>/dev/null) && [ "$c" = offshoot-worke ] && echo ${d#/proc/}; done; true')
[[ -z "$workers" ]] || fail "worker processes left after the stop: $workers"
for p in "$pid1" "$pid2"; do
  ! in_ns test -e "/proc/$p" || fail "worker $p still exists after the stop"
done
result=$(in_ns systemctl show -P Result offshootd)
exit_status=$(in_ns systemctl show -P ExecMainStatus offshootd)
[[ "$result" == success && "$exit_status" == 0 ]] || fail "offshootd ended with Result=$result, status $exit_status"
ok "stop: took $stop_ms ms; no worker left; offshootd exited 0 (Result=success)"

# ---- 4. the journal ---------------------------------------------------------------------
journal_json="$scratch/journal.json"
in_ns journalctl --no-pager -o json _SYSTEMD_INVOCATION_ID="$invocation" >"$journal_json" ||
  fail "journalctl failed"
in_ns journalctl --no-pager -o json SYSLOG_IDENTIFIER=offshoot-Counter SYSLOG_IDENTIFIER=offshoot-Identity \
  >"$scratch/workers.json" || true
python3 "$here/check-journal.py" "$journal_json" "$scratch/workers.json" "$inst1" "$inst2" "$pid1" "$pid2" ||
  fail "the journal does not hold the expected events"
ok "journal: spawn, stop and exit events with OFFSHOOT_* fields and MESSAGE_IDs, in order"

# ---- activation again, without a Spawn --------------------------------------------------
t0=$EPOCHREALTIME
version=$(in_ns busctl --system get-property org.offshoot1 /org/offshoot1 org.offshoot1.Supervisor Version) ||
  fail "reading Version through D-Bus activation failed"
t1=$EPOCHREALTIME
echo "activation-to-first-reply: $(python3 -c "print(f'{($t1 - $t0) * 1000:.1f}')") ms (Get of Version with offshootd not running)"
[[ "$version" =~ ^s\ \" ]] || fail "Version is '$version'"
in_ns timeout 15 systemctl stop offshootd || fail "second stop failed"
ok "re-activation by a property read: Version=$version"

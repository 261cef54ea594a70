#!/usr/bin/env bash
# unit-verify-test.sh — the installed unit, activation file and bus policy are valid as
# installed: `systemd-analyze verify` accepts the staged offshootd.service without a word,
# they name the staged offshootd, and the unit keeps the settings the service relies on.
#
#   unit-verify-test.sh BUILD_DIR SCRATCH_DIR
source "$(dirname "$0")/lib.sh"

build=$(realpath "$1")
scratch=$2
rm -rf "$scratch"
mkdir -p "$scratch"
scratch=$(realpath "$scratch")
trap 'rm -rf "$scratch"' EXIT
prefix=$scratch/usr
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (package systemd)"

stage_install "$build" "$prefix"
unit=$prefix/lib/systemd/system/offshootd.service
activation=$prefix/share/dbus-1/system-services/org.offshoot1.service
policy=$prefix/share/dbus-1/system.d/org.offshoot1.conf
for f in "$unit" "$activation" "$policy"; do [[ -f $f ]] || fail "not installed: $f"; done
ok "installed: unit, activation file, policy"

# Any message (an unknown setting, a missing binary, a bad dependency) is a failure, not
# just a non-zero exit: verify only warns about most mistakes.
out=$(cd "$scratch" && systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify failed: $out"
[[ -z "$out" ]] || fail "systemd-analyze verify had something to say: $out"
ok "systemd-analyze verify $unit: clean"

# A broken copy must be caught, or the check above proves nothing.
sed "s|^ExecStart=.*|ExecStart=$prefix/bin/no-such-offshootd --system|" "$unit" >"$scratch/broken.service"
! (cd "$scratch" && systemd-analyze verify "$scratch/broken.service" >/dev/null 2>&1) ||
  fail "systemd-analyze verify accepted a unit whose ExecStart does not exist"
ok "systemd-analyze verify rejects a unit with a missing ExecStart"

expect_line() {  # FILE LINE
  grep -qxF -- "$2" "$1" || fail "$(basename "$1") lacks the line '$2'"
}
expect_line "$unit" "ExecStart=$prefix/bin/offshootd --system"
expect_line "$unit" "Type=notify"
expect_line "$unit" "NotifyAccess=main"
expect_line "$unit" "BusName=org.offshoot1"
expect_line "$unit" "WatchdogSec=30s"
expect_line "$unit" "KillMode=mixed"
expect_line "$unit" "RuntimeDirectory=offshoot"
expect_line "$unit" "OOMPolicy=continue"
for absent in PrivateTmp ProtectHome ProtectSystem DynamicUser User PrivateDevices; do
  ! grep -q "^$absent=" "$unit" || fail "the unit sets $absent=, which workers cannot live with"
done
expect_line "$activation" "Name=org.offshoot1"
expect_line "$activation" "Exec=$prefix/bin/offshootd --system"
expect_line "$activation" "User=root"
expect_line "$activation" "SystemdService=offshootd.service"
ok "unit and activation file name the staged offshootd and keep the service's settings"

# The policy parses: a private bus with the distribution's system.conf defaults plus this file
# starts, and lets root own org.offshoot1 (the service's user) while refusing anyone else.
cat >"$scratch/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path=$scratch/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
  </policy>
  <include>$policy</include>
</busconfig>
EOF
dbus-daemon --config-file="$scratch/bus.conf" --nofork --print-address=3 3>"$scratch/bus.address" 2>"$scratch/bus.log" &
bus_pid=$!
trap 'kill "$bus_pid" 2>/dev/null; wait "$bus_pid" 2>/dev/null; rm -rf "$scratch"' EXIT
wait_until 10 "the private bus with the policy" test -s "$scratch/bus.address"
# (Raising its fd limit may be refused in a container; that says nothing about the policy.)
complaints=$(grep -v "Failed to set fd limit" "$scratch/bus.log" || true)
[[ -z "$complaints" ]] || fail "dbus-daemon complained about the policy: $complaints"
addr=$(head -1 "$scratch/bus.address")
python3 - "$addr" <<'EOF' || fail "the policy does not let root own org.offshoot1 and refuse uid 65534"
import os, subprocess, sys
addr = sys.argv[1]
def own(as_nobody):
    pre = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if as_nobody else []
    r = subprocess.run(pre + ["busctl", "--address=" + addr, "call", "org.freedesktop.DBus",
                       "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName", "su",
                       "org.offshoot1", "4"], capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.strip() == "u 1", r.stdout + r.stderr
root_ok, root_out = own(False)
nobody_ok, nobody_out = own(True)
if not root_ok: print("root cannot own org.offshoot1:", root_out, file=sys.stderr)
if nobody_ok: print("uid 65534 may own org.offshoot1:", nobody_out, file=sys.stderr)
sys.exit(0 if root_ok and not nobody_ok else 1)
EOF
ok "the bus policy parses; only root may own org.offshoot1"

#!/usr/bin/env bash
# ctl-test.sh — the shell's tools against offshootd on another host, inside ssh-host.sh
# (which sets OFFSHOOT_TEST_SSH_HOST, _UID and _OTHER): `busctl -H` spawns (sd-bus's own ssh
# transport), `busctl --address=unixexec:…` calls the instance through a tunnel written out by
# hand as docs/lifecycle.md shows it, and offshootctl --host does the whole lifecycle.
#
#   ctl-test.sh BUILD_DIR
source "$(dirname "$0")/../systemd/lib.sh"  # fail, ok
build=$(realpath "$1")
ctl=("$build/bin/offshootctl" --host="$OFFSHOOT_TEST_SSH_HOST")
host=$OFFSHOOT_TEST_SSH_HOST uid=$OFFSHOOT_TEST_SSH_UID

# busctl -H: the supervisor over ssh, as systemctl -H reaches systemd.
out=$(busctl -H "$host" call org.offshoot1 /org/offshoot1 org.offshoot1.Supervisor Spawn su Echo "$uid")
[[ $out =~ ^os\ \"(/org/offshoot1/instance/[0-9]+)\"\ \"(unix:path=[^\"]+)\"$ ]] || fail "busctl -H Spawn: $out"
path=${BASH_REMATCH[1]} address=${BASH_REMATCH[2]}
ok "busctl -H $host spawned $path at $address"
# The instance through ssh and systemd-stdio-bridge, the address escaped as D-Bus wants it.
escaped=$(printf '%s' "--bus-path=$address" | sed 's/%/%25/g; s/=/%3d/g; s/,/%2c/g; s/:/%3a/g')
tunnel="unixexec:path=ssh,argv1=-xT,argv2=--,argv3=${host/@/%40},argv4=systemd-stdio-bridge,argv5=$escaped"
out=$(busctl --address="$tunnel" call org.offshoot1.Object /org/offshoot1/object org.offshoot1.example.Echo Ping x 7)
[[ $out == "x 7" ]] || fail "Ping through the tunnel answered '$out'"
ok "busctl --address=$tunnel called Echo.Ping"
out=$(busctl -H "$host" call org.offshoot1 "$path" org.offshoot1.Instance Release)
ok "busctl -H released $path"

# offshootctl --host: the lifecycle.
# Each output is taken whole before grep looks at it: under pipefail, a `grep -q` that stops at
# its first match can leave the writer with SIGPIPE and fail the check that just matched.
out=$("${ctl[@]}" classes) || fail "classes failed: $out"
grep -q '^Walker ' <<<"$out" || fail "classes: no Walker"
out=$("${ctl[@]}" spawn Echo)
[[ $out =~ Instance:\ /org/offshoot1/instance/([0-9]+) ]] || fail "spawn: $out"
id=${BASH_REMATCH[1]}
ok "offshootctl --host spawned instance $id"
# Another host's ids stay numbers (no local user names), and its pids get no local age.
out=$("${ctl[@]}" list)
grep -Eq "^$id +Echo +running +$uid +[0-9]+ +:[0-9.]+ +- *\$" <<<"$out" || fail "list: $out"
ok "list shows uid $uid as a number and no age"
[[ $("${ctl[@]}" call "$id" Ping x 42) == "x 42" ]] || fail "call Ping through ssh"
out=$("${ctl[@]}" introspect "$id") || fail "introspect failed: $out"
grep -q 'interface name="org.offshoot1.example.Echo"' <<<"$out" || fail "introspect: no Echo interface"
out=$("${ctl[@]}" status "$id") || fail "status failed: $out"
grep -Eq "^ +User: $uid\$" <<<"$out" || fail "status: no 'User: $uid'"
ok "call, introspect and status through ssh"

rc=0; out=$("${ctl[@]}" spawn Echo --uid nobody 2>&1) || rc=$?
((rc == 2)) && [[ $out == *"as a number"* ]] || fail "--uid nobody with --host: rc $rc, $out"
rc=0; out=$("${ctl[@]}" spawn Echo --uid 65534 2>&1) || rc=$?
((rc == 1)) && [[ $out == *org.offshoot1.Error.AccessDenied* ]] || fail "spawn as 65534: rc $rc, $out"
ok "a uid name is refused with --host; spawning as another uid is AccessDenied for uid $uid"
rc=0; out=$("$build/bin/offshootctl" --host="$OFFSHOOT_TEST_SSH_OTHER" call "$id" Ping x 1 2>&1) || rc=$?
((rc == 1)) && [[ $out == *org.offshoot1.Error.AccessDenied* ]] || fail "another login's call: rc $rc, $out"
ok "another login may not call the instance"

"${ctl[@]}" stop "$id"
"${ctl[@]}" release "$id"
[[ -z $("${ctl[@]}" --json list | tr -d '[:space:][]') ]] || fail "instances left: $("${ctl[@]}" list)"
ok "stopped and released; no instance left"

#!/usr/bin/env bash
# ssh-host.sh — "another host" for the tests of issue 20 part 4, made of the real programs on
# this machine: Debian's sshd listening on 127.0.0.1 inside a network namespace of its own, a
# system bus and an offshootd behind it, reached the way a remote host is — ssh, then
# systemd-stdio-bridge. Runs COMMAND in that network namespace (but in this machine's mount
# and PID namespaces: the remote host's /run, processes and users are not its own), then takes
# everything down and checks that nothing is left.
#
#   ssh-host.sh BUILD_DIR SCRATCH_DIR COMMAND [ARG…]
#
# The remote side is PID 1 (remote-host.sh) of new PID and mount namespaces: a tmpfs on /run
# gives it its own /run/dbus/system_bus_socket — where systemd-stdio-bridge looks, and so
# sd_bus_open_system_remote() and `busctl -H` — and /run/offshoot; /etc/passwd and /etc/group
# are bind-mounted over with copies that add two login users, so none of it touches this
# machine's. The keys (host key, one key per user) and the known_hosts file are made here.
# COMMAND gets in its environment:
#   OFFSHOOT_TEST_SSH_HOST    offshoot-remote@127.0.0.1 — the instance owner's login
#   OFFSHOOT_TEST_SSH_UID     that user's uid on the remote side
#   OFFSHOOT_TEST_SSH_OTHER   offshoot-other@127.0.0.1 — a second user, with a uid of its own
#   OFFSHOOT_TEST_SSH_NS      the host pid of the remote side's PID 1 (nsenter -t … -m -p)
#   PATH                      with SCRATCH_DIR/bin first: `ssh` there is /usr/bin/ssh with the
#                             test's own ssh_config (-F), so sd-bus's `unixexec:path=ssh` and
#                             Python's subprocess find it, and no ~/.ssh is read or written
# At the end offshootd must stop on SIGTERM with status 0 (it stops every instance), and no
# process started for the test — the remote side, sshd's sessions, the bridges, the workers,
# COMMAND's ssh clients — may be left. OFFSHOOT_KEEP_SCRATCH=1 keeps SCRATCH_DIR (logs).
set -euo pipefail
here=$(realpath "$(dirname "$0")")
# Everything runs in a network namespace of its own: 127.0.0.1 there is the remote host's.
if [[ "${OFFSHOOT_SSH_HOST_NETNS:-}" != 1 ]]; then
  [[ $EUID -eq 0 ]] || { echo "FAIL: must run as root (namespaces, sshd)" >&2; exit 1; }
  exec unshare --net env OFFSHOOT_SSH_HOST_NETNS=1 bash "$0" "$@"
fi
source "$here/../systemd/lib.sh"  # fail, ok, now_ms, wait_until

(($# >= 3)) || fail "usage: ssh-host.sh BUILD_DIR SCRATCH_DIR COMMAND [ARG…]"
build=$(realpath "$1")
scratch=$2
shift 2
[[ $EUID -eq 0 ]] || fail "must run as root (namespaces, sshd)"
for tool in unshare nsenter ip ssh ssh-keygen dbus-daemon busctl; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/deps.sh installs it)"
done
[[ -x /usr/sbin/sshd ]] || fail "/usr/sbin/sshd is missing (package openssh-server)"
command -v systemd-stdio-bridge >/dev/null || fail "systemd-stdio-bridge is missing (package systemd)"
[[ -x $build/bin/offshootd ]] || fail "$build/bin/offshootd is missing (build first)"

rm -rf "$scratch"
mkdir -p "$scratch"
scratch=$(realpath "$scratch")
chmod 0755 "$scratch"

# The two login users: uids free on this machine (the copies of /etc/passwd add them).
free_uid() {
  local u=$1
  while getent passwd "$u" >/dev/null || getent group "$u" >/dev/null; do u=$((u + 1)); done
  echo "$u"
}
owner_uid=$(free_uid 61000)
other_uid=$(free_uid $((owner_uid + 1)))

make_user() {  # NAME UID: a home with the user's authorized key, as sshd's StrictModes wants it
  local name=$1 uid=$2 home=$scratch/home/$1
  mkdir -p "$home/.ssh"
  ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$scratch/$name.key"
  cp "$scratch/$name.key.pub" "$home/.ssh/authorized_keys"
  chown -R "$uid:$uid" "$home"
  chmod 0755 "$home"
  chmod 0700 "$home/.ssh"
  chmod 0600 "$home/.ssh/authorized_keys"
  echo "$name:x:$uid:$uid:offshoot ssh test:$home:/bin/sh" >>"$scratch/passwd"
  echo "$name:x:$uid:" >>"$scratch/group"
}
mkdir -p "$scratch/home"
chmod 0755 "$scratch/home"
cp /etc/passwd "$scratch/passwd"
cp /etc/group "$scratch/group"
make_user offshoot-remote "$owner_uid"
make_user offshoot-other "$other_uid"
chmod 0644 "$scratch/passwd" "$scratch/group"

ssh-keygen -q -t ed25519 -N '' -C "offshoot test host" -f "$scratch/host.key"
echo "127.0.0.1 $(cut -d' ' -f1,2 "$scratch/host.key.pub")" >"$scratch/known_hosts"
cat >"$scratch/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port 22
HostKey $scratch/host.key
PidFile none
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PermitRootLogin no
AllowUsers offshoot-remote offshoot-other
AllowTcpForwarding no
X11Forwarding no
PermitTTY no
PrintMotd no
LogLevel VERBOSE
EOF
# Each user's key is offered only for its own login.
cat >"$scratch/ssh_config" <<EOF
Host *
  User offshoot-remote
  IdentitiesOnly yes
  UserKnownHostsFile $scratch/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 10
  LogLevel ERROR
Match user offshoot-remote
  IdentityFile $scratch/offshoot-remote.key
Match user offshoot-other
  IdentityFile $scratch/offshoot-other.key
EOF
mkdir -p "$scratch/bin"
printf '#!/bin/sh\nexec /usr/bin/ssh -F %s "$@"\n' "$scratch/ssh_config" >"$scratch/bin/ssh"
chmod 0755 "$scratch/bin/ssh"

unshare_pid=""
ns_pid=""

# Every process whose command line names the scratch directory (its programs and configs do),
# but for this script and the ones that started it: what must be gone at the end.
leftovers() {
  local p pid out=() ancestors=" " up=$$
  while [[ -n "$up" && "$up" != 0 ]]; do
    ancestors+="$up "
    up=$(awk '{print $4}' "/proc/$up/stat" 2>/dev/null) || break
  done
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [[ "$ancestors" == *" $pid "* || $pid == "$BASHPID" ]] && continue
    if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "$scratch"; then
      [[ "$(awk '{print $3}' "$p/stat" 2>/dev/null)" == Z ]] || out+=("$pid")
    fi
  done
  echo "${out[@]}"
}

teardown() {
  local rc=$?
  trap - EXIT
  if [[ -n "$ns_pid" ]] && kill -0 "$ns_pid" 2>/dev/null; then
    # remote-host.sh stops offshootd (SIGTERM), then sshd and the bus, and exits with
    # offshootd's status.
    kill -TERM "$ns_pid" 2>/dev/null || true
  fi
  if [[ -n "$unshare_pid" ]]; then
    local status=0
    wait "$unshare_pid" || status=$?
    if ((status != 0)); then
      echo "the remote side ended with status $status (offshootd's on SIGTERM)" >&2
      ((rc != 0)) || rc=1
    fi
  fi
  local left deadline=$(( $(now_ms) + 10000 ))
  while left=$(leftovers) && [[ -n "$left" ]]; do
    if (( $(now_ms) > deadline )); then
      echo "processes left behind:" >&2
      for p in $left; do echo "  $p: $(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null)" >&2; done
      kill -9 $left 2>/dev/null || true
      ((rc != 0)) || rc=1
      break
    fi
    sleep 0.05
  done
  if ((rc != 0)); then
    for log in remote.log offshootd.log sshd.log dbus.log; do
      [[ -s $scratch/$log ]] || continue
      echo "---- $log ----" >&2
      tail -n 40 "$scratch/$log" >&2
    done
  fi
  [[ "${OFFSHOOT_KEEP_SCRATCH:-}" == 1 ]] || rm -rf "$scratch"
  exit "$rc"
}
trap teardown EXIT
trap 'exit 143' TERM INT HUP

ip link set lo up
# --kill-child: the remote side goes with unshare, however this script ends.
unshare --mount --pid --fork --mount-proc --propagation private --kill-child=KILL \
  bash "$here/remote-host.sh" "$build" "$scratch" >"$scratch/remote.log" 2>&1 &
unshare_pid=$!
wait_until 20 "the remote side to come up" test -s "$scratch/ready"
ns_pid=$(cat "/proc/$unshare_pid/task/$unshare_pid/children")
ns_pid=${ns_pid%% *}
ok "remote side up: sshd on 127.0.0.1:22, offshootd on its system bus (namespace pid $ns_pid)"
env OFFSHOOT_TEST_SSH_HOST=offshoot-remote@127.0.0.1 OFFSHOOT_TEST_SSH_UID="$owner_uid" \
  OFFSHOOT_TEST_SSH_OTHER=offshoot-other@127.0.0.1 OFFSHOOT_TEST_SSH_NS="$ns_pid" \
  OFFSHOOT_BUILD_DIR="$build" PATH="$scratch/bin:$PATH" "$@"

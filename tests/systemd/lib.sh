# lib.sh — shared helpers of the systemd tests (sourced, not run).
#
# Every test prints "ok [Ns]: …" per check, with the seconds since the script began (a check that
# is slow on a loaded machine shows which one, when the test's timeout ends it), and fails at
# the first check that doesn't hold (`fail`), with what it saw. Waits are on events or on a
# condition polled with a deadline.

set -euo pipefail

fail() {
  fail_reason="FAIL [${SECONDS}s]: $*"  # for a teardown that prints diagnostics after it
  echo "$fail_reason" >&2
  exit 1
}

ok() { echo "ok [${SECONDS}s]: $*"; }

# now_ms — a monotonic clock in milliseconds.
now_ms() {
  local up
  read -r up _ </proc/uptime
  echo $(( ${up/./} * 10 ))
}

# wait_until SECONDS DESCRIPTION COMMAND… — runs COMMAND until it succeeds, or fails the test
# after SECONDS. For conditions that have no event to wait on (a file appearing in another
# mount namespace, a name on a bus we may not yet reach).
wait_until() {
  local limit=$1 what=$2
  shift 2
  local deadline=$(( $(now_ms) + limit * 1000 ))
  until "$@" >/dev/null 2>&1; do
    (( $(now_ms) < deadline )) || fail "timed out after ${limit}s waiting for: $what"
    sleep 0.02
  done
}

# stage_install BUILD_DIR PREFIX — `cmake --install` into PREFIX (a fresh directory).
stage_install() {
  local build=$1 prefix=$2
  rm -rf "$prefix"
  mkdir -p "$prefix"
  cmake --install "$build" --prefix "$prefix" >"$prefix.install.log" 2>&1 ||
    { cat "$prefix.install.log" >&2; fail "cmake --install $build --prefix $prefix"; }
}

#!/usr/bin/env bash
# bench.sh — the benchmark command. As root, from the repository:
#   builds (Release), then for each placement — one core (`taskset -c 0` on the whole tree:
#   dbus-daemon, offshootd and so its workers, offshoot-bench and its peers, the Python peer)
#   and free — starts a private dbus-daemon and offshootd from the build tree (as demo.sh
#   does), runs offshoot-bench and bench/peers/managers_peer.py, stops everything, and writes
#   <out-dir>/<stamp>.md and .json (medians, p90, ratios, targets) with bench/report.py.
#
#   scripts/bench.sh [--smoke] [--no-build] [--build-dir=DIR] [--out-dir=DIR]
#                    [--placements=core0,free] [--uid=UID] [--scale=N]
#
#   --smoke   tiny counts, for the ctest `bench-smoke`: fails unless every figure is a number
#             (no assertion on speed)
# Defaults: --build-dir=build-release, --out-dir=bench/results, --uid=65534.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

build=build-release
out_dir=bench/results
do_build=1
smoke=0
placements=core0,free
uid=65534
scale=""
for arg; do
  case "$arg" in
    --smoke) smoke=1 ;;
    --no-build) do_build=0 ;;
    --build-dir=*) build="${arg#*=}" ;;
    --out-dir=*) out_dir="${arg#*=}" ;;
    --placements=*) placements="${arg#*=}" ;;
    --uid=*) uid="${arg#*=}" ;;
    --scale=*) scale="${arg#*=}" ;;
    -h|--help) sed -n '2,15p' scripts/bench.sh; exit 0 ;;
    *) echo "bench.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done
command_line="scripts/bench.sh${*:+ $*}"

if ((EUID != 0)); then
  echo "bench.sh: run as root: offshootd has to switch its instances to uid $uid" >&2
  ((smoke)) && exit 77  # ctest: skipped, not failed (SKIP_RETURN_CODE)
  exit 1
fi

if ((smoke)); then
  counts=(--calls=100 --spawns=3 --scale="${scale:-10}" --async-calls=200 --payload-budget=1048576)
  py_calls=100
  py_spawns=2
else
  counts=(--calls=20000 --spawns=200 --scale="${scale:-1000}" --async-calls=50000 --payload-budget=33554432)
  py_calls=20000
  py_spawns=200
fi
python=/usr/bin/python3  # Debian's interpreter, not a shim in PATH

if ((do_build)); then
  bash scripts/deps.sh
  # -Wno-error=restrict: GCC 12 at -O3 reports a false -Wrestrict inside std::string
  # (tools/adaptorgen/type_mapping.cpp, out.insert(0, "_")); the warning stays visible.
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-Wno-error=restrict
  cmake --build "$build" -j2 --target offshootd offshoot-worker echo offshoot-bench offshoot-bench-sdbus-server
fi
for f in bin/offshootd bin/offshoot-bench bin/offshoot-bench-sdbus-server libexec/offshoot/offshoot-worker; do
  [[ -x "$build/$f" ]] || { echo "bench.sh: $build/$f is missing (build first, or drop --no-build)" >&2; exit 1; }
done
build="$(cd "$build" && pwd)"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"

# --- everything below is torn down on exit, however the script ends ----------------------------
work="$(mktemp -d /tmp/offshoot-bench.XXXXXX)"
dbus_pid=""
offshootd_pid=""

# Ends a process we started: SIGTERM, up to 10 s to go (offshootd stops its instances first),
# then SIGKILL.
stop_process() {
  local pid="$1"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 200); do
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
      echo "bench.sh: process $pid exited while waiting for: $*" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "bench.sh: timed out after ${seconds}s waiting for: $*" >&2
      return 1
    fi
    sleep 0.02
  done
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Runs one placement: $1 = core0 | free; results in $work/$1/.
run_placement() {
  local placement="$1" dir="$work/$1" pin=()
  case "$placement" in
    core0) pin=(taskset -c 0) ;;
    free) pin=() ;;
    *) echo "bench.sh: unknown placement '$placement' (core0, free)" >&2; exit 2 ;;
  esac
  mkdir -p "$dir"
  local started load_before
  started="$(date -Is)"
  load_before="$(loadavg)"

  cat >"$dir/bus.conf" <<CONF
<busconfig>
  <type>custom</type>
  <listen>unix:path=$dir/bus</listen>
  <auth>EXTERNAL</auth>
  <!-- scale: all Stop calls are sent at once (the built-in limit is 128 pending replies) -->
  <limit name="max_replies_per_connection">50000</limit>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
    <allow user="*"/>
  </policy>
</busconfig>
CONF
  "${pin[@]}" dbus-daemon --config-file="$dir/bus.conf" --nofork --print-address=3 \
    3>"$dir/bus.address" 2>"$work/dbus.log" &
  dbus_pid=$!
  wait_until 10 "$dbus_pid" test -s "$dir/bus.address"
  local address="unix:path=$dir/bus"

  # 1,000 instances cost offshootd a pidfd and a readiness channel each (and more while
  # spawning): its instance cap and its soft fd limit (to the hard limit: raising that needs
  # CAP_SYS_RESOURCE) are raised here, in the benchmark's own configuration.
  local max_instances=$(( ${scale:-1000} + 100 ))
  (
    ulimit -S -n "$(ulimit -H -n)"
    exec "${pin[@]}" "$build/bin/offshootd" --address="$address" --runtime-dir="$dir/run" \
      --max-instances="$max_instances" --log-level=warning
  ) >"$work/offshootd.log" 2>&1 &
  offshootd_pid=$!
  name_owned() {
    busctl --address="$address" call org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus NameHasOwner s org.offshoot1 | grep -qx 'b true'
  }
  wait_until 10 "$offshootd_pid" name_owned

  echo "== $placement: offshoot-bench (cpus $("${pin[@]}" grep Cpus_allowed_list /proc/self/status | cut -f2), load $load_before)"
  local bench=("${pin[@]}" "$build/bin/offshoot-bench" --bus="$address" --uid="$uid" "${counts[@]}"
               --benchmark_out="$dir/gbench.json" --benchmark_out_format=json)
  if ((smoke)); then "${bench[@]}" >"$dir/gbench.txt"; else "${bench[@]}"; fi

  echo "== $placement: Python multiprocessing.managers"
  "${pin[@]}" "$python" bench/peers/managers_peer.py calls --count="$py_calls" >"$dir/python_calls.json"
  "${pin[@]}" "$python" bench/peers/managers_peer.py spawn --count="$py_spawns" >"$dir/python_spawn.json"
  cat "$dir/python_calls.json" "$dir/python_spawn.json"

  stop_process "$offshootd_pid"
  offshootd_pid=""
  stop_process "$dbus_pid"
  dbus_pid=""
  local cpus
  cpus="$("${pin[@]}" grep Cpus_allowed_list /proc/self/status | cut -f2)"
  printf '{"placement": "%s", "cpus": "%s", "load_before": "%s", "load_after": "%s", "started": "%s", "finished": "%s"}\n' \
    "$placement" "$cpus" "$load_before" "$(loadavg)" "$started" "$(date -Is)" >"$dir/meta.json"
}

report_args=()
IFS=, read -ra placement_list <<<"$placements"
for p in "${placement_list[@]}"; do
  run_placement "$p"
  report_args+=(--placement="$p:$work/$p")
done

stamp="$(date +%Y-%m-%d-%H%M%S)"
((smoke)) && stamp="smoke-$stamp"
machine="$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)"
"$python" bench/report.py --out="$out_dir/$stamp" --command="$command_line" --date="$(date -Is)" \
  --machine="$machine" "${report_args[@]}" $( ((smoke)) && echo --smoke || true)
echo
echo "== results: $out_dir/$stamp.md and .json"
((smoke)) || cat "$out_dir/$stamp.md"

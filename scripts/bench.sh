#!/usr/bin/env bash
# bench.sh — the benchmark command. As root, from the repository:
#   builds (Release), then for each placement — one core (`taskset -c 0` on the whole tree:
#   dbus-daemon, offshootd and so its workers, offshoot-bench and its peers, the Python peer)
#   and free — starts a private dbus-daemon and offshootd from the build tree (as demo.sh
#   does), runs offshoot-bench and bench/peers/managers_peer.py, stops everything, and writes
#   <out-dir>/<stamp>.md and .json (medians, p90, ratios, targets) with bench/report.py.
#
#   scripts/bench.sh [--smoke] [--no-build] [--build-dir=DIR] [--out-dir=DIR]
#                    [--placements=core0,free] [--uid=UID] [--scale=N] [--filter=REGEX]
#
#   --smoke   tiny counts, for the ctest `bench-smoke`: fails unless every figure is a number
#             (no assertion on speed)
#   --filter  only the offshoot-bench rows matching REGEX (Google Benchmark's --benchmark_filter),
#             printed as they run; no Python peers and no report (for a quick A/B while working)
# Defaults: --build-dir=build-release, --out-dir=bench/results, --uid=65534.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
source scripts/lib.sh  # stop_process, cleanup, wait_until, start_dbus_daemon, start_offshootd
stop_seconds=10        # offshootd may be stopping 1,000 instances
poll_seconds=0.02

build=build-release
out_dir=bench/results
do_build=1
smoke=0
placements=core0,free
uid=65534
scale=""
filter=""
for arg; do
  case "$arg" in
    --smoke) smoke=1 ;;
    --no-build) do_build=0 ;;
    --build-dir=*) build="${arg#*=}" ;;
    --out-dir=*) out_dir="${arg#*=}" ;;
    --placements=*) placements="${arg#*=}" ;;
    --uid=*) uid="${arg#*=}" ;;
    --scale=*) scale="${arg#*=}" ;;
    --filter=*) filter="${arg#*=}" ;;
    -h|--help) sed -n '2,17p' scripts/bench.sh; exit 0 ;;
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
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$build" -j2 --target offshootd offshoot-worker echo walker offshoot-bench offshoot-bench-sdbus-server offshoot-bench-sdbus-exit
fi
for f in bin/offshootd bin/offshoot-bench bin/offshoot-bench-sdbus-server bin/offshoot-bench-sdbus-exit libexec/offshoot/offshoot-worker; do
  [[ -x "$build/$f" ]] || { echo "bench.sh: $build/$f is missing (build first, or drop --no-build)" >&2; exit 1; }
done
build="$(cd "$build" && pwd)"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"

# --- everything below is torn down on exit, however the script ends ----------------------------
make_work_dir offshoot-bench
install_cleanup_traps

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

  private_bus_config "$dir/bus" \
    '  <!-- scale: all Stop calls are sent at once (the built-in limit is 128 pending replies) -->
  <limit name="max_replies_per_connection">50000</limit>' >"$dir/bus.conf"
  start_dbus_daemon "$dir/bus.conf" "$dir/bus.address" "${pin[@]}"
  local address="unix:path=$dir/bus"

  # Each instance costs offshootd a pidfd and an output pipe (and more while spawning): its
  # instance cap and its fd limit are raised here, in the benchmark's own configuration — the
  # hard limit too where we may (CAP_SYS_RESOURCE, which root in a container may lack), to 3
  # per instance and 1,024 spare. Each live instance holds 2 (pidfd, output pipe; 1 under
  # systemd, where the output is a journal stream): with a hard limit of 20,000 the scale run
  # stops at about 9,990 instances ("Too many open files"), and says so here first.
  local max_instances=$(( ${scale:-1000} + 100 ))
  local want_fds=$(( 3 * ${scale:-1000} + 1024 ))
  run_offshootd() {
    if (( $(ulimit -H -n) < want_fds )); then ulimit -H -n "$want_fds" 2>/dev/null || true; fi
    if (( $(ulimit -H -n) < want_fds )); then
      echo "bench.sh: offshootd may open $(ulimit -H -n) descriptors (hard limit, not raisable here);" \
        "--scale=${scale:-1000} wants about $want_fds" >&2
    fi
    ulimit -S -n "$(ulimit -H -n)"
    exec "${pin[@]}" "$build/bin/offshootd" --address="$address" --runtime-dir="$dir/run" \
      --max-instances="$max_instances" --log-level=warning
  }
  start_offshootd "$address" run_offshootd

  echo "== $placement: offshoot-bench (cpus $("${pin[@]}" grep Cpus_allowed_list /proc/self/status | cut -f2), load $load_before)"
  local bench=("${pin[@]}" "$build/bin/offshoot-bench" --bus="$address" --uid="$uid" "${counts[@]}"
               --benchmark_out="$dir/gbench.json" --benchmark_out_format=json)
  if [[ -n "$filter" ]]; then
    "${bench[@]}" --benchmark_filter="$filter"
    stop_process "$offshootd_pid"; offshootd_pid=""
    stop_process "$dbus_pid"; dbus_pid=""
    return
  fi
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
[[ -n "$filter" ]] && exit 0

stamp="$(date +%Y-%m-%d-%H%M%S)"
((smoke)) && stamp="smoke-$stamp"
machine="$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)"
"$python" bench/report.py --out="$out_dir/$stamp" --command="$command_line" --date="$(date -Is)" \
  --machine="$machine" "${report_args[@]}" $( ((smoke)) && echo --smoke || true)
echo
echo "== results: $out_dir/$stamp.md and .json"
((smoke)) || cat "$out_dir/$stamp.md"

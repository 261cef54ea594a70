#!/usr/bin/env bash
# fuzz.sh — builds and runs offshoot's libFuzzer targets (tests/fuzz) in their own build
# directory: clang, ASan + UBSan, only the fuzz targets and the libraries they test.
#
#   scripts/fuzz.sh --regression     every target once over its checked-in corpus and crash
#                                    reproducers (ctest -L fuzz); what CI runs
#   scripts/fuzz.sh --run=SECONDS [--runs=N] [--target=NAME]... [--parallel=P]
#                                    fuzz each target for SECONDS (or N executions, whichever
#                                    comes first), P at a time; prints executions per target.
#                                    Work corpora persist in BUILD_DIR/fuzz-work/<target>,
#                                    crash inputs land in BUILD_DIR/fuzz-artifacts/<target>/
#   scripts/fuzz.sh --seeds          rewrites tests/fuzz/corpus/<target>/ from the targets'
#                                    own seed writers (after changing a target's input format)
#
# Environment: BUILD_DIR (default build-fuzz), JOBS (build parallelism, default 2),
# CC/CXX (default clang/clang++).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-fuzz}"
jobs="${JOBS:-2}"
targets_all=(fuzz-spawn-options fuzz-config fuzz-adaptors)

mode="" seconds="" runs="" parallel=1
targets=()
for arg in "$@"; do
  case "$arg" in
    --regression) mode=regression ;;
    --run=*) mode=run; seconds="${arg#--run=}" ;;
    --runs=*) runs="${arg#--runs=}" ;;
    --target=*) targets+=("${arg#--target=}") ;;
    --parallel=*) parallel="${arg#--parallel=}" ;;
    --seeds) mode=seeds ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -n "$mode" ]] || { echo "fuzz.sh: say --regression, --run=SECONDS or --seeds" >&2; exit 2; }
((${#targets[@]})) || targets=("${targets_all[@]}")

# Halt on the first sanitizer report, with symbolized stacks; leaks count.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

build_targets() {
  local start=$SECONDS
  CC="${CC:-clang}" CXX="${CXX:-clang++}" cmake -S "$root" -B "$build" \
    -DOFFSHOOT_FUZZ=ON -DOFFSHOOT_SANITIZE=ON -DOFFSHOOT_BUILD_TESTS=OFF -DOFFSHOOT_WERROR=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" --target "${targets[@]}" -j"$jobs"
  echo "fuzz.sh: built ${targets[*]} in $((SECONDS - start)) s"
}

case "$mode" in
regression)
  start=$SECONDS
  build_targets
  ctest --test-dir "$build" -L fuzz --output-on-failure
  echo "fuzz.sh: regression done in $((SECONDS - start)) s"
  ;;

seeds)
  build_targets
  for t in "${targets[@]}"; do
    dir="$root/tests/fuzz/corpus/$t"
    rm -rf "$dir" && mkdir -p "$dir"
    OFFSHOOT_FUZZ_WRITE_SEEDS="$dir" "$build/fuzz/$t"
    echo "fuzz.sh: $t: $(find "$dir" -type f | wc -l) seeds in ${dir#$root/}"
  done
  ;;

run)
  build_targets
  mkdir -p "$build/fuzz-logs"
  marker="$build/fuzz-logs/.started"
  touch "$marker"
  # One target: sessions of libFuzzer until the time or the execution budget is spent. A
  # session that ends early without a finding (a signal from outside) is resumed from the
  # work corpus; its executions count towards the budget.
  fuzz_one() {
    local t=$1 work="$build/fuzz-work/$1" artifacts="$build/fuzz-artifacts/$1/"
    local log="$build/fuzz-logs/$t.log" summary="$build/fuzz-logs/$t.summary"
    local deadline=$((SECONDS + seconds)) total=0 started=$SECONDS session=0 session_log
    mkdir -p "$work" "$artifacts"
    : >"$log"
    while :; do
      local left_time=$((deadline - SECONDS)) left_runs=""
      ((left_time > 0)) || break
      if [[ -n "$runs" ]]; then
        left_runs=$((runs - total))
        ((left_runs > 0)) || break
      fi
      local args=(-max_total_time="$left_time" -print_final_stats=1 -artifact_prefix="$artifacts")
      [[ -n "$left_runs" ]] && args+=(-runs="$left_runs")
      [[ -f "$root/tests/fuzz/$t.dict" ]] && args+=(-dict="$root/tests/fuzz/$t.dict")
      session=$((session + 1))
      session_log="$build/fuzz-logs/$t.session"
      # The work corpus comes first: libFuzzer adds what it finds there, never to the seeds.
      "$build/fuzz/$t" "${args[@]}" "$work" "$root/tests/fuzz/corpus/$t" >"$session_log" 2>&1 || true
      { echo "=== session $session"; cat "$session_log"; } >>"$log"
      local n
      n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$session_log" | tail -1)
      # Killed outright: no final stats; the last status line has the count.
      [[ -n "$n" ]] || n=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$session_log" | tail -1)
      total=$((total + ${n:-0}))
      if grep -qE '^Done [0-9]+ runs|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|offshoot fuzz finding' \
          "$session_log" || ((${n:-0} == 0)); then
        break  # done, a finding, or it cannot run at all
      fi
      echo "fuzz.sh: $t: session $session stopped from outside after ${n:-0} executions; resuming"
    done
    rm -f "$session_log"
    echo "$total $((SECONDS - started)) $session" >"$summary"
  }
  for t in "${targets[@]}"; do
    while (($(jobs -rp | wc -l) >= parallel)); do wait -n || true; done
    echo "fuzz.sh: fuzzing $t for up to $seconds s${runs:+ or $runs executions} (log: $build/fuzz-logs/$t.log)"
    fuzz_one "$t" &
  done
  wait || true

  status=0
  printf '\n%-20s %14s %10s %10s %9s %8s  %s\n' target executions seconds exec/s sessions crashes result
  for t in "${targets[@]}"; do
    log="$build/fuzz-logs/$t.log"
    read -r execs took sessions <"$build/fuzz-logs/$t.summary"
    rate=$((took > 0 ? execs / took : 0))
    crashes=$(find "$build/fuzz-artifacts/$t" -type f -newer "$marker" \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    result=ok
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|offshoot fuzz finding' "$log" || ((crashes)); then
      result="FAILED (see $log)"
      status=1
    fi
    printf '%-20s %14s %10s %10s %9s %8s  %s\n' "$t" "$execs" "$took" "$rate" "$sessions" "$crashes" "$result"
  done
  exit $status
  ;;
esac

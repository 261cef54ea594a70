#!/usr/bin/env bash
# test.sh — the test command: installs what is missing, builds, and runs every test. What CI
# runs (.ci/run), in three stages, each in a build directory of its own:
#
#   plain      build/       RelWithDebInfo with GCC; ctest (unit, worker, integration,
#                           security, lifecycle, reliability, systemd, SDK, bench smoke)
#   sanitize   build-asan/  the same suite again with AddressSanitizer + UBSan
#                           (-DOFFSHOOT_SANITIZE=ON); any report, leaks included, fails it
#   fuzz       build-fuzz/  clang + libFuzzer: every fuzz target once over its checked-in
#                           corpus and crash reproducers (scripts/fuzz.sh --regression)
#   release    build-release/  the product alone (no tests) as a packager builds it:
#                           -DCMAKE_BUILD_TYPE=Release, GCC's -O3 warnings as errors
#
# Every stage builds with warnings as errors (-DOFFSHOOT_WERROR=ON); a user's plain `cmake`
# build does not.
#
#   scripts/test.sh                   all four stages (a failed stage doesn't stop the others)
#   scripts/test.sh --stage=NAME      one stage (repeatable): plain, sanitize, fuzz or release
#   scripts/test.sh --sanitize        the same as --stage=sanitize
#   scripts/test.sh --build-dir=DIR   another build directory (with exactly one of plain/sanitize)
#   scripts/test.sh … -- ARGS         extra ctest arguments, e.g. -- -R Counter
#
# The exit status is 0 only if every stage passed. Most tests spawn instances as other users
# and start systemd in a namespace, so run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
self=scripts/test.sh

build=""
stages=()
ctest_args=()
while (($#)); do
  case "$1" in
    --sanitize) stages+=(sanitize) ;;
    --stage=plain|--stage=sanitize|--stage=fuzz|--stage=release) stages+=("${1#*=}") ;;
    --build-dir=*) build="${1#*=}" ;;
    --) shift; ctest_args=("$@"); break ;;
    -h|--help) sed -n '2,25p' "$self"; exit 0 ;;
    *) echo "test.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
((${#stages[@]})) || stages=(plain sanitize fuzz release)
if [[ -n "$build" && ${#stages[@]} -ne 1 ]]; then
  echo "test.sh: --build-dir needs exactly one --stage (plain or sanitize)" >&2
  exit 2
fi

bash scripts/deps.sh

# In the sanitize stage a report ends the reporting process with a non-zero status: a test
# binary's fails its test, offshootd's fails the TestDaemon that ran it, a worker's shows in its
# Exited status and in offshootd's log, which the test harness scans (test_daemon.cpp).
# LeakSanitizer runs at every process's exit. (Workers get their own settings: their
# environment is built from scratch, see daemon/offshoot-worker/main.cpp.)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

run_ctest_build() {  # DIR SANITIZE
  local dir=$1 sanitize=$2
  # OFFSHOOT_SANITIZE is always given, so a build directory never keeps a stale setting.
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOFFSHOOT_SANITIZE="$sanitize" -DOFFSHOOT_WERROR=ON &&
    cmake --build "$dir" -j2 &&
    # --no-tests=error: a filter that matches nothing is a failure, not a pass.
    ctest --test-dir "$dir" --output-on-failure --no-tests=error -j2 "${ctest_args[@]}"
}

# What a packager builds: Release (-O3 brings warnings of its own), product only.
run_release_build() {  # DIR
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Release -DOFFSHOOT_BUILD_TESTS=OFF -DOFFSHOOT_WERROR=ON &&
    cmake --build "$1" -j2
}

# A failed test's output is printed where ctest ran it, which a CI log that keeps only its tail
# loses. At the end each failed test's own output is printed again from ctest's log (no re-run:
# what is shown is the run that failed).
failed_dirs=()
print_failures() {  # DIR
  local log="$1/Testing/Temporary/LastTest.log" list="$1/Testing/Temporary/LastTestsFailed.log"
  [[ -f $log && -f $list ]] || return 0
  local name
  while IFS=: read -r _ name; do
    echo "=== test.sh: output of the failed test $name ($1)"
    awk -v n="$name" '!on { l = $0; if (sub(/^[0-9]+\/[0-9]+ Test: /, "", l) && l == n) on = 1 }
                       on { print } on && /^Test time/ { exit }' "$log" | tail -n 120
  done <"$list"
}

results=()
status=0
for stage in "${stages[@]}"; do
  start=$SECONDS
  echo "=== test.sh: stage $stage"
  case "$stage" in
    plain) run_ctest_build "${build:-build}" OFF ;;
    sanitize) run_ctest_build "${build:-build-asan}" ON ;;
    fuzz) bash scripts/fuzz.sh --regression ;;
    release) run_release_build "${build:-build-release}" ;;
  esac && rc=0 || rc=$?
  ((rc == 0)) || status=1
  if ((rc != 0)) && [[ $stage == plain || $stage == sanitize ]]; then
    failed_dirs+=("${build:-$([[ $stage == plain ]] && echo build || echo build-asan)}")
  fi
  results+=("$(printf '%-9s %-6s %5d s' "$stage" "$([[ $rc == 0 ]] && echo passed || echo FAILED)" $((SECONDS - start)))")
done

for dir in "${failed_dirs[@]}"; do print_failures "$dir"; done
echo "=== test.sh: summary"
printf '  %s\n' "${results[@]}"
exit $status

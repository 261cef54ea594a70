#!/bin/sh
# soak.sh — issue 8's full-count reliability runs, whose figures go in the closing note:
#   10,000 spawn → call → stop → release cycles and 10,000 with a crash instead of the stop
#   (0 zombies, fd count back to baseline, VmRSS growth < 1 MiB, no handle left), and the load
#   test at 50 clients × 1,000 calls. CI runs the same tests at reduced counts (label
#   "reliability"). Needs root, like the test suite.
#
# Usage: scripts/soak.sh [BUILD_DIR]   (default: build-soak; configured and built if needed)
# Environment: SOAK_CYCLES (10000), LOAD_CLIENTS (50), LOAD_CALLS (1000), JOBS (2).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$here/build-soak"}
jobs=${JOBS:-2}

if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOFFSHOOT_BUILD_TESTS=ON
fi
cmake --build "$build" -j"$jobs" --target offshoot-reliability-tests

tests="$build/tests/offshoot-reliability-tests"
[ -x "$tests" ] || tests=$(find "$build" -name offshoot-reliability-tests -type f -perm -u+x | head -n 1)

status=0
echo "== soak: ${SOAK_CYCLES:-10000} cycles each"
OFFSHOOT_SOAK_CYCLES=${SOAK_CYCLES:-10000} "$tests" --gtest_filter='ASoak.*' || status=1
echo "== load: ${LOAD_CLIENTS:-50} clients × ${LOAD_CALLS:-1000} calls"
OFFSHOOT_LOAD_ASSERT_LATENCY=1 OFFSHOOT_LOAD_CLIENTS=${LOAD_CLIENTS:-50} OFFSHOOT_LOAD_CALLS=${LOAD_CALLS:-1000} \
    "$tests" --gtest_filter='ManyConcurrentClients.*' || status=1
[ "$status" -eq 0 ] && echo "== soak.sh: all passed" || echo "== soak.sh: FAILURES (see above)"
exit "$status"

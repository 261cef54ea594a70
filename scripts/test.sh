#!/usr/bin/env bash
# test.sh — the test command: installs what is missing, builds, and runs every test with ctest.
#
#   scripts/test.sh              build/ (RelWithDebInfo)
#   scripts/test.sh --sanitize   build-asan/ with AddressSanitizer + UBSan (-DOFFSHOOT_SANITIZE=ON)
#   scripts/test.sh --build-dir=DIR   another build directory
#   scripts/test.sh … -- ARGS    extra ctest arguments, e.g. -- -R Counter
#
# The exit status is ctest's. Most tests spawn instances as other users, so run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
self=scripts/test.sh

build=""
sanitize=OFF
ctest_args=()
while (($#)); do
  case "$1" in
    --sanitize) sanitize=ON ;;
    --build-dir=*) build="${1#*=}" ;;
    --) shift; ctest_args=("$@"); break ;;
    -h|--help) sed -n '2,9p' "$self"; exit 0 ;;
    *) echo "test.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

if [[ -z "$build" ]]; then
  if [[ "$sanitize" == ON ]]; then build=build-asan; else build=build; fi
fi

bash scripts/deps.sh
# OFFSHOOT_SANITIZE is always given, so a build directory never keeps a stale setting.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOFFSHOOT_SANITIZE="$sanitize"
cmake --build "$build" -j2
exec ctest --test-dir "$build" --output-on-failure -j2 "${ctest_args[@]}"

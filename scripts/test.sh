#!/usr/bin/env bash
# The whole test suite: install what is missing, build normally and with
# ASan+UBSan, run every libFuzzer target for a short bounded time
# (FUZZ_SECONDS each, default 10), then every test (unit, integration with
# swtpm, interop) in both builds.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bash "$src/scripts/deps.sh"

# Everything a test needs is installed now: a test that skips fails.
bash "$src/scripts/build.sh" "$src/build" -DATTEST_TESTS_STRICT=ON
bash "$src/scripts/build.sh" "$src/build-asan" -DATTEST_SANITIZE=ON -DATTEST_TESTS_STRICT=ON

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
echo "==== fuzzing, ${FUZZ_SECONDS:-10} s per target"
bash "$src/scripts/fuzz.sh" "${FUZZ_SECONDS:-10}" || status=1
echo "==== tests under ASan+UBSan"
(cd "$src/build-asan" && ctest --output-on-failure -j2 --timeout 600) || status=1
echo "==== tests (normal build)"
(cd "$src/build" && ctest --output-on-failure -j2 --timeout 600) || status=1
exit $status

#!/usr/bin/env bash
# fuzz.sh [SECONDS] [TARGET...]: build the libFuzzer targets (clang,
# -DATTEST_FUZZ=ON, ASan+UBSan) into build-fuzz/ (FUZZ_BUILD_DIR to change),
# make the seed corpora (fuzz/seeds.sh) and run each target for SECONDS
# (default 20; all targets when none is named), one after the other.
# Fails when a target crashes, leaks or breaks a FUZZ_CHECK; the input that
# did is saved as build-fuzz/fuzz-crashes/<target>/crash-*. Keep it as a
# regression: copy it to fuzz/regressions/<target>/ once fixed
# (tests/unit/test_fuzz_regressions.c replays those in every test run).
# Corpora grow in build-fuzz/fuzz-corpus/<target>/ and are reused by the
# next run. Longer runs: `scripts/fuzz.sh 3600 eventlog`, or the binary
# itself: build-fuzz/fuzz/fuzz_eventlog -jobs=2 build-fuzz/fuzz-corpus/eventlog
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-20}
shift || true
build=${FUZZ_BUILD_DIR:-$src/build-fuzz}
all=(tpmpub quote eventlog ima policy_json verifier_config attestor_config ekcert verifier_push
	attestor_requests session_ids logpolicy)
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=("${all[@]}")

bash "$src/scripts/deps.sh"
mkdir -p "$build"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DATTEST_FUZZ=ON -DATTEST_WERROR=ON \
	>"$build/cmake.log" 2>&1 || { cat "$build/cmake.log" >&2; exit 1; }
cmake --build "$build" -j2 --target fuzz_mkseeds "${targets[@]/#/fuzz_}" >"$build/fuzz-build.log" 2>&1 ||
	{ tail -n 40 "$build/fuzz-build.log" >&2; exit 1; }
bash "$src/fuzz/seeds.sh" "$build" >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
passed=0
for t in "${targets[@]}"; do
	corpus=$build/fuzz-corpus/$t
	crashes=$build/fuzz-crashes/$t
	mkdir -p "$corpus" "$crashes"
	log=$build/fuzz-$t.log
	# -rss_limit_mb: the parsers' own limits allow large allocations (an IMA
	# chunk may be 128 MiB); 4 GiB still catches a runaway.
	if "$build/fuzz/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=4096 -timeout=25 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "$build/fuzz-seeds/$t" >"$log" 2>&1; then
		runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*' || echo "?")
		echo "fuzz $t: ok, $runs runs in ${secs}s ($((${runs:-0} / secs)) exec/s), coverage $cov"
		passed=$((passed + 1))
	else
		echo "fuzz $t: FAILED (log $log, input in $crashes/)" >&2
		grep -m 5 -E 'ERROR|SUMMARY|invariant|runtime error' "$log" >&2 || tail -n 20 "$log" >&2
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

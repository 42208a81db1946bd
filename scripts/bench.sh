#!/usr/bin/env bash
# The pull-exchange benchmark: install what is missing, build (RelWithDebInfo),
# provision a throwaway swtpm (RSA EK cert from swtpm's local CA, plus a P-256
# EK and cert), make a demo mTLS PKI, then run bench/bench_pull: the verifier's
# pull driver against the attestor's pull service (a thread of the same
# process) for each AK/EK configuration, timing each stage beside the TPM
# commands the attestor sent. Prints a table; JSON goes to build/bench-pull.json.
# A second run delivers one AES-256 and one RSA-2048 secret in every exchange
# (JSON: build/bench-pull-secrets.json; SECRET_CONFIGS="ecc/rsa ecc/ecc").
# Last, bench_replay: boot event log and IMA replay throughput on one core
# (with a 10,000-path IMA allowlist) beside OpenSSL's SHA-256 in the same run.
#   RUNS=200 (exchanges per configuration)  AK_RUNS=10 (AK creations)
#   CONFIGS="ecc/rsa rsa/rsa ecc/ecc rsa/ecc" (AK/EK)  JSON=build/bench-pull.json
#   CHECK_RATIO=1.3: exit 3 when an ECC-AK exchange exceeds 1.3x its TPM time
#   SECRET_RUNS=50 (exchanges with secrets per configuration)
#   BENCH_PREFIX="perf record -g -o /tmp/perf.data": run bench_pull under a profiler
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bash "$src/scripts/deps.sh"
bash "$src/scripts/build.sh" "$src/build" >/dev/null
echo "build: ok ($src/build)"

SOURCE_DIR=$src BUILD_DIR=$src/build
# The integration test library provisions swtpm and cleans up on exit.
. "$src/tests/integration/lib.sh"
. "$src/scripts/bench_setup.sh"
bench_pull_setup

args=()
for c in ${CONFIGS:-ecc/rsa rsa/rsa ecc/ecc rsa/ecc}; do args+=(--config "$c"); done
[ -n "${CHECK_RATIO:-}" ] && args+=(--check-ratio "$CHECK_RATIO")
json=${JSON:-$src/build/bench-pull.json}
${BENCH_PREFIX:-} "$BUILD_DIR/bench/bench_pull" --verifier-config "$WORK/verifier.conf" --tcti "$TCTI" \
	--pki "$WORK/pki" --runs "${RUNS:-200}" --ak-runs "${AK_RUNS:-10}" --json "$json" "${args[@]}"

# The exchange with secret delivery: one AES-256 key and one RSA-2048 key,
# wrapped for the EK, imported, used once under their PCR policy for the proof.
{ cat "$WORK/verifier.conf"; bench_secret aes; bench_secret rsa; } >"$WORK/verifier-secrets.conf"
mkdir -p "$WORK/attestor-state"
args=()
for c in ${SECRET_CONFIGS:-ecc/rsa ecc/ecc}; do args+=(--config "$c"); done
echo
echo "== with secret delivery (one AES-256, one RSA-2048 per exchange)"
${BENCH_PREFIX:-} "$BUILD_DIR/bench/bench_pull" --verifier-config "$WORK/verifier-secrets.conf" --tcti "$TCTI" \
	--pki "$WORK/pki" --state-dir "$WORK/attestor-state" --runs "${SECRET_RUNS:-50}" --ak-runs 1 \
	--json "${JSON_SECRETS:-$src/build/bench-pull-secrets.json}" "${args[@]}"

echo
echo "== measurement log replay (one core)"
taskset -c 0 "$BUILD_DIR/bench/bench_replay" "$TESTDATA_DIR/eventlog/tpm2tools-event-gce-ubuntu-2104-log.bin" \
	"$TESTDATA_DIR/ima/acs-imasig.bin" --allowlist 10000 2>&1 | grep -v " warn "
taskset -c 0 "$BUILD_DIR/bench/bench_replay" "$TESTDATA_DIR/eventlog/rustkeylime-uefi_log.bin" \
	"$TESTDATA_DIR/ima/acs-imasig.bin" --allowlist 10000 --rounds 3 2>&1 | grep -A6 "^boot log"

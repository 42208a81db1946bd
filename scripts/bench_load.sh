#!/usr/bin/env bash
# The push-mode verifier under load (issue #6): build (RelWithDebInfo), make a
# throwaway mTLS PKI, then run bench/bench_push_load, which starts the real
# `verifier serve` (push, mTLS, SQLite) as its own process and drives it with
# simulated nodes (tests/simtpm: software TPMs with RSA-2048 EKs certified by a
# throwaway CA and RSA-2048 AKs; for load only). For each node count: enroll
# every node once, then re-attest them round-robin for SECONDS. Prints a table
# (attestations/s, latency, RPCs per attestation, failures, the verifier's CPU
# per attestation and RSS) beside `openssl speed rsa2048` from the same run,
# and writes JSON. Exits non-zero when any attestation failed or the
# verifier's database disagrees with the count.
#   NODES="1000 10000"  SECONDS=20 (re-attestation phase, per node count; or BENCH_SECONDS)
#   THREADS=8 (client threads)  CHANNELS= (gRPC channels; default THREADS/4)
#   EK_ALG=rsa|ecc  PCRS=sha256:0-7  LOG_LEVEL=info (the verifier's)
#   VERIFIER_THREADS= (`threads =` in the verifier's config; unset: its default)
#   POLICIES=100 GROUPS_N=10: after enrolling, spread the nodes over named policies and
#     groups (issue #15), check the verdicts name them, and time a dry run over them
#   OPERATOR=1: the verifier also serves the Admin service and the dashboard (idle)
#   RESULTS=0: the verifier signs no attestation results ([results] sign = false)
#   JSON=BUILD/bench-push-load.json  BUILD=build-load (build directory)
#   BENCH_PREFIX="perf record -g -o /tmp/perf.data": run the bench under a tool
# About 2.5 minutes with the defaults on 2 cores (setup of 10,000 nodes ~20 s);
# nothing is cached between runs.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build-load}
# SECONDS is bash's own clock (it counts up from the value it was given):
# take the caller's value from this process's original environment.
secs=$(tr '\0' '\n' </proc/$$/environ | sed -n 's/^SECONDS=//p')
secs=${secs:-${BENCH_SECONDS:-20}}
bash "$src/scripts/deps.sh" >/dev/null
bash "$src/scripts/build.sh" "$build" >/dev/null
echo "build: ok ($build)"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-load.XXXXXX")
trap 'rm -rf "$work"' EXIT
bash "$src/certs/mkpki.sh" "$work/pki" >/dev/null

args=()
for n in ${NODES:-1000 10000}; do args+=(--nodes "$n"); done
[ -n "${CHANNELS:-}" ] && args+=(--channels "$CHANNELS")
[ -n "${VERIFIER_THREADS:-}" ] && args+=(--verifier-threads "$VERIFIER_THREADS")
[ -n "${POLICIES:-}" ] && args+=(--policies "$POLICIES" --groups "${GROUPS_N:-10}")
[ "${OPERATOR:-0}" = 1 ] && args+=(--operator-services)
[ "${RESULTS:-1}" = 0 ] && args+=(--no-results)
json=${JSON:-$build/bench-push-load.json}
${BENCH_PREFIX:-} "$build/bench/bench_push_load" --verifier "$build/verifier" --pki "$work/pki" --work "$work" \
	--seconds "$secs" --threads "${THREADS:-8}" --ek-alg "${EK_ALG:-rsa}" --pcrs "${PCRS:-sha256:0-7}" \
	--log-level "${LOG_LEVEL:-info}" --json "$json" "${args[@]}"

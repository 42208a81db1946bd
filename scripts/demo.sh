#!/usr/bin/env bash
# One full pull-mode attestation on loopback: install what is missing, build,
# provision a throwaway swtpm (EK certificates from swtpm's local CA), make a
# demo mTLS PKI, start the attestor, and run the verifier against it.
# Everything lives in a temp dir that is removed at the end.
#   AK_ALG=rsa|ecc (default ecc)   EK_ALG=rsa|ecc (default rsa)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bash "$src/scripts/deps.sh"
bash "$src/scripts/build.sh" "$src/build" >/dev/null
echo "build: ok ($src/build)"

SOURCE_DIR=$src BUILD_DIR=$src/build
# The integration test library provisions swtpm and cleans up on exit.
. "$src/tests/integration/lib.sh"

step() { printf '%-44s' "$1"; }
t0=$(date +%s%N)
step "provision swtpm (EK certs, local CA)"
swtpm_start tpm
[ "${EK_ALG:-rsa}" = ecc ] && swtpm_add_p256_ek
pcr_extend_some
echo "ok  ($(( ($(date +%s%N) - t0) / 1000000 )) ms, $TCTI)"

step "demo mTLS PKI"
pki_make "$WORK/pki"
echo "ok  ($WORK/pki)"

port=$(free_port)
cat >"$WORK/attestor.conf" <<CONF
[attestor]
mode = pull
listen = 127.0.0.1:$port
tcti = $TCTI
; swtpm, not this machine's TPM: not this machine's measurement logs either
event_log =
ima_log =
ak_alg = ${AK_ALG:-ecc}
ek_alg = ${EK_ALG:-rsa}
state_dir = $WORK/attestor-state
[tls]
ca = $WORK/pki/ca.pem
cert = $WORK/pki/attestor.pem
key = $WORK/pki/attestor.key
; answer only the demo PKI's verifier (its certificate's first subjectAltName)
verifier_identity = verifier
CONF
cat >"$WORK/verifier.conf" <<CONF
[verifier]
mode = pull
ek_roots = $EK_ROOTS
ek_alg = ${EK_ALG:-rsa}
pcrs = sha256:0-7+sha1:0-7
ak_alg = ${AK_ALG:-ecc}
[tls]
ca = $WORK/pki/ca.pem
cert = $WORK/pki/verifier.pem
key = $WORK/pki/verifier.key
[policy]
; the reference this node is judged by: its PCRs as provisioned above (a real
; fleet takes them from a known-good machine or its vendor)
$PCR_REF
CONF
mkdir -p "$WORK/attestor-state"
step "start attestor (pull mode, mTLS)"
bg attestor "$BUILD_DIR/attestor" --config "$WORK/attestor.conf"
wait_port "$port"
echo "ok  (127.0.0.1:$port)"

echo "---- verifier attest 127.0.0.1:$port"
set +e
"$BUILD_DIR/verifier" attest --config "$WORK/verifier.conf" "127.0.0.1:$port"
rc=$?
set -e
echo "----"
if [ $rc -eq 0 ]; then echo "demo: attestation PASSED"; else echo "demo: attestation FAILED (exit $rc)"; fi
exit $rc

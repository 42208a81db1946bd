#!/usr/bin/env bash
# The main job, on loopback, in one command: install what is missing, build,
# provision a throwaway swtpm (EK certificates from swtpm's local CA), make a
# demo mTLS PKI, then
#   1. pull: the verifier attests the attestor and delivers an AES-256 key
#      sealed to the host's PCRs; the host unseals it in its TPM
#   2. push: the attestor connects to a verifier service and passes
#   3. a PCR changes (as a tampered boot would): the node fails, and the
#      TPM refuses to unseal the key
# Everything lives in a temp dir that is removed at the end. Exit 0 when each
# step ended as it should.
#   AK_ALG=rsa|ecc (default ecc)   EK_ALG=rsa|ecc (default rsa)
#   DEMO_BUILD_DIR=DIR: use the programs built there, install and build nothing
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${DEMO_BUILD_DIR:-}" ]; then
	bash "$src/scripts/deps.sh"
	bash "$src/scripts/build.sh" "$src/build" >/dev/null
	echo "build: ok ($src/build)"
fi

SOURCE_DIR=$src BUILD_DIR=${DEMO_BUILD_DIR:-$src/build}
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
[secret disk]
; a disk key for the host, sealed to its PCRs 0-7 as the passing quote shows them
kind = aes256
key = $WORK/disk.key
pcrs = sha256:0-7
CONF
(umask 077; openssl rand 32 >"$WORK/disk.key")
disk_hex=$(od -An -tx1 -v "$WORK/disk.key" | tr -d ' \n')
mkdir -p "$WORK/attestor-state"
step "start attestor (pull mode, mTLS)"
bg attestor "$BUILD_DIR/attestor" --config "$WORK/attestor.conf"
attestor_pid=$BG_PID
wait_port "$port"
echo "ok  (127.0.0.1:$port)"

bad=0
expect() { # WHAT OK: one line saying whether a step ended as it should
	if [ "$2" = 1 ]; then echo "demo: $1"; else echo "demo: UNEXPECTED: $1"; bad=1; fi
}

echo "---- 1. pull: verifier attest 127.0.0.1:$port"
rc=0
"$BUILD_DIR/verifier" attest --config "$WORK/verifier.conf" "127.0.0.1:$port" || rc=$?
echo "----"
expect "attestation PASSED (exit $rc), the disk key delivered" "$([ $rc -eq 0 ] && echo 1)"
kill "$attestor_pid"; wait "$attestor_pid" 2>/dev/null || true # swtpm serves one client at a time
got=$("$BUILD_DIR/attestor" unseal disk --config "$WORK/attestor.conf" 2>"$WORK/unseal.err") || got=
expect "the host unsealed the disk key in its TPM: ${got:0:16}... (the verifier's: ${disk_hex:0:16}...)" \
	"$([ "$got" = "$disk_hex" ] && echo 1)"

echo "---- 2. push: the attestor connects to a verifier service"
vport=$(free_port)
mkdir -p "$WORK/verifier-state"
sed -e "s|^mode = pull$|mode = push\nlisten = 127.0.0.1:$vport\nstate_dir = $WORK/verifier-state|" \
	"$WORK/verifier.conf" >"$WORK/verifier-push.conf"
bg verifier "$BUILD_DIR/verifier" serve --config "$WORK/verifier-push.conf"
wait_port "$vport"
sed -e "s/^mode = pull$/mode = push/; s/^listen = .*/verifier = 127.0.0.1:$vport/" \
	-e "s/^verifier_identity = .*/server_name = verifier/" "$WORK/attestor.conf" >"$WORK/attestor-push.conf"
rc=0
"$BUILD_DIR/attestor" --config "$WORK/attestor-push.conf" --once --wait 20 2>"$WORK/push1.err" || rc=$?
grep -m1 "attestation " "$WORK/push1.err" || true
expect "push attestation PASSED (exit $rc)" "$([ $rc -eq 0 ] && echo 1)"

echo "---- 3. PCR 7 changes (a tampered boot would change it)"
tpm2_pcrextend "7:sha256=$(printf 'ab%.0s' {1..32})"
rc=0
"$BUILD_DIR/attestor" --config "$WORK/attestor-push.conf" --once --wait 20 2>"$WORK/push2.err" || rc=$?
grep -m1 "^FAIL" "$WORK/push2.err" || true
expect "the node FAILED its attestation (exit $rc)" "$([ $rc -eq 1 ] && echo 1)"
"$BUILD_DIR/verifier" status --config "$WORK/verifier-push.conf" | grep -E "^[0-9a-f]{16}  " || true
rc=0
"$BUILD_DIR/attestor" unseal disk --config "$WORK/attestor.conf" >/dev/null 2>"$WORK/unseal2.err" || rc=$?
sed 's/^/  /' "$WORK/unseal2.err"
expect "the TPM refused to unseal the disk key (exit $rc)" \
	"$([ $rc -ne 0 ] && grep -q "PCR policy is no longer met" "$WORK/unseal2.err" && echo 1)"
echo "----"
if [ $bad -eq 0 ]; then echo "demo: every step ended as it should"; else echo "demo: a step did not end as it should"; fi
exit $bad

#!/bin/bash
# Pull mode end to end through the real binaries: swtpm + attestor serving over
# mutual TLS, `verifier attest` driving the whole exchange (endorsement with the
# swtpm EK certificate, AK admission, credential activation, quote over PCRs
# extended beforehand, static PCR policy). Matrix: AK ecc/rsa x EK rsa/ecc
# (the ECC P-256 EK certified by a test CA at NV 0x01c0000a). Also: the
# verifier binary does not link tss2-esys. With the RSA EK the swtpm platform
# certificate is required and checked too.
. "${SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_createek tpm2_pcrextend tpm2_pcrread tpm2_flushcontext openssl od ldd

ATTESTOR=$BUILD_DIR/attestor
VERIFIER=$BUILD_DIR/verifier
[ -x "$ATTESTOR" ] || fail "$ATTESTOR not built"
[ -x "$VERIFIER" ] || fail "$VERIFIER not built"

# The verifier runs on machines without a TPM stack: no ESYS, ever.
# (captured first: under pipefail, grep -q closing the pipe early makes ldd fail with SIGPIPE)
libs=$(ldd "$VERIFIER")
if grep -q 'libtss2-esys' <<<"$libs"; then fail "verifier links libtss2-esys"; fi
grep -q 'libtss2-mu' <<<"$libs" || fail "verifier does not link libtss2-mu (ldd output changed?)"
ok "verifier links tss2-mu but not tss2-esys"

# Usage and configuration errors exit 2.
rc=0; "$VERIFIER" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "no arguments: exit $rc, want 2"
grep -q 'attest --config FILE HOST:PORT' <<<"$("$VERIFIER" --help)" || fail "--help does not describe attest"
rc=0; "$VERIFIER" attest --config "$WORK/none.conf" 127.0.0.1:1 2>"$WORK/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "none.conf: cannot open" "$WORK/err" || fail "missing config: exit $rc, $(cat "$WORK/err")"
ok "usage and missing config exit 2"

swtpm_start tpm
swtpm_add_p256_ek
pcr_extend_some
pki_make "$WORK/pki"

# Expected values for the policy, read before any attestor holds the TPM.
pcr_hex() { # BANK INDEX
	tpm2_pcrread "$1:$2" -o "$WORK/pcr.bin" >/dev/null
	od -An -tx1 -v "$WORK/pcr.bin" | tr -d ' \n'
}
SHA256_0=$(pcr_hex sha256 0)
SHA1_7=$(pcr_hex sha1 7)
[ "$SHA256_0" != "$(printf '0%.0s' {1..64})" ] || fail "PCR 0 was not extended"

# stop PID: end one background process and wait, so the TPM connection is free.
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

for ek in rsa ecc; do
	for ak in ecc rsa; do
		name=$ek-$ak
		port=$(free_port)
		mkdir -p "$WORK/$name"
		cat >"$WORK/$name/attestor.conf" <<CONF
[attestor]
mode = pull
listen = 127.0.0.1:$port
tcti = $TCTI
ak_alg = $ak
ek_alg = $ek
state_dir = $WORK/$name/state
log_level = info
[tls]
ca = $WORK/pki/ca.pem
cert = $WORK/pki/attestor.pem
key = $WORK/pki/attestor.key
CONF
		mkdir -p "$WORK/$name/state"
		# swtpm's platform certificate certifies its RSA EK, signed by its local CA.
		platform=""
		if [ "$ek" = rsa ]; then platform="platform_ca = $EK_ROOTS
require_platform_cert = true"; fi
		cat >"$WORK/$name/verifier.conf" <<CONF
[verifier]
mode = pull
ek_roots = $EK_ROOTS
ek_alg = $ek
require_ek_cert = true
$platform
pcrs = sha256:0-7+sha1:0-7
ak_alg = $ak
nonce_ttl = 30
timeout_ms = 20000
log_level = warn
[tls]
ca = $WORK/pki/ca.pem
cert = $WORK/pki/verifier.pem
key = $WORK/pki/verifier.key
[policy]
sha256.0 = $SHA256_0
sha1.7 = $SHA1_7
CONF
		bg "attestor-$name" "$ATTESTOR" --config "$WORK/$name/attestor.conf"
		apid=$BG_PID
		wait_port "$port"
		rc=0
		"$VERIFIER" attest --config "$WORK/$name/verifier.conf" "127.0.0.1:$port" \
			>"$WORK/$name/out" 2>"$WORK/$name/err" || rc=$?
		stop "$apid"
		[ "$rc" -eq 0 ] || fail "$name: exit $rc: $(cat "$WORK/$name/out" "$WORK/$name/err")"
		for stage in endorsement ak activation quote; do
			grep -q "^$stage  *ok " "$WORK/$name/out" || fail "$name: no '$stage ok' line: $(cat "$WORK/$name/out")"
		done
		grep -q "^PASS 127.0.0.1:$port resetCount [0-9]* restartCount [0-9]*" "$WORK/$name/out" ||
			fail "$name: no PASS line: $(cat "$WORK/$name/out")"
		ok "ek $ek, ak $ak: $(tail -n 1 "$WORK/$name/out")"
	done
done

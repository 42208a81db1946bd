#!/bin/bash
# modes: pull push
# End to end through the real binaries in $MODE: swtpm, attestor and verifier
# over mutual TLS, the whole exchange (endorsement with the swtpm EK
# certificate, AK admission, credential activation, quote over PCRs extended
# beforehand, static PCR policy). Matrix: AK ecc/rsa x EK rsa/ecc (the ECC
# P-256 EK certified by a test CA at NV 0x01c0000a). With the RSA EK the swtpm
# platform certificate is required and checked too. Also: the verifier binary
# does not link tss2-esys.
. "${SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_createek tpm2_pcrextend tpm2_pcrread tpm2_flushcontext openssl od ldd
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"
VERIFIER=$BUILD_DIR/verifier

# The verifier runs on machines without a TPM stack: no ESYS, ever.
# (captured first: under pipefail, grep -q closing the pipe early makes ldd fail with SIGPIPE)
libs=$(ldd "$VERIFIER")
if grep -q 'libtss2-esys' <<<"$libs"; then fail "verifier links libtss2-esys"; fi
grep -q 'libtss2-mu' <<<"$libs" || fail "verifier does not link libtss2-mu (ldd output changed?)"
ok "verifier links tss2-mu but not tss2-esys"

# Usage and configuration errors exit 2.
rc=0; "$VERIFIER" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "no arguments: exit $rc, want 2"
grep -q 'attest --config FILE .*HOST:PORT' <<<"$("$VERIFIER" --help)" || fail "--help does not describe attest"
grep -q 'serve --config FILE' <<<"$("$VERIFIER" --help)" || fail "--help does not describe serve"
rc=0; "$VERIFIER" attest --config "$WORK/none.conf" 127.0.0.1:1 2>"$WORK/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "none.conf: cannot open" "$WORK/err" || fail "missing config: exit $rc, $(cat "$WORK/err")"
ok "usage and missing config exit 2"
# Every command answers --help with its usage, exit 0.
for cmd in attest serve eventlog list status enroll remove rejected; do
	out=$("$VERIFIER" "$cmd" --help) || fail "verifier $cmd --help: exit $?"
	grep -q "^usage: verifier $cmd " <<<"$out" || fail "verifier $cmd --help: '$out'"
done
for cmd in serve unseal sign secrets; do
	out=$("$BUILD_DIR/attestor" "$cmd" --help) || fail "attestor $cmd --help: exit $?"
	grep -q "^usage: attestor" <<<"$out" || fail "attestor $cmd --help: '$out'"
done
ok "every command's --help"

swtpm_start tpm
swtpm_add_p256_ek
pcr_extend_some
pki_make "$WORK/pki"
. "$SOURCE_DIR/tests/integration/modes.sh"

# Expected values for the policy, read while no attestor holds the TPM.
pcr_hex() { # BANK INDEX
	tpm2_pcrread "$1:$2" -o "$WORK/pcr.bin" >/dev/null
	od -An -tx1 -v "$WORK/pcr.bin" | tr -d ' \n'
}
SHA256_0=$(pcr_hex sha256 0)
SHA1_7=$(pcr_hex sha1 7)
[ "$SHA256_0" != "$(printf '0%.0s' {1..64})" ] || fail "PCR 0 was not extended"
A_POLICY="sha256.0 = $SHA256_0
sha1.7 = $SHA1_7"

for A_EK in rsa ecc; do
	for A_AK in ecc rsa; do
		# swtpm's platform certificate certifies its RSA EK, signed by its local CA.
		A_VEXTRA=""
		if [ "$A_EK" = rsa ]; then A_VEXTRA="platform_ca = $EK_ROOTS
require_platform_cert = true"; fi
		name=$A_EK-$A_AK
		expect_pass "$name"
		if [ "$MODE" = pull ]; then
			for stage in endorsement ak activation quote; do
				grep -q "^$stage  *ok " "$WORK/$name/out" ||
					fail "$name: no '$stage ok' line: $(cat "$WORK/$name/out")"
			done
		fi
		grep -q "^PASS .*resetCount [0-9]* restartCount [0-9]*" "$WORK/$name/out" ||
			fail "$name: PASS line without the clock: $(cat "$WORK/$name/out")"
		# The verdict is in the verifier's database, with the node it names.
		"$VERIFIER" list --config "$WORK/$name/verifier.conf" >"$WORK/$name/list" ||
			fail "$name: verifier list: $(cat "$WORK/$name/list")"
		grep -q "^1 nodes: 1 passing, 0 failed; verdicts recorded: 1 pass, 0 fail$" "$WORK/$name/list" ||
			fail "$name: verifier list: $(cat "$WORK/$name/list")"
		ok "$MODE, ek $A_EK, ak $A_AK: $(tail -n 1 "$WORK/$name/out")"
	done
done

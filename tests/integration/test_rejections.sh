#!/bin/bash
# modes: pull push
# Rejections through the real binaries in $MODE (swtpm + attestor + verifier
# over mutual TLS): each attestation must fail with exit 1 and name the failed
# check on one line of stderr, the same words in both modes.
#  - EK trust roots that do not hold the swtpm CA -> the EK certificate chain
#  - a [policy] value that is not the TPM's sha256 PCR 0 -> PCR 0 bank sha256
#  - the connecting side presents a certificate from another CA -> transport
#  - a PCR extended after the policy was written -> PCR 0 bank sha256
#  - an unknown configuration key -> exit 2 with FILE:LINE
. "${SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend tpm2_pcrread openssl od
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

swtpm_start tpm
pcr_extend_some
pki_make "$WORK/pki"
. "$SOURCE_DIR/tests/integration/modes.sh"

tpm2_pcrread sha256:0 -o "$WORK/pcr0.bin" >/dev/null
SHA256_0=$(od -An -tx1 -v "$WORK/pcr0.bin" | tr -d ' \n')
# The same value with its last bit flipped: what a tampered boot would show.
WRONG_0=${SHA256_0:0:63}$(printf '%x' $(( 0x${SHA256_0:63:1} ^ 1 )))

# A trust store with real vendor roots but not swtpm's CA.
mkdir -p "$WORK/vendor-roots"
cp "$TESTDATA_DIR"/ek-roots/* "$WORK/vendor-roots/"

# The good configuration passes first, so each failure below has one cause.
A_POLICY="sha256.0 = $SHA256_0"
expect_pass good
ok "good configuration passes ($MODE)"

A_ROOTS=$WORK/vendor-roots
expect_fail roots 1 "^FAIL endorsement: EK certificate not trusted"
A_ROOTS=$EK_ROOTS

A_POLICY="sha256.0 = $WRONG_0"
expect_fail policy 1 "^FAIL quote: PCR value differs from policy: PCR 0 bank sha256"
# The failure and its reason are in the verifier's database.
rc=0; "$BUILD_DIR/verifier" status --config "$WORK/policy/verifier.conf" "$(hostname)" >"$WORK/policy/status" || rc=$?
[ "$rc" -eq 1 ] && grep -q "^why       PCR value differs from policy: PCR 0 bank sha256" "$WORK/policy/status" ||
	fail "verifier status after the policy failure: exit $rc: $(cat "$WORK/policy/status")"
ok "verifier status ($MODE): $(grep '^why' "$WORK/policy/status")"
A_POLICY="sha256.0 = $SHA256_0"

# The side that connects presents a certificate from another CA.
if [ "$MODE" = pull ]; then
	A_VCERT=rogue
	expect_fail rogue 1 "^FAIL endorsement: transport error"
	A_VCERT=verifier
else
	A_WAIT=2
	A_ACERT=rogue
	expect_fail rogue 1 "^FAIL transport: "
	A_ACERT=attestor
	A_WAIT=20
fi

expect_pass good2
ok "good configuration still passes after the rejections ($MODE)"

# A PCR extended after the policy was written: the next attestation fails.
tpm2_pcrextend "0:sha256=$(printf 'rootkit' | sha256sum | cut -d' ' -f1)" >/dev/null
expect_fail extended 1 "^FAIL quote: PCR value differs from policy: PCR 0 bank sha256"

printf '[verifier]\nmode = %s\nek_rots = x\n' "$MODE" >"$WORK/typo.conf"
rc=0
if [ "$MODE" = pull ]; then
	"$BUILD_DIR/verifier" attest --config "$WORK/typo.conf" 127.0.0.1:1 2>"$WORK/typo.err" || rc=$?
else
	"$BUILD_DIR/verifier" serve --config "$WORK/typo.conf" 2>"$WORK/typo.err" || rc=$?
fi
[ "$rc" -eq 2 ] && grep -q "typo.conf:3: unknown key 'ek_rots' in \[verifier\]" "$WORK/typo.err" ||
	fail "typo: exit $rc: $(cat "$WORK/typo.err")"
ok "typo in the verifier configuration: $(cat "$WORK/typo.err")"

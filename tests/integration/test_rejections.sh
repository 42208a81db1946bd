#!/bin/bash
# Pull mode rejections through the real binaries (swtpm + attestor over mutual
# TLS + `verifier attest`): each must exit 1 and name the failed check on one
# line of stderr.
#  - EK trust roots that do not hold the swtpm CA -> the EK certificate chain
#  - a [policy] value that is not the TPM's sha256 PCR 0 -> PCR 0 bank sha256
#  - the verifier presenting a client certificate from another CA -> transport error
#  - an unknown configuration key -> exit 2 with FILE:LINE
. "${SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend tpm2_pcrread openssl od

ATTESTOR=$BUILD_DIR/attestor
VERIFIER=$BUILD_DIR/verifier
[ -x "$ATTESTOR" ] || fail "$ATTESTOR not built"
[ -x "$VERIFIER" ] || fail "$VERIFIER not built"

swtpm_start tpm
pcr_extend_some
pki_make "$WORK/pki"
tpm2_pcrread sha256:0 -o "$WORK/pcr0.bin" >/dev/null
SHA256_0=$(od -An -tx1 -v "$WORK/pcr0.bin" | tr -d ' \n')
# The same value with its last bit flipped: what a tampered boot would show.
WRONG_0=${SHA256_0:0:63}$(printf '%x' $(( 0x${SHA256_0:63:1} ^ 1 )))

# A trust store with real vendor roots but not swtpm's CA.
mkdir -p "$WORK/vendor-roots"
cp "$TESTDATA_DIR"/ek-roots/* "$WORK/vendor-roots/"

port=$(free_port)
cat >"$WORK/attestor.conf" <<CONF
[attestor]
mode = pull
listen = 127.0.0.1:$port
tcti = $TCTI
ak_alg = ecc
ek_alg = rsa
state_dir = $WORK/state
[tls]
ca = $WORK/pki/ca.pem
cert = $WORK/pki/attestor.pem
key = $WORK/pki/attestor.key
CONF
mkdir -p "$WORK/state"
bg attestor "$ATTESTOR" --config "$WORK/attestor.conf"
wait_port "$port"

# vconf NAME EK_ROOTS CERT KEY POLICY_SHA256_0: write $WORK/NAME.conf
vconf() {
	cat >"$WORK/$1.conf" <<CONF
[verifier]
ek_roots = $2
ek_alg = rsa
ak_alg = ecc
pcrs = sha256:0-7+sha1:0-7
timeout_ms = 20000
log_level = error
[tls]
ca = $WORK/pki/ca.pem
cert = $3
key = $4
[policy]
sha256.0 = $5
CONF
}

# expect_fail NAME EXIT PATTERN: run the verifier with $WORK/NAME.conf.
expect_fail() {
	local name=$1 want=$2 pattern=$3 rc=0
	"$VERIFIER" attest --config "$WORK/$name.conf" "127.0.0.1:$port" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
	[ "$rc" -eq "$want" ] || fail "$name: exit $rc, want $want: $(cat "$WORK/$name.out" "$WORK/$name.err")"
	grep -q -- "$pattern" "$WORK/$name.err" || fail "$name: stderr does not say '$pattern': $(cat "$WORK/$name.err")"
	ok "$name: $(grep -- "$pattern" "$WORK/$name.err" | head -n 1)"
}

# The good configuration passes first, so each failure below has one cause.
vconf good "$EK_ROOTS" "$WORK/pki/verifier.pem" "$WORK/pki/verifier.key" "$SHA256_0"
rc=0
"$VERIFIER" attest --config "$WORK/good.conf" "127.0.0.1:$port" >"$WORK/good.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "good configuration: exit $rc: $(cat "$WORK/good.out")"
ok "good configuration passes"

vconf roots "$WORK/vendor-roots" "$WORK/pki/verifier.pem" "$WORK/pki/verifier.key" "$SHA256_0"
expect_fail roots 1 "^FAIL endorsement: EK certificate not trusted"

vconf policy "$EK_ROOTS" "$WORK/pki/verifier.pem" "$WORK/pki/verifier.key" "$WRONG_0"
expect_fail policy 1 "^FAIL quote: PCR value differs from policy: PCR 0 bank sha256"

vconf rogue "$EK_ROOTS" "$WORK/pki/rogue.pem" "$WORK/pki/rogue.key" "$SHA256_0"
expect_fail rogue 1 "^FAIL endorsement: transport error"

# The attestor kept serving through all of that.
rc=0
"$VERIFIER" attest --config "$WORK/good.conf" "127.0.0.1:$port" >"$WORK/good2.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "good configuration after the rejections: exit $rc: $(cat "$WORK/good2.out")"
ok "good configuration still passes"

# A PCR extended after the policy was written: the next attestation fails.
# (The attestor holds the TPM connection, so extend through a second verifier
# run is impossible; stop it, extend, restart.)
kill "$BG_PID"; wait "$BG_PID" 2>/dev/null || true
tpm2_pcrextend "0:sha256=$(printf 'rootkit' | sha256sum | cut -d' ' -f1)" >/dev/null
bg attestor2 "$ATTESTOR" --config "$WORK/attestor.conf"
wait_port "$port"
expect_fail good 1 "^FAIL quote: PCR value differs from policy: PCR 0 bank sha256"

printf '[verifier]\nmode = pull\nek_rots = x\n' >"$WORK/typo.conf"
expect_fail typo 2 "typo.conf:3: unknown key 'ek_rots' in \[verifier\]"

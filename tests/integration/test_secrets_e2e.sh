#!/bin/bash
# modes: pull push
# Secret delivery end to end in $MODE: after a passing quote the verifier
# wraps an AES-256 key and an RSA-2048 signing key for the host's EK under a
# PCR policy (PCRs the verifier's reference fixes, with the values the passing
# quote showed; PolicyPCR + PolicyCommandCode), the
# attestor imports them into its TPM and proves receipt (HMAC / signature over
# a fresh challenge), and keeps them TPM-wrapped: `attestor unseal` and
# `attestor sign` work while the PCRs hold and refuse once one changes. The
# authPolicy of each stored secret is the digest tpm2-tools computes for
# PolicyPCR + PolicyCommandCode(Unseal / Sign) in a trial session. A policy
# over other PCR values is refused, and no key byte reaches any log.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend tpm2_pcrread tpm2_startauthsession tpm2_policypcr \
	tpm2_policycommandcode tpm2_flushcontext openssl od base64 xxd
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

swtpm_start tpm
pcr_extend_some
pki_make "$WORK/pki"
. "$SOURCE_DIR/tests/integration/modes.sh"

K=$WORK/keys
mkdir -p "$K"
(umask 077; openssl rand 32 >"$K/aes.key")
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$K/rsa.pem" -out "$K/rsa.crt" -days 30 \
	-subj "/CN=host signing key" 2>/dev/null
AES_HEX=$(od -An -tx1 -v "$K/aes.key" | tr -d ' \n')
A_VEXTRA="log_level = debug"
# Sealed to PCRs the verifier's reference fixes (every PCR of a secret
# without values of its own must be: here sha256 0-7 as the TPM has them, and
# sha1 7), with the values the passing quote showed: disk-key under sha256
# 0-7, disk-key-5 and host-sign under fewer (tpm2-tools computes PolicyPCR
# over at most 8 PCRs).
A_POLICY="$(pcr_policy)
$(pcr_policy sha1 7)"
A_VTAIL="[secret disk-key]
kind = aes256
key = $K/aes.key
pcrs = sha256:0-7
[secret disk-key-5]
kind = aes256
key = $K/aes.key
pcrs = sha256:0-3,7
[secret host-sign]
kind = rsa
key = $K/rsa.pem
cert = $K/rsa.crt
pcrs = sha256:0-3,7+sha1:7
hosts = *"

expect_pass deliver
srv=$WORK/deliver-server.log
vlog=$WORK/deliver/err
[ "$MODE" = push ] && vlog=$srv
for s in disk-key disk-key-5 host-sign; do
	grep -q "secret '$s' delivered to host .*proof verified" "$vlog" ||
		fail "verifier did not record '$s' with a verified proof: $(cat "$vlog")"
done
ok "$MODE: the three secrets delivered, each proof verified"
[ "$MODE" = pull ] && { grep -q "^secrets  *ok " "$WORK/deliver/out" || fail "no 'secrets ok' line: $(cat "$WORK/deliver/out")"; }

# record_policy FILE: "SELECTION AUTHPOLICYHEX" of a record in the attestor's
# secret store (attestor/secrets.c: magic, kind, ek_alg, name, then the
# TPML_PCR_SELECTION and the TPM2B_PUBLIC the verifier sent).
record_policy() {
	/usr/bin/python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"ATSECRT1", "not a secret record"
off = 8 + 1 + 2
off += 1 + b[off]
(count,) = struct.unpack(">I", b[off:off + 4]); off += 4
names = {0x0004: "sha1", 0x000B: "sha256", 0x000C: "sha384", 0x000D: "sha512"}
banks = []
for _ in range(count):
    alg, size = struct.unpack(">HB", b[off:off + 3]); off += 3
    bits = int.from_bytes(b[off:off + size], "little"); off += size
    banks.append("%s:%s" % (names[alg], ",".join(str(i) for i in range(8 * size) if bits >> i & 1)))
off += 2 + 2 + 2 + 4  # TPM2B_PUBLIC size, type, nameAlg, objectAttributes
(plen,) = struct.unpack(">H", b[off:off + 2])
print("+".join(banks), b[off + 2:off + 2 + plen].hex())
PY
}
# tools_policy SEL CC OUT: PolicyPCR(SEL, the TPM's values now) then
# PolicyCommandCode(CC) in a tpm2-tools trial session.
tools_policy() {
	local bank
	: >"$WORK/policy.pcrs"
	# One bank at a time: the values in selection order, as PolicyPCR hashes them.
	for bank in ${1//+/ }; do
		tpm2_pcrread "$bank" -o "$WORK/policy.bank" >/dev/null
		cat "$WORK/policy.bank" >>"$WORK/policy.pcrs"
	done
	tpm2_startauthsession -S "$WORK/trial.ctx"
	tpm2_policypcr -S "$WORK/trial.ctx" -l "$1" -f "$WORK/policy.pcrs" >/dev/null
	tpm2_policycommandcode -S "$WORK/trial.ctx" "$2" -L "$3" >/dev/null
	tpm2_flushcontext "$WORK/trial.ctx"
}
STORE=$WORK/deliver/state/secrets
for s in disk-key:TPM2_CC_Unseal disk-key-5:TPM2_CC_Unseal host-sign:TPM2_CC_Sign; do
	read -r sel ours <<<"$(record_policy "$STORE/${s%%:*}")"
	tools_policy "$sel" "${s#*:}" "$WORK/${s%%:*}.policy"
	[ "$ours" = "$(xxd -p -c 64 "$WORK/${s%%:*}.policy")" ] ||
		fail "${s%%:*}: authPolicy $ours is not tpm2-tools' PolicyPCR($sel) + PolicyCommandCode(${s#*:})"
	echo "  ${s%%:*}: PolicyPCR($sel) + PolicyCommandCode(${s#*:}) = $ours"
done
ok "$MODE: the stored secrets' authPolicy == tpm2-tools' trial session (PolicyPCR + PolicyCommandCode Unseal / Sign)"

ACONF=$WORK/deliver/attestor.conf
got=$("$BUILD_DIR/attestor" unseal disk-key --config "$ACONF") || fail "attestor unseal disk-key"
[ "$got" = "$AES_HEX" ] || fail "unsealed key differs from the delivered one"
got=$("$BUILD_DIR/attestor" unseal disk-key-5 --config "$ACONF") || fail "attestor unseal disk-key-5"
[ "$got" = "$AES_HEX" ] || fail "disk-key-5: unsealed key differs from the delivered one"
ok "attestor unseal returns the delivered AES key (under sha256:0-7, and under sha256:0-3,7)"
printf 'data to sign' >"$WORK/data"
"$BUILD_DIR/attestor" sign host-sign --config "$ACONF" <"$WORK/data" >"$WORK/data.sig" || fail "attestor sign"
openssl x509 -in "$K/rsa.crt" -pubkey -noout >"$K/rsa.pub"
openssl dgst -sha256 -verify "$K/rsa.pub" -signature "$WORK/data.sig" "$WORK/data" >/dev/null ||
	fail "the signature from attestor sign does not verify with the certificate"
ok "attestor sign: the signature verifies with the delivered key's certificate"

# No key byte in any log, in hex or base64, whole or as a 16-byte prefix.
AES_B64=$(base64 -w0 <"$K/aes.key")
for f in "$WORK"/*.log "$WORK"/deliver/out "$WORK"/deliver/err; do
	for needle in "$AES_HEX" "${AES_HEX:0:32}" "$AES_B64" "${AES_B64:0:22}"; do
		if grep -qiF -- "$needle" "$f"; then fail "key material in $(basename "$f")"; fi
	done
done
ok "no key material in the logs (debug level)"

# A policy over other PCR values: the attestor's TPM refuses to open it.
A_VTAIL="[secret wrong-pcr]
kind = aes256
key = $K/aes.key
sha256.0 = $(printf '%064d' 0)"
if [ "$MODE" = pull ]; then pattern="^FAIL secrets: .*PCR policy is no longer met"; else
	pattern="^FAIL receipt: .*0 proofs for 1 secrets (attestor: .*PCR policy is no longer met"; fi
expect_fail wrong-pcr 1 "$pattern"
"$BUILD_DIR/attestor" secrets --config "$WORK/wrong-pcr/attestor.conf" | grep -q wrong-pcr &&
	fail "a secret whose policy failed was stored"
ok "$MODE: the refused secret was not stored"

# A policy PCR changes: the stored secrets refuse from now on.
tpm2_pcrextend "7:sha256=$(printf 'late change' | sha256sum | cut -d' ' -f1)" >/dev/null
rc=0; "$BUILD_DIR/attestor" unseal disk-key --config "$ACONF" >/dev/null 2>"$WORK/unseal.err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "PCR policy is no longer met" "$WORK/unseal.err" ||
	fail "unseal after a PCR change: exit $rc: $(cat "$WORK/unseal.err")"
rc=0; "$BUILD_DIR/attestor" sign host-sign --config "$ACONF" <"$WORK/data" >/dev/null 2>"$WORK/sign.err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "PCR policy is no longer met" "$WORK/sign.err" ||
	fail "sign after a PCR change: exit $rc: $(cat "$WORK/sign.err")"
ok "after PCR 7 changed, unseal and sign refuse: $(cat "$WORK/unseal.err")"

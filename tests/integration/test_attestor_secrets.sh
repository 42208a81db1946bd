#!/bin/bash
# Secret delivery, attestor side, against swtpm, driven over mutual TLS by an
# independent client (Python grpcio). Blobs come from independent builders:
#  - RSA signing key: tpm2_duplicate --parent-public (tpm2-tools, offline)
#  - AES-256 key sealed as KEYEDHASH: secrets_client.py mkseal (Python,
#    written from the spec), itself first checked with tpm2_import +
#    tpm2_load + tpm2_unseal under a PolicyPCR session
#  - the PCR policy digest: tpm2_policypcr (trial session)
# Each delivery follows a Quote of the same (verifier) identity, as the
# attestor requires (secrets_client.py makes one first).
# Checks:
#  - DeliverSecrets (AES with the RSA EK and with the ECC P-256 EK, RSA key):
#    the HMAC proof equals openssl's HMAC with the known key, the RSA proof
#    verifies with openssl against the key's public half (and neither passes
#    for another challenge); the store is 0700/0600
#  - rejections, each with its status and message and nothing stored: blobs
#    for another TPM's EK, flipped bits in duplicate/seed/public, a policy
#    over other PCR values, kind/object mismatch, bad names, a bad secret
#    next to a good one (the good one is not stored either)
#  - `attestor unseal` prints/writes the key, `attestor sign` signs so that
#    openssl dgst -verify accepts; after tpm2_pcrextend of a policy PCR both
#    refuse with "the PCR policy is no longer met"; a damaged record is
#    reported as such
#  - neither the key's hex nor its base64 appears in any log or stderr
#  - no transient object left behind
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_createek tpm2_startauthsession tpm2_policypcr tpm2_policysecret \
	tpm2_duplicate tpm2_import tpm2_load tpm2_unseal tpm2_pcrextend tpm2_flushcontext \
	tpm2_getcap protoc grpc_python_plugin openssl cmp xxd base64
/usr/bin/python3 -c 'import grpc' 2>/dev/null || { echo "SKIP: python3-grpcio missing" >&2; exit 77; }
/usr/bin/python3 -c 'import cryptography' 2>/dev/null ||
	{ echo "SKIP: python3-cryptography missing" >&2; exit 77; }

ATTESTOR=$BUILD_DIR/attestor
[ -x "$ATTESTOR" ] || fail "$ATTESTOR not built"
HELPER=$SOURCE_DIR/tests/integration/secrets_client.py
SEL="sha256:0,1,2,3,7"
POLICY_MSG="the PCR policy is no longer met"

# A second TPM: its EK is the "wrong" parent.
swtpm_start other
tpm2_createek -G rsa -c "$WORK/other_ek.ctx" -u "$WORK/other_ek.pub" >/dev/null
tpm2_flushcontext -t >/dev/null
tpm2_createek -G ecc -c "$WORK/other_ek_ecc.ctx" -u "$WORK/other_ek_ecc.pub" >/dev/null
tpm2_flushcontext -t >/dev/null
swtpm_stop

swtpm_start tpm
pcr_extend_some
pki_make "$WORK/pki"
cd "$WORK"
mkdir -p py out
protoc -I"$SOURCE_DIR/proto" --python_out=py --grpc_python_out=py \
	--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin attest.proto

transient_count() { tpm2_getcap handles-transient | grep -c '^-' || true; }
flush_all() { tpm2_flushcontext -t >/dev/null 2>&1 || true; tpm2_flushcontext -s >/dev/null 2>&1 || true; }

tpm2_createek -G rsa -c ek_rsa.ctx -u ek_rsa.pub >/dev/null
flush_all
swtpm_add_p256_ek
tpm2_createek -G ecc -c ek_ecc.ctx -u ek_ecc.pub >/dev/null
flush_all

# PolicyPCR over the current values (tpm2-tools computes it), and over values
# this TPM does not have.
tpm2_startauthsession -S trial.ctx
tpm2_policypcr -S trial.ctx -l "$SEL" -L pcr.policy >/dev/null
tpm2_flushcontext trial.ctx
openssl rand $((5 * 32)) >wrong.pcrs
tpm2_startauthsession -S trial.ctx
tpm2_policypcr -S trial.ctx -l "$SEL" -f wrong.pcrs -L wrong.policy >/dev/null
tpm2_flushcontext trial.ctx
cmp -s pcr.policy wrong.policy && fail "policy digests over different values are equal"

(umask 077; openssl rand 32 >aes.key)
KEY_HEX=$(xxd -p -c 64 aes.key)
H=$HELPER
/usr/bin/python3 "$H" mkseal ek_rsa.pub aes.key pcr.policy aes >/dev/null
/usr/bin/python3 "$H" mkseal ek_ecc.pub aes.key pcr.policy aes_ecc >/dev/null
/usr/bin/python3 "$H" mkseal other_ek.pub aes.key pcr.policy foreign_aes >/dev/null
/usr/bin/python3 "$H" mkseal other_ek_ecc.pub aes.key pcr.policy foreign_aes_ecc >/dev/null
/usr/bin/python3 "$H" mkseal ek_rsa.pub aes.key wrong.policy wrongpcr >/dev/null

# The Python builder against tpm2-tools first: a fixture nobody checked
# would prove nothing about the attestor.
check_with_tools() { # PREFIX EKCTX
	local p=$1 ek=$2 got
	tpm2_startauthsession --policy-session -S ps.ctx
	tpm2_policysecret -S ps.ctx -c e >/dev/null
	tpm2_import -C "$ek" -u "$p.pub" -i "$p.dup" -s "$p.seed" -r "$p.imported" \
		-P session:ps.ctx >/dev/null || fail "tpm2_import refuses the $p blob"
	tpm2_flushcontext ps.ctx; flush_all
	tpm2_startauthsession --policy-session -S ps.ctx
	tpm2_policysecret -S ps.ctx -c e >/dev/null
	tpm2_load -C "$ek" -u "$p.pub" -r "$p.imported" -c "$p.ctx" -P session:ps.ctx >/dev/null
	tpm2_flushcontext ps.ctx
	tpm2_startauthsession --policy-session -S us.ctx
	tpm2_policypcr -S us.ctx -l "$SEL" >/dev/null
	got=$(tpm2_unseal -c "$p.ctx" -p session:us.ctx | xxd -p -c 64)
	tpm2_flushcontext us.ctx; flush_all
	[ "$got" = "$KEY_HEX" ] || fail "tpm2_unseal of the $p blob gives another key"
}
check_with_tools aes ek_rsa.ctx
check_with_tools aes_ecc ek_ecc.ctx
ok "fixture builder checked: tpm2_import/tpm2_load/tpm2_unseal (PolicyPCR) of its RSA- and ECC-EK blobs give the key"

# The RSA key: duplicated by tpm2-tools for our EK (and for the other TPM's).
openssl genrsa -out rsa.pem 2048 2>/dev/null
openssl rsa -in rsa.pem -pubout -out rsa.pub.pem 2>/dev/null
tpm2_duplicate --tcti none -U ek_rsa.pub -G rsa -k rsa.pem -u rsa.pub -r rsa.dup -s rsa.seed \
	-L pcr.policy >/dev/null 2>&1 || fail "tpm2_duplicate of an external RSA key"
tpm2_duplicate --tcti none -U other_ek.pub -G rsa -k rsa.pem -u foreign_rsa.pub \
	-r foreign_rsa.dup -s foreign_rsa.seed -L pcr.policy >/dev/null 2>&1 ||
	fail "tpm2_duplicate for the other EK"

BEFORE=$(transient_count)
start_attestor() {
cat >attestor.conf <<CONF
[attestor]
mode = pull
listen = 127.0.0.1:0
tcti = $TCTI
; swtpm, not this machine's TPM: not this machine's measurement logs either
event_log =
ima_log =
ak_alg = ecc
ek_alg = rsa
state_dir = state
log_level = debug

[tls]
ca = pki/ca.pem
cert = pki/attestor.pem
key = pki/attestor.key
verifier_identity = verifier
CONF
bg attestor "$ATTESTOR" --config "$WORK/attestor.conf"
ATT_PID=$BG_PID
PORT=$(log_port "$WORK/attestor.log")
CL=(/usr/bin/python3 "$H" --stubs "$WORK/py" --target "127.0.0.1:$PORT"
	--ca pki/ca.pem --cert pki/verifier.pem --key pki/verifier.key)
}
start_attestor

# req NAME KIND EK BLOB [TAMPER] -> one JSON object
req() { printf '{"name": "%s", "kind": "%s", "ek": "%s", "sel": "%s", "blob": "%s", "tamper": "%s"}' \
	"$1" "$2" "$3" "${SELX:-$SEL}" "$4" "${5:-}"; }
deliver() { # JSON-OBJECTS... ; output in $OUT, status in return code
	local IFS=,
	echo "[$*]" >req.json
	OUT=$("${CL[@]}" deliver out req.json 2>&1)
}
store_state() { (cd state/secrets 2>/dev/null && sha256sum -- * 2>/dev/null) || true; }
expect_refused() { # STATUS PATTERN WHAT JSON-OBJECTS...
	local status=$1 pat=$2 what=$3 before
	shift 3
	before=$(store_state)
	deliver "$@" && fail "$what: accepted: $OUT"
	grep -q "^status=$status" <<<"$OUT" || fail "$what: expected $status, got: $OUT"
	grep -qi -- "$pat" <<<"$OUT" || fail "$what: message lacks '$pat': $OUT"
	[ "$(store_state)" = "$before" ] || fail "$what: the store changed"
}

# --- good delivery
deliver "$(req aes aes256 rsa aes)" "$(req signer rsa rsa rsa)" "$(req aes-ecc aes256 ecc aes_ecc)" ||
	fail "delivery refused: $OUT"
echo "  $OUT"
for n in aes aes-ecc; do
	openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY_HEX" -binary out/$n.challenge >out/$n.expect
	cmp -s out/$n.expect out/$n.proof || fail "$n: HMAC proof differs from HMAC(key, challenge)"
	(umask 077; openssl rand 32 >out/other.challenge)
	openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY_HEX" -binary out/other.challenge >out/other.expect
	cmp -s out/other.expect out/$n.proof && fail "$n: proof also matches another challenge"
done
# TPMT_SIGNATURE: sigAlg RSASSA (0014), hash SHA-256 (000b), size 0100, signature.
[ "$(head -c 6 out/signer.proof | xxd -p)" = "0014000b0100" ] || fail "RSA proof is not an RSASSA-SHA256 TPMT_SIGNATURE"
tail -c +7 out/signer.proof >out/signer.sig
openssl dgst -sha256 -verify rsa.pub.pem -signature out/signer.sig out/signer.challenge >/dev/null ||
	fail "RSA proof does not verify with the key's public half"
openssl dgst -sha256 -verify rsa.pub.pem -signature out/signer.sig out/other.challenge >/dev/null 2>&1 &&
	fail "RSA proof verifies for another challenge"
ok "AES (RSA EK, ECC EK) and RSA delivered: HMAC proofs == openssl HMAC, RSA proof verifies with openssl"

[ "$(stat -c %a state/secrets)" = 700 ] || fail "secrets dir mode $(stat -c %a state/secrets)"
for f in state/secrets/*; do
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f mode $(stat -c %a "$f")"
done
[ "$(ls state/secrets | tr '\n' ' ')" = "aes aes-ecc signer " ] || fail "store holds: $(ls -a state/secrets)"
grep -qa -- "$(head -c 16 aes.key | xxd -p)" state/secrets/* && fail "plaintext key bytes in the store"
ok "store: dir 0700, files 0600, three records, no plaintext key"

# --- rejections
# (RSA-EK seeds that do not decrypt: see the end, they stop libtpms 0.9.2.)
expect_refused INVALID_ARGUMENT "not made for this TPM" "AES blob for another TPM's ECC EK" \
	"$(req x1 aes256 ecc foreign_aes_ecc)"
expect_refused INVALID_ARGUMENT "not made for this TPM" "RSA-EK blob sent as for the ECC EK" \
	"$(req x3 aes256 ecc aes)"
n=0
# RSA EK: duplicate and public; ECC EK: the seed too.
for blob in aes:dup aes:pub aes_ecc:seed aes_ecc:dup; do
	part=${blob#*:} blob=${blob%:*}
	ek=rsa; [ "$blob" = aes_ecc ] && ek=ecc
	size=$(stat -c %s "$blob.$part")
	# size field, first/last content bits, and a spread in between
	for bit in 3 16 17 $(seq 40 97 $((size * 8 - 1))) $((size * 8 - 1)); do
		[ "$bit" -lt $((size * 8)) ] || continue
		expect_refused INVALID_ARGUMENT "" "flipped bit $bit of $blob $part" \
			"$(req tampered aes256 $ek $blob "$part:$bit")"
		n=$((n + 1))
	done
done
for part in dup pub; do
	expect_refused INVALID_ARGUMENT "" "flipped bit in RSA $part" \
		"$(req tampered rsa rsa rsa "$part:$(($(stat -c %s "rsa.$part") * 4))")"
	n=$((n + 1))
done
[ ! -e state/secrets/tampered ] || fail "a tampered secret was stored"
ok "$n blobs with a flipped bit in duplicate/seed/public refused (INVALID_ARGUMENT); blobs for another TPM's EK refused with 'not made for this TPM'"

expect_refused FAILED_PRECONDITION "$POLICY_MSG" "policy over other PCR values" \
	"$(req wrongpcr aes256 rsa wrongpcr)"
expect_refused FAILED_PRECONDITION "$POLICY_MSG" "other policy selection" \
	"$(SELX="sha256:0,1,2,3" req wrongsel aes256 rsa aes)"
expect_refused INVALID_ARGUMENT "sealed data object" "RSA key sent as aes256" "$(req k1 aes256 rsa rsa)"
expect_refused INVALID_ARGUMENT "RSA signing key" "sealed data sent as rsa" "$(req k2 rsa rsa aes)"
expect_refused INVALID_ARGUMENT "neither" "kind unspecified" "$(req k3 0 rsa aes)"
expect_refused INVALID_ARGUMENT "twice" "same name twice" "$(req dup1 aes256 rsa aes)" "$(req dup1 aes256 rsa aes)"
expect_refused INVALID_ARGUMENT "no secrets" "empty delivery"
for bad in "../escape" "a/b" "" ".hidden" "x y" "$(printf 'n%.0s' $(seq 65))" "..";do
	expect_refused INVALID_ARGUMENT "secret name" "name '$bad'" "$(req "$bad" aes256 rsa aes)"
done
[ ! -e state/escape ] && [ ! -e escape ] || fail "a bad name escaped the store"
expect_refused FAILED_PRECONDITION "$POLICY_MSG" "good and bad secret together" \
	"$(req aes2 aes256 rsa aes)" "$(req wrongpcr aes256 rsa wrongpcr)"
[ ! -e state/secrets/aes2 ] || fail "the good secret of a refused delivery was stored"
ok "wrong PCR values/selection -> FAILED_PRECONDITION '$POLICY_MSG'; kind mismatches, bad names, duplicates, empty -> INVALID_ARGUMENT; nothing stored"

echo "  costs (attestor log): $(grep -o "secret '[a-z-]*': import .*" attestor.log | sort -u | head -3 | tr '\n' ';')"

kill -TERM "$ATT_PID"
wait "$ATT_PID" || fail "attestor exited with an error after SIGTERM"
AFTER=$(transient_count)
[ "$AFTER" = "$BEFORE" ] || fail "transient objects: $BEFORE before, $AFTER after"
ok "no transient object left ($AFTER)"

# --- later use from the command line
got=$("$ATTESTOR" unseal aes --config attestor.conf 2>unseal.err) || { cat unseal.err >&2; fail "attestor unseal"; }
[ "$got" = "$KEY_HEX" ] || fail "attestor unseal printed another key"
got=$("$ATTESTOR" unseal aes-ecc --config attestor.conf 2>>unseal.err) || fail "attestor unseal (ECC EK)"
[ "$got" = "$KEY_HEX" ] || fail "attestor unseal (ECC EK) printed another key"
"$ATTESTOR" unseal aes -o "$WORK/out/key.bin" --config attestor.conf 2>>unseal.err || fail "unseal -o"
cmp -s out/key.bin aes.key || fail "unseal -o wrote another key"
[ "$(stat -c %a out/key.bin)" = 600 ] || fail "unseal -o file mode $(stat -c %a out/key.bin)"
head -c 100000 /dev/urandom >data.bin
"$ATTESTOR" sign signer --config attestor.conf <data.bin >data.sig 2>sign.err || { cat sign.err >&2; fail "attestor sign"; }
openssl dgst -sha256 -verify rsa.pub.pem -signature data.sig data.bin >/dev/null ||
	fail "openssl does not verify the signature of attestor sign"
"$ATTESTOR" sign signer -o "$WORK/out/data2.sig" --config attestor.conf <data.bin 2>>sign.err || fail "sign -o"
printf x >>data.bin
openssl dgst -sha256 -verify rsa.pub.pem -signature out/data2.sig data.bin >/dev/null 2>&1 &&
	fail "signature verifies for other data"
ok "attestor unseal (stdout, -o 0600, ECC EK) gives the key; attestor sign verifies with openssl dgst -verify"

rc=0; out=$("$ATTESTOR" unseal nosuch --config attestor.conf 2>&1) || rc=$?
[ "$rc" -ne 0 ] && grep -q "no secret named 'nosuch'" <<<"$out" || fail "unknown secret: rc $rc '$out'"
rc=0; out=$("$ATTESTOR" sign aes --config attestor.conf </dev/null 2>&1) || rc=$?
[ "$rc" -ne 0 ] && grep -q "is an aes256 secret, not rsa" <<<"$out" || fail "sign with an AES secret: rc $rc '$out'"
rc=0; out=$("$ATTESTOR" unseal ../x --config attestor.conf 2>&1) || rc=$?
[ "$rc" -ne 0 ] && grep -q "secret name" <<<"$out" || fail "unseal ../x: rc $rc '$out'"
cp state/secrets/signer signer.bak
printf '\xff' | dd of=state/secrets/signer bs=1 seek=40 conv=notrunc 2>/dev/null
rc=0; out=$("$ATTESTOR" sign signer --config attestor.conf </dev/null 2>&1) || rc=$?
[ "$rc" -ne 0 ] && grep -q "malformed structure: .*checksum mismatch" <<<"$out" || fail "damaged record: rc $rc '$out'"
cp signer.bak state/secrets/signer
ok "unknown name, wrong kind, bad name, damaged record: non-zero exit with the reason"

# --- a policy PCR changes: both refuse
tpm2_pcrextend "7:sha256=$(printf 'new boot component' | sha256sum | cut -d' ' -f1)" >/dev/null
rc=0; out=$("$ATTESTOR" unseal aes --config attestor.conf 2>&1) || rc=$?
[ "$rc" -ne 0 ] && grep -q "$POLICY_MSG" <<<"$out" || fail "unseal after extend: rc $rc '$out'"
grep -q "$KEY_HEX" <<<"$out" && fail "key printed after extend"
rc=0; out=$("$ATTESTOR" sign signer --config attestor.conf <data.bin 2>&1) || rc=$?
[ "$rc" -ne 0 ] && grep -q "$POLICY_MSG" <<<"$out" || fail "sign after extend: rc $rc '$out'"
echo "  $out"
[ "$(transient_count)" = "$BEFORE" ] || fail "transient objects left after refused use"
ok "after tpm2_pcrextend 7 unseal and sign refuse: '$POLICY_MSG'"

# --- secrets never logged
B64=$(base64 -w0 aes.key)
KEY_HEX_UP=$(tr a-f A-F <<<"$KEY_HEX")
for f in "$WORK"/*.log unseal.err sign.err; do
	grep -qiF -e "$KEY_HEX" -e "$KEY_HEX_UP" -e "${KEY_HEX:0:16}" -e "$B64" -e "${B64:0:16}" "$f" &&
		fail "key material in $f"
done
grep -q "received secret 'aes'" attestor.log || fail "the log does not show the delivery at all"
ok "neither the key's hex nor its base64 in any log (debug level)"

# --- libtpms 0.9.2 (Debian 12): an RSA-EK seed that OAEP does not decrypt
# (blob for another TPM's RSA EK, flipped seed bit) puts the TPM in failure
# mode (TPM_RC_FAILURE) instead of returning TPM_RC_VALUE; tpm2_import does
# the same. The attestor must still refuse clearly and store nothing; the
# swtpm is restarted after each.
for c in "foreign_rsa:rsa:" "rsa:rsa:seed:1000"; do
	IFS=: read -r blob kind tpart tbit <<<"$c"
	swtpm_stop; swtpm_run
	start_attestor
	tamper=""; [ -n "$tpart" ] && tamper="$tpart:$tbit"
	before=$(store_state)
	deliver "$(req rsa-seed-case $kind rsa $blob "$tamper")" && fail "$c: accepted: $OUT"
	if grep -q "^status=INVALID_ARGUMENT.*not made for this TPM" <<<"$OUT"; then
		echo "  $c: refused without a TPM failure (a fixed libtpms): $OUT"
	else
		grep -q "^status=INTERNAL.*failure mode.*does not decrypt with this TPM's RSA EK" <<<"$OUT" ||
			fail "$c: $OUT"
	fi
	[ "$(store_state)" = "$before" ] || fail "$c: the store changed"
	kill -TERM "$ATT_PID"; wait "$ATT_PID" || true
done
ok "RSA-EK blob for another TPM / flipped RSA seed bit refused, nothing stored (libtpms 0.9.2 enters failure mode: reported as such)"

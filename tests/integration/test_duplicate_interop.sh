#!/bin/bash
# Our software TPM2_Import blobs (tests/tools/mkdup -> dup_make_sealed,
# dup_make_rsa, tpmpolicy_pcr) opened by a real TPM (swtpm) with tpm2-tools,
# for the RSA-2048 EK (template L-1) and the ECC P-256 EK (template L-2):
# - our PolicyPCR digest equals tpm2_policypcr's (trial session), and our
#   PolicyPCR+PolicyCommandCode digest tpm2_policycommandcode's;
# - tpm2_import under the EK (PolicySecret(endorsement) session), tpm2_load,
#   then tpm2_unseal in a PolicyPCR session returns the sealed bytes; an RSA
#   2048/3072 key signs in a PolicyPCR session and openssl verifies the
#   signature with the PEM's public key;
# Rejections, each asserted: blobs for another swtpm's EK; one flipped bit in
# the duplicate, the seed or the public area; a policy over wrong PCR values;
# a policy PCR extended after import (unseal and sign refused); a
# PolicyCommandCode(Unseal) object without the command code in the session.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_createek tpm2_import tpm2_load tpm2_unseal tpm2_sign tpm2_startauthsession \
	tpm2_policysecret tpm2_policypcr tpm2_policycommandcode tpm2_pcrread tpm2_pcrextend \
	tpm2_flushcontext openssl xxd cmp

MKDUP=$BUILD_DIR/tests/tools/mkdup
[ -x "$MKDUP" ] || fail "$MKDUP not built (cmake --build ... --target mkdup)"

SEL=sha256:0,1,2,3+sha1:7
swtpm_start other
OTHER_TCTI=$TCTI
tpm2_createek -G rsa -c "$WORK/other-ek.ctx" -u "$WORK/other-ek-rsa.pub" >/dev/null
tpm2_flushcontext -t >/dev/null
tpm2_createek -G ecc -c "$WORK/other-ek.ctx" -u "$WORK/other-ek-ecc.pub" >/dev/null
tpm2_flushcontext -t >/dev/null
swtpm_start tpm
[ "$TCTI" != "$OTHER_TCTI" ] || fail "both swtpms on one port"
cd "$WORK"
pcr_extend_some

# flip_bit IN OUT OFFSET [MASK]: copy IN to OUT with byte OFFSET xor MASK (default 0x01).
flip_bit() {
	local b
	cp "$1" "$2"
	b=$(xxd -p -s "$3" -l 1 "$1")
	printf "%02x" $((0x$b ^ ${4:-0x01})) | xxd -r -p | dd of="$2" bs=1 seek="$3" conv=notrunc status=none
}

# reason LOG: the failing ESYS call, its TPM return code and its description.
reason() {
	echo "$(grep -o 'Esys_[A-Za-z]*() Esys Finish ErrorCode ([^)]*)' "$1" | head -1)" \
		"$(grep -o 'tpm:[a-z]*[^ ]*.*' "$1" | head -1)"
}

# flush_all: tpm2-tools leave objects and sessions behind; swtpm has 3 slots.
flush_all() {
	tpm2_flushcontext -t >/dev/null 2>&1 || true
	tpm2_flushcontext -s >/dev/null 2>&1 || true
}

# ek_session: a policy session satisfying the EK's PolicySecret(TPM_RH_ENDORSEMENT).
ek_session() {
	tpm2_startauthsession --policy-session -S "$1" >/dev/null
	tpm2_policysecret -S "$1" -c e >/dev/null
}

# import_load D PREFIX: TPM2_Import PREFIX.{pub,dpriv,seed} under D's EK, then
# TPM2_Load into PREFIX.ctx. Output of the failing command in D/import.log.
import_load() {
	local d=$1 p=$2 rc=0
	ek_session "$d/s.ctx"
	tpm2_import -C "$d/ek.ctx" -u "$p.pub" -i "$p.dpriv" -s "$p.seed" -r "$p.priv" \
		-P "session:$d/s.ctx" >"$d/import.log" 2>&1 || rc=$?
	flush_all
	[ "$rc" -eq 0 ] || return "$rc"
	ek_session "$d/s.ctx"
	tpm2_load -C "$d/ek.ctx" -u "$p.pub" -r "$p.priv" -c "$p.ctx" -P "session:$d/s.ctx" \
		>"$d/import.log" 2>&1 || rc=$?
	flush_all
	return "$rc"
}

# pcr_session S PCRFILE [CC]: policy session with PolicyPCR(SEL, PCRFILE) [+ PolicyCommandCode].
pcr_session() {
	tpm2_startauthsession --policy-session -S "$1" >/dev/null
	tpm2_policypcr -S "$1" -l "$SEL" -f "$2" >/dev/null
	if [ $# -gt 2 ]; then tpm2_policycommandcode -S "$1" "$3" >/dev/null; fi
}

# unseal D PREFIX PCRFILE OUT [CC]
unseal() {
	local d=$1 p=$2 rc=0
	pcr_session "$d/p.ctx" "$3" "${@:5}" >"$d/unseal.log" 2>&1 || { flush_all; return 1; }
	tpm2_unseal -c "$p.ctx" -p "session:$d/p.ctx" -o "$4" >"$d/unseal.log" 2>&1 || rc=$?
	flush_all
	return "$rc"
}

# sign D PREFIX PCRFILE MSG SIG
sign() {
	local d=$1 p=$2 rc=0
	pcr_session "$d/p.ctx" "$3" >"$d/sign.log" 2>&1 || { flush_all; return 1; }
	tpm2_sign -c "$p.ctx" -p "session:$d/p.ctx" -g sha256 -s rsassa -f plain -o "$5" "$4" \
		>"$d/sign.log" 2>&1 || rc=$?
	flush_all
	return "$rc"
}

# expect_import_refused WHAT D PREFIX
expect_import_refused() {
	if import_load "$2" "$3"; then
		fail "$1: the TPM imported and loaded it"
	fi
	grep -q 'Esys_\(Import\|Load\)()' "$2/import.log" || fail "$1: not refused by the TPM: $(cat "$2/import.log")"
	ok "$1 refused: $(reason "$2/import.log")"
}

for ekalg in rsa ecc; do
	d=$WORK/ek-$ekalg
	mkdir -p "$d"
	tpm2_createek -G "$ekalg" -c "$d/ek.ctx" -u "$d/ek.pub" >/dev/null
	flush_all
	tpm2_pcrread "$SEL" -o "$d/pcrs.bin" >/dev/null

	# Our policy digest = the TPM's own, computed by a trial session.
	tpm2_startauthsession -S "$d/t.ctx" >/dev/null
	tpm2_policypcr -S "$d/t.ctx" -l "$SEL" -f "$d/pcrs.bin" -L "$d/tools.policy" >/dev/null
	tpm2_policycommandcode -S "$d/t.ctx" TPM2_CC_Unseal -L "$d/tools-cc.policy" >/dev/null
	flush_all

	# Sealed data: sizes 1, 32 and 128 bytes.
	for len in 1 32 128; do
		p=$d/sealed-$len
		openssl rand "$len" >"$p.data"
		"$MKDUP" "$d/ek.pub" sealed "$p.data" "$SEL" "$d/pcrs.bin" "$p" || fail "$ekalg: mkdup sealed $len"
		cmp -s "$p.policy" "$d/tools.policy" ||
			fail "$ekalg: policy $(xxd -p -c 64 "$p.policy"), tpm2_policypcr $(xxd -p -c 64 "$d/tools.policy")"
		import_load "$d" "$p" || fail "$ekalg: sealed $len: $(cat "$d/import.log")"
		unseal "$d" "$p" "$d/pcrs.bin" "$p.out" || fail "$ekalg: unseal $len: $(cat "$d/unseal.log")"
		cmp -s "$p.out" "$p.data" || fail "$ekalg: unsealed $(xxd -p "$p.out" | head -1), sealed $(xxd -p "$p.data" | head -1)"
		ok "$ekalg EK: $len bytes imported, loaded and unsealed under PolicyPCR($SEL); policy = tpm2_policypcr's"
	done
	# 129 bytes: more than a TPM seals; refused before anything is made.
	openssl rand 129 >"$d/big.data"
	rc=0
	"$MKDUP" "$d/ek.pub" sealed "$d/big.data" "$SEL" "$d/pcrs.bin" "$d/big" 2>"$d/big.err" || rc=$?
	[ "$rc" -eq 1 ] || fail "$ekalg: 129 bytes: mkdup exit $rc, want 1"

	# PolicyPCR + PolicyCommandCode(Unseal): digest equals the tools', and the
	# object opens only when the session carries the command code too.
	p=$d/sealed-cc
	(umask 077; openssl rand 32 >"$p.data")
	"$MKDUP" "$d/ek.pub" sealed "$p.data" "$SEL" "$d/pcrs.bin" "$p" 0x15e || fail "$ekalg: mkdup cc"
	cmp -s "$p.policy" "$d/tools-cc.policy" || fail "$ekalg: PolicyCommandCode digest differs from tpm2_policycommandcode's"
	import_load "$d" "$p" || fail "$ekalg: sealed-cc import: $(cat "$d/import.log")"
	if unseal "$d" "$p" "$d/pcrs.bin" "$p.out"; then fail "$ekalg: unsealed without PolicyCommandCode"; fi
	grep -qi policy "$d/unseal.log" || fail "$ekalg: no policy error: $(cat "$d/unseal.log")"
	unseal "$d" "$p" "$d/pcrs.bin" "$p.out" TPM2_CC_Unseal || fail "$ekalg: unseal cc: $(cat "$d/unseal.log")"
	cmp -s "$p.out" "$p.data" || fail "$ekalg: cc unseal returned other bytes"
	ok "$ekalg EK: PolicyPCR+PolicyCommandCode(Unseal) digest = the tools'; opens only with the command code"

	# RSA signing keys: the TPM signs, openssl verifies with the PEM's public key.
	for bits in 2048 3072; do
		p=$d/rsa-$bits
		openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$bits" -out "$p.pem" 2>/dev/null
		openssl pkey -in "$p.pem" -pubout -out "$p.pub.pem"
		"$MKDUP" "$d/ek.pub" rsa "$p.pem" "$SEL" "$d/pcrs.bin" "$p" || fail "$ekalg: mkdup rsa $bits"
		import_load "$d" "$p" || fail "$ekalg: rsa $bits: $(cat "$d/import.log")"
		printf 'challenge %s' "$(openssl rand -hex 16)" >"$p.msg"
		sign "$d" "$p" "$d/pcrs.bin" "$p.msg" "$p.sig" || fail "$ekalg: sign $bits: $(cat "$d/sign.log")"
		openssl dgst -sha256 -verify "$p.pub.pem" -signature "$p.sig" "$p.msg" >/dev/null ||
			fail "$ekalg: RSA-$bits signature does not verify with the PEM key"
		printf 'x' >>"$p.msg"
		if openssl dgst -sha256 -verify "$p.pub.pem" -signature "$p.sig" "$p.msg" >/dev/null 2>&1; then
			fail "$ekalg: signature verifies over another message"
		fi
		ok "$ekalg EK: RSA-$bits key imported; TPM2_Sign under PolicyPCR verifies with openssl"
	done

	# Rejections.
	p=$d/sealed-32
	other=$WORK/other-ek-$ekalg.pub
	"$MKDUP" "$other" sealed "$p.data" "$SEL" "$d/pcrs.bin" "$d/other" || fail "$ekalg: mkdup other EK"
	expect_import_refused "$ekalg: blob built for another swtpm's EK" "$d" "$d/other"

	psize=$(stat -c %s "$p.pub")
	dsize=$(stat -c %s "$p.dpriv")
	ssize=$(stat -c %s "$p.seed")
	# Public: 2 size + 2 type + 2 nameAlg + 4 attributes (byte 9: 0x40 userWithAuth,
	# 0x80 adminWithPolicy), then authPolicy (2 + 32), ..., unique last.
	# dpriv: 2 size + 2 HMAC size + 32 HMAC, then the encrypted sensitive.
	for spec in "public attributes (userWithAuth set):pub:9:0x40" "public attributes (adminWithPolicy):pub:9:0x80" \
		"public authPolicy:pub:14:0x01" "public unique:pub:$((psize - 1)):0x01" \
		"duplicate HMAC:dpriv:4:0x01" "duplicate encrypted sensitive:dpriv:40:0x01" \
		"duplicate last byte:dpriv:$((dsize - 1)):0x01" "duplicate HMAC size:dpriv:3:0x01" \
		"seed:seed:$((ssize / 2)):0x01" "seed last byte:seed:$((ssize - 1)):0x80"; do
		IFS=: read -r what file off mask <<<"$spec"
		q=$d/flip
		cp "$p.pub" "$q.pub"; cp "$p.dpriv" "$q.dpriv"; cp "$p.seed" "$q.seed"
		flip_bit "$p.$file" "$q.$file" "$off" "$mask"
		cmp -s "$p.$file" "$q.$file" && fail "flip_bit did nothing"
		expect_import_refused "$ekalg: one bit flipped in the $what (byte $off)" "$d" "$q"
	done

	# A policy over wrong PCR values: imports (a policy is only a digest) but never unseals.
	q=$d/wrong
	cp "$d/pcrs.bin" "$q.pcrs"
	flip_bit "$d/pcrs.bin" "$q.pcrs" 5
	"$MKDUP" "$d/ek.pub" sealed "$p.data" "$SEL" "$q.pcrs" "$q" || fail "$ekalg: mkdup wrong"
	import_load "$d" "$q" || fail "$ekalg: wrong-PCR blob import: $(cat "$d/import.log")"
	if unseal "$d" "$q" "$d/pcrs.bin" "$q.out"; then fail "$ekalg: unsealed with a policy over wrong PCR values"; fi
	grep -qi policy "$d/unseal.log" || fail "$ekalg: no policy error: $(cat "$d/unseal.log")"
	ok "$ekalg: policy over wrong PCR values: unseal refused ($(reason "$d/unseal.log"))"
	# The wrong values themselves: the TPM refuses PolicyPCR over values it does not have.
	if unseal "$d" "$q" "$q.pcrs" "$q.out"; then fail "$ekalg: unsealed in a session over the wrong values"; fi
	# tpm2_policypcr may or may not pass the digest of the file to the TPM:
	# refused by PolicyPCR itself (TPM_RC_VALUE) or by Unseal's policy check.
	grep -qE 'Esys_PolicyPCR\(\)|policy check failed' "$d/unseal.log" ||
		fail "$ekalg: PolicyPCR over wrong values: $(cat "$d/unseal.log")"
	ok "$ekalg: session over the policy's wrong values refused ($(reason "$d/unseal.log"))"

	# Extend a policy PCR: both kinds refuse from then on (loaded contexts stay valid).
	tpm2_pcrextend "3:sha256=$(printf 'later %s' "$ekalg" | sha256sum | cut -d' ' -f1)" >/dev/null
	tpm2_pcrread "$SEL" -o "$d/pcrs-now.bin" >/dev/null
	for what in sealed rsa; do
		if [ "$what" = sealed ]; then
			if unseal "$d" "$p" "$d/pcrs-now.bin" "$p.after"; then fail "$ekalg: unsealed after PCR 3 changed"; fi
			log=$d/unseal.log
		else
			if sign "$d" "$d/rsa-2048" "$d/pcrs-now.bin" "$d/rsa-2048.msg" "$d/after.sig"; then
				fail "$ekalg: signed after PCR 3 changed"
			fi
			log=$d/sign.log
		fi
		grep -qi policy "$log" || fail "$ekalg: $what after extend: no policy error: $(cat "$log")"
		ok "$ekalg: $what refused after PCR 3 was extended ($(reason "$log"))"
	done
	# The session over the old values is refused outright by PolicyPCR.
	if unseal "$d" "$p" "$d/pcrs.bin" "$p.after"; then fail "$ekalg: unsealed with the old values"; fi
	grep -qE 'Esys_PolicyPCR\(\)|policy check failed' "$d/unseal.log" ||
		fail "$ekalg: PolicyPCR over old values: $(cat "$d/unseal.log")"
	ok "$ekalg: session over the old values refused ($(reason "$d/unseal.log"))"
done

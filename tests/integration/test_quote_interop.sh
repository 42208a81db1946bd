#!/bin/bash
# Quotes made by a real TPM (swtpm) through tpm2-tools, verified by our
# quote_verify (tests/tools/quote_check): ECC/ECDSA, RSA/RSASSA and RSA/RSAPSS
# AKs; good quotes pass, and a wrong nonce, a flipped attest byte, a flipped
# signature byte, altered or stale PCR values and a selection other than the
# one requested each fail with their own reason.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_createek tpm2_createak tpm2_quote tpm2_pcrextend tpm2_pcrread \
	tpm2_flushcontext openssl xxd

QC=$BUILD_DIR/tests/tools/quote_check
[ -x "$QC" ] || fail "$QC not built (cmake --build ... --target quote_check)"

swtpm_start tpm
pcr_extend_some
cd "$WORK"

TPMSEL="sha256:0,1,2,3,7+sha1:0,1,2"
OURSEL="sha256:0-3,7+sha1:0-2"

# expect_fail WHAT PATTERN quote_check-args...: must exit 1 with PATTERN in the output.
expect_fail() {
	local what=$1 pattern=$2 out rc=0
	shift 2
	out=$("$QC" "$@") || rc=$?
	[ "$rc" -eq 1 ] || fail "$what: exit $rc, want 1 ($out)"
	grep -q -- "$pattern" <<<"$out" || fail "$what: '$out' does not say '$pattern'"
	ok "$what rejected: $out"
}

# flip_byte IN OUT OFFSET: copy IN to OUT with byte OFFSET xor 0x01.
flip_byte() {
	local b
	cp "$1" "$2"
	b=$(xxd -p -s "$3" -l 1 "$1")
	printf "%02x" $((0x$b ^ 0x01)) | xxd -r -p | dd of="$2" bs=1 seek="$3" conv=notrunc status=none
}

tpm2_createek -G rsa -c ek.ctx -u ek.pub >/dev/null
tpm2_flushcontext -t

for kind in ecc:ecdsa rsa:rsassa rsa:rsapss; do
	alg=${kind%%:*}
	scheme=${kind#*:}
	d=$WORK/$alg-$scheme
	mkdir -p "$d"
	tpm2_createak -C ek.ctx -c "$d/ak.ctx" -G "$alg" -g sha256 -s "$scheme" -u "$d/ak.pub" -n "$d/ak.name" >/dev/null
	tpm2_flushcontext -t
	nonce=$(openssl rand -hex 32)
	tpm2_quote -c "$d/ak.ctx" -l "$TPMSEL" -q "$nonce" -m "$d/msg" -s "$d/sig" -o "$d/pcrs" -F values \
		-g sha256 --scheme "$scheme" >/dev/null
	tpm2_flushcontext -t

	out=$("$QC" "$d/ak.pub" "$d/msg" "$d/sig" "$nonce" "$OURSEL" "$d/pcrs") ||
		fail "$kind: genuine quote rejected: $out"
	grep -q '^PASS' <<<"$out" || fail "$kind: no PASS line: $out"
	ok "$kind: tpm2_quote verified ($out)"

	# Values read separately by tpm2_pcrread, in the same layout, verify too.
	tpm2_pcrread "$TPMSEL" -o "$d/pcrs-read" >/dev/null
	cmp -s "$d/pcrs" "$d/pcrs-read" || fail "$kind: tpm2_pcrread values differ from tpm2_quote's"

	other=$(openssl rand -hex 32)
	expect_fail "$kind: other nonce" "nonce mismatch" "$d/ak.pub" "$d/msg" "$d/sig" "$other" "$OURSEL" "$d/pcrs"
	expect_fail "$kind: nonce prefix" "nonce mismatch" "$d/ak.pub" "$d/msg" "$d/sig" "${nonce:0:32}" "$OURSEL" "$d/pcrs"

	# Byte 60 lies in clockInfo/firmwareVersion; 10 in qualifiedSigner; the last one in pcrDigest.
	size=$(stat -c %s "$d/msg")
	for off in 0 5 10 60 $((size - 1)); do
		flip_byte "$d/msg" "$d/msg.bad" "$off"
		expect_fail "$kind: attest byte $off flipped" "signature verification failed" \
			"$d/ak.pub" "$d/msg.bad" "$d/sig" "$nonce" "$OURSEL" "$d/pcrs"
	done
	ssize=$(stat -c %s "$d/sig")
	flip_byte "$d/sig" "$d/sig.bad" $((ssize - 1))
	expect_fail "$kind: signature byte flipped" "signature verification failed" \
		"$d/ak.pub" "$d/msg" "$d/sig.bad" "$nonce" "$OURSEL" "$d/pcrs"

	flip_byte "$d/pcrs" "$d/pcrs.bad" 0
	expect_fail "$kind: PCR value altered" "PCR digest does not match" \
		"$d/ak.pub" "$d/msg" "$d/sig" "$nonce" "$OURSEL" "$d/pcrs.bad"

	# The verifier asked for something else than what was quoted.
	head -c $((32 * 4 + 20 * 3)) "$d/pcrs" >"$d/pcrs.short"
	expect_fail "$kind: selection differs from request" "PCR selection mismatch" \
		"$d/ak.pub" "$d/msg" "$d/sig" "$nonce" "sha256:0-3+sha1:0-2" "$d/pcrs.short"

	# A second AK of the same kind in the same TPM: its key did not make this signature.
	tpm2_createak -C ek.ctx -c "$d/ak2.ctx" -G "$alg" -g sha256 -s "$scheme" -u "$d/ak2.pub" >/dev/null
	tpm2_flushcontext -t
	expect_fail "$kind: quote checked against a sibling AK" "signature verification failed" \
		"$d/ak2.pub" "$d/msg" "$d/sig" "$nonce" "$OURSEL" "$d/pcrs"

	# An AK pinned to another scheme refuses the signature before trying it.
	if [ -n "${prev_pub:-}" ] && [ "$alg" = "${prev_alg:-}" ]; then
		expect_fail "$kind: quote checked against another AK" "signature verification failed" \
			"$prev_pub" "$d/msg" "$d/sig" "$nonce" "$OURSEL" "$d/pcrs"
	fi
	prev_pub=$d/ak.pub
	prev_alg=$alg
	last=$d
	last_nonce=$nonce
done

# PCR 7 moves after the quote: values read now no longer match the quoted digest.
tpm2_pcrextend "7:sha256=$(printf 'late' | sha256sum | cut -d' ' -f1)" >/dev/null
tpm2_pcrread "$TPMSEL" -o "$last/pcrs-late" >/dev/null
expect_fail "stale quote vs current PCRs" "PCR digest does not match" \
	"$last/ak.pub" "$last/msg" "$last/sig" "$last_nonce" "$OURSEL" "$last/pcrs-late"

ok "quote interop"

#!/bin/bash
# Our software MakeCredential (tests/tools/makecred -> credential_make) opened by
# a real TPM (swtpm) through tpm2_activatecredential, for an RSA-2048 EK
# (template L-1) and an ECC P-256 EK (template L-2), with ECC and RSA AKs: the
# TPM must return our secret. A blob made for another AK's name and blobs with a
# flipped byte (outer HMAC, encIdentity, encrypted seed) must be refused by the
# TPM. tpm2_makecredential --tcti none (RSA only in tpm2-tools 5.4) writes a file
# of the same layout, which the TPM also opens.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_createek tpm2_createak tpm2_activatecredential tpm2_startauthsession \
	tpm2_policysecret tpm2_flushcontext tpm2_makecredential openssl xxd

MC=$BUILD_DIR/tests/tools/makecred
[ -x "$MC" ] || fail "$MC not built (cmake --build ... --target makecred)"

swtpm_start tpm
cd "$WORK"

# flip_byte IN OUT OFFSET: copy IN to OUT with byte OFFSET xor 0x01.
flip_byte() {
	local b
	cp "$1" "$2"
	b=$(xxd -p -s "$3" -l 1 "$1")
	printf "%02x" $((0x$b ^ 0x01)) | xxd -r -p | dd of="$2" bs=1 seek="$3" conv=notrunc status=none
}

# activate DIR CREDFILE OUT: TPM2_ActivateCredential with the EK's
# PolicySecret(TPM_RH_ENDORSEMENT) session; leaves no object or session loaded.
activate() {
	local d=$1 rc=0
	tpm2_startauthsession --policy-session -S "$d/session.ctx" >/dev/null
	tpm2_policysecret -S "$d/session.ctx" -c e >/dev/null
	tpm2_activatecredential -c "$d/ak.ctx" -C "$d/ek.ctx" -i "$2" -o "$3" \
		-P"session:$d/session.ctx" >"$d/activate.log" 2>&1 || rc=$?
	tpm2_flushcontext "$d/session.ctx" >/dev/null 2>&1 || true
	tpm2_flushcontext -t >/dev/null
	tpm2_flushcontext -s >/dev/null
	return "$rc"
}

# expect_refused WHAT DIR CREDFILE
expect_refused() {
	if activate "$2" "$3" "$2/refused.out"; then
		fail "$1: the TPM activated it (got $(xxd -p -c 64 "$2/refused.out"))"
	fi
	ok "$1 refused by the TPM: $(grep -o 'ErrorCode.*' "$2/activate.log" | head -1)"
}

for kind in rsa:ecc rsa:rsa ecc:ecc ecc:rsa; do
	ekalg=${kind%%:*}
	akalg=${kind#*:}
	d=$WORK/ek-$ekalg-ak-$akalg
	mkdir -p "$d"
	tpm2_createek -G "$ekalg" -c "$d/ek.ctx" -u "$d/ek.pub" >/dev/null
	tpm2_flushcontext -t >/dev/null
	if [ "$akalg" = ecc ]; then scheme=ecdsa; else scheme=rsassa; fi
	tpm2_createak -C "$d/ek.ctx" -c "$d/ak.ctx" -G "$akalg" -g sha256 -s "$scheme" \
		-u "$d/ak.pub" -n "$d/ak.name" >/dev/null
	tpm2_flushcontext -t >/dev/null
	tpm2_flushcontext -s >/dev/null
	name=$(xxd -p -c 256 "$d/ak.name")

	for len in 32 16 1; do
		secret=$(openssl rand -hex "$len")
		"$MC" "$d/ek.pub" "$name" "$secret" "$d/cred-$len.bin" || fail "$kind: makecred exited $?"
		activate "$d" "$d/cred-$len.bin" "$d/got-$len.bin" ||
			fail "$kind: TPM refused our credential: $(cat "$d/activate.log")"
		got=$(xxd -p -c 64 "$d/got-$len.bin")
		[ "$got" = "$secret" ] || fail "$kind: TPM returned $got, we sealed $secret"
		ok "$kind EK/AK: TPM2_ActivateCredential returned our $len-byte secret"
	done

	# The file layout: magic, version 1, then the two TPM2B structures.
	[ "$(xxd -p -l 8 "$d/cred-32.bin")" = badcc0de00000001 ] || fail "$kind: file header"

	# The credential is bound to the AK name: a blob for another name is refused.
	other=${name:0:4}$(openssl rand -hex $(((${#name} - 4) / 2)))
	"$MC" "$d/ek.pub" "$other" "$(openssl rand -hex 32)" "$d/other.bin"
	expect_refused "$kind: credential for another AK name" "$d" "$d/other.bin"

	# Flipped bytes: 8 + 2 (ID_OBJECT size) + 2 (HMAC size) = 12 is the first HMAC
	# byte; 12 + 32 the first encIdentity byte; the encrypted seed follows the blob.
	blob_size=$((0x$(xxd -p -s 8 -l 2 "$d/cred-32.bin")))
	seed_off=$((8 + 2 + blob_size + 2))
	for spec in "outer HMAC:12" "encIdentity:44" "last encIdentity:$((8 + 2 + blob_size - 1))" \
		"encrypted seed:$((seed_off + 5))" "last encrypted seed:$(($(stat -c %s "$d/cred-32.bin") - 1))"; do
		flip_byte "$d/cred-32.bin" "$d/flipped.bin" "${spec##*:}"
		expect_refused "$kind: flipped ${spec%%:*} byte (offset ${spec##*:})" "$d" "$d/flipped.bin"
	done

	# Too long a secret for a SHA-256 EK: the TPM would refuse to make it; so do we.
	rc=0
	"$MC" "$d/ek.pub" "$name" "$(openssl rand -hex 33)" "$d/long.bin" 2>"$d/long.err" || rc=$?
	[ "$rc" -eq 1 ] || fail "$kind: 33-byte secret: makecred exit $rc, want 1"
	ok "$kind: 33-byte secret refused: $(cat "$d/long.err")"

	# tpm2-tools' own software MakeCredential: same layout and size as ours.
	if [ "$ekalg" = rsa ]; then
		secret=$(openssl rand -hex 32)
		printf '%s' "$secret" | xxd -r -p >"$d/secret.bin"
		tpm2_makecredential -T none -e "$d/ek.pub" -s "$d/secret.bin" -n "$name" -o "$d/tools.bin" >/dev/null
		[ "$(stat -c %s "$d/tools.bin")" = "$(stat -c %s "$d/cred-32.bin")" ] ||
			fail "$kind: tpm2_makecredential file is $(stat -c %s "$d/tools.bin") bytes, ours $(stat -c %s "$d/cred-32.bin")"
		[ "$(xxd -p -l 12 "$d/tools.bin")" = "$(xxd -p -l 12 "$d/cred-32.bin")" ] ||
			fail "$kind: header/size fields differ from tpm2_makecredential's"
		activate "$d" "$d/tools.bin" "$d/tools.out" || fail "$kind: tpm2_makecredential output refused"
		[ "$(xxd -p -c 64 "$d/tools.out")" = "$secret" ] || fail "$kind: tpm2-tools round trip"
		ok "$kind: tpm2_makecredential --tcti none writes the same layout (and activates)"
	fi
done

#!/bin/bash
# The attestor in pull mode against swtpm, driven over mutual TLS by an
# independent client (Python grpcio, stubs generated here), its outputs
# checked by independent tools:
#  - GetEndorsement: the RSA EK, its certificate == NV 0x01c00002 (tpm2_nvread),
#    the certificate's key == the EK public returned; platform certificate
#  - GetAttestationKey + Quote over sha256:0,1,2,3 with a random nonce:
#    tpm2_checkquote accepts it; a different nonce makes tpm2_checkquote fail;
#    the returned PCR values == tpm2_pcrread's
#  - 50 more quotes leave the TPM's transient object count unchanged
#  - tpm2_makecredential --tcti none for our AK name + EK public activates
#    through the attestor (the secret comes back); a flipped credential byte,
#    a trailing byte and a foreign AK name are refused with their own status
#  - malformed requests (3-byte nonce, bank 0x9999, PCR 24) -> INVALID_ARGUMENT
#    with a message; an empty DeliverSecrets right after a Quote ->
#    INVALID_ARGUMENT, a second one (no Quote in between) -> FAILED_PRECONDITION
#  - the same with an ECC P-256 EK as parent, after provisioning one
#  - SIGTERM stops the attestor with exit status 0
# for ECC and RSA AKs. Prints the measured cost of each call.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_checkquote tpm2_makecredential tpm2_getcap tpm2_pcrread \
	tpm2_nvread tpm2_pcrextend protoc grpc_python_plugin openssl cmp
/usr/bin/python3 -c 'import grpc' 2>/dev/null || { echo "SKIP: python3-grpcio missing" >&2; exit 77; }

ATTESTOR=$BUILD_DIR/attestor
[ -x "$ATTESTOR" ] || fail "$ATTESTOR not built"
CLIENT=$SOURCE_DIR/tests/integration/attestor_client.py
SEL="sha256:0,1,2,3"

swtpm_start tpm
pcr_extend_some
pki_make "$WORK/pki"
cd "$WORK"

mkdir -p py
protoc -I"$SOURCE_DIR/proto" --python_out=py --grpc_python_out=py \
	--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin attest.proto

transient_count() { tpm2_getcap handles-transient | grep -c '^-' || true; }

# What the tools see while the attestor is not connected (swtpm serves one
# connection at a time).
tpm2_pcrread "$SEL" -o pcrread.bin >/dev/null
tpm2_nvread -C o 0x01c00002 -o nv_ek_rsa.der >/dev/null

# run_attestor AK_ALG EK_ALG: start it with a config that uses relative TLS paths.
run_attestor() {
	cat >"$WORK/attestor-$1-$2.conf" <<CONF
; written by test_attestor_tpm.sh
[attestor]
mode = pull
listen = 127.0.0.1:0
tcti = $TCTI
; swtpm, not this machine's TPM: not this machine's measurement logs either
event_log =
ima_log =
ak_alg = $1   ; inline comment
ek_alg = $2
state_dir = state
log_level = info

[tls]
ca = pki/ca.pem
cert = pki/attestor.pem
key = pki/attestor.key
verifier_identity = verifier
insecure = false
CONF
	bg "attestor-$1-$2" "$ATTESTOR" --config "$WORK/attestor-$1-$2.conf"
	ATT_PID=$BG_PID
	PORT=$(log_port "$WORK/attestor-$1-$2.log")
	CL=(/usr/bin/python3 "$CLIENT" --stubs "$WORK/py" --target "127.0.0.1:$PORT"
		--ca pki/ca.pem --cert pki/verifier.pem --key pki/verifier.key)
}

stop_attestor() {
	local rc=0
	kill -TERM "$ATT_PID"
	wait "$ATT_PID" || rc=$?
	[ "$rc" -eq 0 ] || fail "attestor exited with $rc after SIGTERM"
	grep -q "stopping" "$WORK/attestor-$1-$2.log" || fail "attestor did not log a clean stop"
}

# exercise AK_ALG EK_ALG: the whole pull protocol against one attestor process.
exercise() {
	local ak=$1 ek=$2 d=$WORK/$1-$2 before after out secret nonce name
	mkdir -p "$d"
	before=$(transient_count)
	run_attestor "$ak" "$ek"

	out=$("${CL[@]}" endorsement "$d") || fail "$ak/$ek: GetEndorsement"
	echo "  [$ak AK, $ek EK] $out"
	[ -s "$d/ek_rsa.der" ] || fail "no RSA EK certificate returned"
	[ -s "$d/ek_$ek.pub" ] || fail "the parent EK ($ek) is missing from GetEndorsement"
	[ -s "$d/platform.der" ] || fail "no platform certificate returned"
	[ "$(openssl x509 -inform DER -in "$d/ek_rsa.der" -noout -fingerprint -sha256)" = \
	  "$(openssl x509 -inform DER -in nv_ek_rsa.der -noout -fingerprint -sha256)" ] ||
		fail "EK certificate differs from NV 0x01c00002"
	[ "$(openssl x509 -inform DER -in "$d/ek_rsa.der" -noout -modulus)" = "Modulus=$(cat "$d/ek_rsa.modulus")" ] ||
		fail "RSA EK certificate key is not the EK public returned"
	openssl x509 -inform DER -in "$d/platform.der" -noout || fail "platform certificate does not parse"
	ok "$ak/$ek: GetEndorsement (EK cert == NV, cert key == EKpub)"

	out=$("${CL[@]}" ak "$d") || fail "$ak/$ek: GetAttestationKey"
	echo "  [$ak AK, $ek EK] $out"
	name=$(cat "$d/ak.name")

	nonce=$(openssl rand -hex 24)
	out=$("${CL[@]}" quote "$d" "$nonce" "$SEL") || fail "$ak/$ek: Quote"
	echo "  [$ak AK, $ek EK] $out"
	tpm2_checkquote -u "$d/ak.pub" -m "$d/quote.msg" -s "$d/quote.sig" -f "$d/pcrs.bin" \
		-l "$SEL" -g sha256 -q "$nonce" >"$d/checkquote.out" 2>&1 ||
		{ cat "$d/checkquote.out" >&2; fail "$ak/$ek: tpm2_checkquote rejects our quote"; }
	if tpm2_checkquote -u "$d/ak.pub" -m "$d/quote.msg" -s "$d/quote.sig" -f "$d/pcrs.bin" \
		-l "$SEL" -g sha256 -q "$(openssl rand -hex 24)" >/dev/null 2>&1; then
		fail "$ak/$ek: tpm2_checkquote accepts the quote with another nonce"
	fi
	cmp -s "$d/pcrs.bin" pcrread.bin || fail "$ak/$ek: PCR values differ from tpm2_pcrread's"
	ok "$ak/$ek: Quote verified by tpm2_checkquote (and fails with another nonce); values == tpm2_pcrread"

	out=$("${CL[@]}" quotes 50 "sha256:0-7+sha1:0-7") || fail "$ak/$ek: 50 quotes"
	echo "  [$ak AK, $ek EK] $out (sha256:0-7+sha1:0-7)"
	"${CL[@]}" costs 20 | sed "s/^/  [$ak AK, $ek EK] /" || fail "$ak/$ek: costs"

	# Credential for our AK, made offline by tpm2-tools for the EK we returned.
	(umask 077; openssl rand 32 >"$d/secret.bin")
	tpm2_makecredential --tcti none -u "$d/ek_$ek.pub" -s "$d/secret.bin" -n "$name" \
		-o "$d/mkcred.out" >/dev/null 2>"$d/mkcred.err" ||
		{ cat "$d/mkcred.err" >&2; fail "$ak/$ek: tpm2_makecredential"; }
	out=$(REPEAT=20 "${CL[@]}" activate "$ek" "$name" "$d/mkcred.out") || fail "$ak/$ek: ActivateCredential: $out"
	echo "  [$ak AK, $ek EK] $(head -1 <<<"$out")"
	secret=$(sed -n 's/^secret=//p' <<<"$out")
	[ "$secret" = "$(od -An -tx1 -v "$d/secret.bin" | tr -d ' \n')" ] ||
		fail "$ak/$ek: activated secret differs from the one made"
	ok "$ak/$ek: tpm2_makecredential blob activated through the attestor"

	out=$(TAMPER=blob "${CL[@]}" activate "$ek" "$name" "$d/mkcred.out") && fail "tampered credential activated"
	grep -q "status=INVALID_ARGUMENT" <<<"$out" || fail "tampered credential: $out"
	out=$(TAMPER=trailing "${CL[@]}" activate "$ek" "$name" "$d/mkcred.out") && fail "trailing byte accepted"
	grep -q "status=INVALID_ARGUMENT.*trailing" <<<"$out" || fail "trailing byte: $out"
	tpm2_makecredential --tcti none -u "$d/ek_$ek.pub" -s "$d/secret.bin" \
		-n "000b$(openssl rand -hex 32)" -o "$d/mkcred-other.out" >/dev/null 2>&1
	out=$("${CL[@]}" activate "$ek" "000b$(openssl rand -hex 32)" "$d/mkcred-other.out") &&
		fail "credential for a foreign AK name activated"
	grep -q "status=FAILED_PRECONDITION" <<<"$out" || fail "foreign AK name: $out"
	ok "$ak/$ek: tampered credential, trailing byte, foreign AK name refused"

	"${CL[@]}" expect-error INVALID_ARGUMENT quote 3 "$SEL" || fail "3-byte nonce"
	"${CL[@]}" expect-error INVALID_ARGUMENT quote 65 "$SEL" || fail "65-byte nonce"
	"${CL[@]}" expect-error INVALID_ARGUMENT quote 32 "0x9999:0,1" || fail "bank 0x9999"
	"${CL[@]}" expect-error INVALID_ARGUMENT quote 32 "sha384:0" || fail "unallocated bank"
	"${CL[@]}" expect-error INVALID_ARGUMENT quote 32 "sha256:24" || fail "PCR 24"
	"${CL[@]}" expect-error INVALID_ARGUMENT quote 32 "sha256:1,1" || fail "PCR twice"
	"${CL[@]}" expect-error INVALID_ARGUMENT quote 32 "sha256:0+sha256:1" || fail "bank twice"
	"${CL[@]}" quote-only "$SEL" >/dev/null || fail "a Quote before the delivery"
	"${CL[@]}" expect-error INVALID_ARGUMENT deliver || fail "empty DeliverSecrets"
	"${CL[@]}" expect-error FAILED_PRECONDITION deliver || fail "a second DeliverSecrets after one Quote"
	ok "$ak/$ek: malformed requests refused with INVALID_ARGUMENT and a message"

	stop_attestor "$ak" "$ek"
	after=$(transient_count)
	[ "$after" = "$before" ] || fail "$ak/$ek: transient objects $before before, $after after"
	ok "$ak/$ek: ~120 calls left the transient object count at $after; clean stop on SIGTERM"
}

# A config with an unknown key is refused with file and line.
printf '[attestor]\nmode = pull\nlisten = 127.0.0.1:1\ntcti = %s\nak_algo = ecc\n[tls]\ninsecure = true\n' \
	"$TCTI" >"$WORK/bad.conf"
rc=0
out=$("$ATTESTOR" --config "$WORK/bad.conf" 2>&1) || rc=$?
[ "$rc" -eq 2 ] && grep -q "bad.conf:5: unknown key 'ak_algo' in \[attestor\]" <<<"$out" ||
	fail "unknown key: rc $rc, '$out'"
ok "unknown config key refused: $out"

exercise ecc rsa
exercise rsa rsa

# An ECC P-256 EK with a certificate, as parent.
swtpm_add_p256_ek
tpm2_flushcontext -t >/dev/null 2>&1 || true
exercise ecc ecc
[ -s "$WORK/ecc-ecc/ek_ecc.der" ] || fail "ECC EK certificate (NV 0x01c0000a) not returned"
ok "ECC P-256 EK certificate returned"

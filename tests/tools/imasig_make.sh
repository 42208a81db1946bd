#!/usr/bin/env bash
# imasig_make.sh OUTDIR: throwaway IMA signing material for the unit tests,
# made at test time (no private key is ever committed).
#
# Keys (each with a self-signed certificate, whose subjectKeyIdentifier is
# the IMA key id): rsa (RSA-2048, certificate as DER), ec (P-256, certificate
# as PEM, public key as PEM), other (RSA-2048, never trusted by the tests).
# Files file-NAME with their signature file-NAME.sig (security.ima bytes,
# from the type byte on):
#   rsa, ec, other    v2 over SHA-256, by evmctl ima_sign when it is there
#                     (ima-evm-utils: an implementation independent of ours),
#                     else by openssl pkeyutl with the header built here
#   rsa384            v2 over SHA-384 by the rsa key (same signer choice)
#   v3                v3 (ima_file_id) over SHA-256 by the rsa key, openssl
#   verity            type 6 v3 over SHA-256 by the ec key, openssl (the
#                     SHA-256 of the file stands in for its fs-verity digest)
# IMASIG_SIGNER=openssl forces openssl for the v2 signatures as well.
# Prints "signer: evmctl|openssl". Exit 77 when openssl is missing.
set -euo pipefail
out=${1:?usage: imasig_make.sh OUTDIR}
command -v openssl >/dev/null || exit 77
mkdir -p "$out"
cd "$out"

signer=openssl
if [ "${IMASIG_SIGNER:-}" != openssl ] && command -v evmctl >/dev/null; then
	signer=evmctl
fi

hex2bin() { printf "$(printf '%s' "$1" | sed 's/../\\x&/g')"; }

# The IMA key id: openssl's default subjectKeyIdentifier is the SHA-1 of the
# subjectPublicKey, of which IMA takes the last 4 bytes.
keyid() {
	openssl x509 -in "$1.pem" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' :\n' | tail -c 8
}

for k in rsa ec other; do
	case $k in
	ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $k.key 2>/dev/null ;;
	*) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $k.key 2>/dev/null ;;
	esac
	openssl req -x509 -new -key $k.key -subj "/CN=IMA test key $k" -days 2 -out $k.pem 2>/dev/null
done
openssl x509 -in rsa.pem -outform DER -out rsa.der
openssl pkey -in ec.key -pubout -out ec-pub.pem

# header TYPE VERSION HASH_ALGO KEY SIGFILE: the signature_v2_hdr bytes.
header() {
	local n
	n=$(wc -c <"$5")
	hex2bin "$(printf '%02x%02x%02x%s%04x' "$1" "$2" "$3" "$(keyid "$4")" "$n")"
}

# openssl_sign KEY ALG TBS_FILE SIGFILE: PKCS#1 v1.5 (RSA) or DER ECDSA over a digest.
openssl_sign() {
	openssl pkeyutl -sign -inkey "$1" -pkeyopt "digest:$2" -in "$3" -out "$4"
}

# sign_v2 KEY ALG ALGID FILE
sign_v2() {
	if [ $signer = evmctl ]; then
		evmctl ima_sign --sigfile -a "$2" --key "$1.key" "$4" >/dev/null 2>&1
	else
		openssl dgst -"$2" -binary "$4" >"$4.dgst"
		openssl_sign "$1.key" "$2" "$4.dgst" "$4.raw"
		{ header 3 2 "$3" "$1" "$4.raw"; cat "$4.raw"; } >"$4.sig"
		rm -f "$4.dgst" "$4.raw"
	fi
}

# sign_v3 KEY TYPE FILE: over SHA-256(type | 4 | SHA-256(file)).
sign_v3() {
	{ hex2bin "$(printf '%02x04' "$2")"; openssl dgst -sha256 -binary "$3"; } >"$3.id"
	openssl dgst -sha256 -binary "$3.id" >"$3.tbs"
	openssl_sign "$1.key" sha256 "$3.tbs" "$3.raw"
	{ header "$2" 3 4 "$1" "$3.raw"; cat "$3.raw"; } >"$3.sig"
	rm -f "$3.id" "$3.tbs" "$3.raw"
}

for f in rsa ec other rsa384 v3 verity; do
	printf 'IMA test file %s, %s\n' "$f" "$(openssl rand -hex 8)" >file-$f
done
sign_v2 rsa sha256 4 file-rsa
sign_v2 ec sha256 4 file-ec
sign_v2 other sha256 4 file-other
sign_v2 rsa sha384 5 file-rsa384
sign_v3 rsa 3 file-v3
sign_v3 ec 6 file-verity
echo "signer: $signer"

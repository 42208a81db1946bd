#!/bin/bash
# Certificates for TPM-resident keys (issue #18), the verifier's half,
# against a real TPM (swtpm) driven by tpm2-tools (tests/tools/certify_check):
#  - a P-256 signing key made in the TPM (fixedTPM, fixedParent,
#    sensitiveDataOrigin) and certified by an ECDSA AK with tpm2_certify
#    passes certify_verify;
#  - refused, each with its reason: a wrong nonce, a flipped attest byte, a
#    certify by another AK, another key's public area, a duplicable key, a
#    restricted key, a certify signed by a key that is no AK;
#  - the certificate keycert_issue makes verifies with openssl against the
#    CA, holds the TPM key (tpm2_readpublic), CN and DNS name, clientAuth;
#    a name that is no DNS name is refused.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_createek tpm2_createak tpm2_createprimary tpm2_create tpm2_load tpm2_certify \
	tpm2_readpublic tpm2_evictcontrol tpm2_flushcontext tpm2_send openssl

CC=$BUILD_DIR/tests/tools/certify_check
[ -x "$CC" ] || fail "$CC not built (cmake --build ... --target certify_check)"

swtpm_start tpm
cd "$WORK"
flush() { tpm2_flushcontext -t >/dev/null 2>&1 || true; tpm2_flushcontext -s >/dev/null 2>&1 || true; tpm2_flushcontext -l >/dev/null 2>&1 || true; }
tpm2_createek -c ek.ctx -G rsa -u ek.pub >/dev/null
tpm2_createak -C ek.ctx -c ak.ctx -G ecc -g sha256 -s ecdsa -u ak.pub -n ak.name >/dev/null
flush
tpm2_createak -C ek.ctx -c ak2.ctx -G ecc -g sha256 -s ecdsa -u ak2.pub -n ak2.name >/dev/null
flush
tpm2_createprimary -C o -g sha256 -G ecc -c prim.ctx >/dev/null
# key NAME ATTRIBUTES: a P-256 ECDSA key under the primary, loaded.
key() {
	tpm2_create -C prim.ctx -G ecc256:ecdsa-sha256 -g sha256 -a "$2" -u "$1.pub" -r "$1.priv" >/dev/null
	flush
	tpm2_load -C prim.ctx -u "$1.pub" -r "$1.priv" -c "$1.ctx" >/dev/null
	flush
}
key tls "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign"
key other "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign"
key dup "sensitivedataorigin|userwithauth|sign"
# tpm2_certify (5.4) takes no qualifying data: its certify, with none, is
# the format check; each certify over a nonce is TPM2_Certify itself, sent
# with tpm2_send on the persistent handles (two password sessions).
flush
tpm2_certify -c tls.ctx -C ak.ctx -g sha256 -o tools.attest -s tools.sig >/dev/null
flush
tpm2_evictcontrol -C o -c ak.ctx 0x81000101 >/dev/null
flush
tpm2_evictcontrol -C o -c ak2.ctx 0x81000102 >/dev/null
flush
# certify KEY_HANDLE AK_HANDLE NONCE OUT: OUT.attest (TPMS_ATTEST), OUT.sig (TPMT_SIGNATURE).
certify() {
	/usr/bin/python3 - "$1" "$2" "$3" >cmd.bin <<'PY'
import struct, sys
key, ak, nonce = int(sys.argv[1], 16), int(sys.argv[2], 16), bytes.fromhex(sys.argv[3])
pw = struct.pack(">IHBH", 0x40000009, 0, 1, 0)
body = struct.pack(">II", key, ak) + struct.pack(">I", 2 * len(pw)) + 2 * pw
body += struct.pack(">H", len(nonce)) + nonce + struct.pack(">H", 0x0010)
sys.stdout.buffer.write(struct.pack(">HII", 0x8002, 10 + len(body), 0x148) + body)
PY
	tpm2_send -o rsp.bin <cmd.bin || fail "tpm2_send TPM2_Certify"
	/usr/bin/python3 - rsp.bin "$4" <<'PY' || fail "TPM2_Certify answered"
import struct, sys
r = open(sys.argv[1], "rb").read()
tag, size, rc = struct.unpack(">HII", r[:10])
assert rc == 0, "TPM2_Certify: rc 0x%x" % rc
psize = struct.unpack(">I", r[10:14])[0]
p = r[14:14 + psize]
n = struct.unpack(">H", p[:2])[0]
open(sys.argv[2] + ".attest", "wb").write(p[2:2 + n])
open(sys.argv[2] + ".sig", "wb").write(p[2 + n:])
PY
}
N=$(openssl rand -hex 16)
for k in tls:0x81000100 other:0x81000103 dup:0x81000104; do
	tpm2_evictcontrol -C o -c "${k%%:*}.ctx" "${k#*:}" >/dev/null
	flush
done
certify 0x81000100 0x81000101 "$N" good
certify 0x81000100 0x81000102 "$N" byak2
certify 0x81000104 0x81000101 "$N" dup
# A restricted key: the second AK, certified by the first.
certify 0x81000102 0x81000101 "$N" restricted
# A signer that is no AK: a key that signs anything it is given.
certify 0x81000100 0x81000103 "$N" byother

out=$("$CC" ak.pub tls.pub tools.attest tools.sig "$N") || true
grep -q "not the nonce issued" <<<"$out" || fail "tpm2_certify's certify (no qualifying data): $out"
ok "tpm2_certify's own certify (no qualifying data) parses and its signature verifies; refused for its nonce: $out"
out=$("$CC" ak.pub tls.pub good.attest good.sig "$N") || fail "a good certify: $out"
ok "tpm2_certify of a fixedTPM P-256 key by the AK: $out"

# expect_fail WHAT PATTERN certify_check-args...
expect_fail() {
	local what=$1 pattern=$2 out rc=0
	shift 2
	out=$("$CC" "$@") || rc=$?
	[ "$rc" -eq 1 ] && grep -q -- "$pattern" <<<"$out" || fail "$what: exit $rc: $out"
	ok "$what: refused: $out"
}
expect_fail "a stale nonce" "not the nonce issued" ak.pub tls.pub good.attest good.sig "$(openssl rand -hex 16)"
cp good.attest flipped.attest
printf '\x01' | dd of=flipped.attest bs=1 seek=40 conv=notrunc status=none
expect_fail "a flipped attest byte" "signature" ak.pub tls.pub flipped.attest good.sig "$N"
expect_fail "a certify by another AK" "signature" ak.pub tls.pub byak2.attest byak2.sig "$N"
expect_fail "another key's public area" "names another key" ak.pub other.pub good.attest good.sig "$N"
expect_fail "a duplicable key" "lacks fixedTPM" ak.pub dup.pub dup.attest dup.sig "$N"
expect_fail "a restricted key (an AK)" "has restricted" ak.pub ak2.pub restricted.attest restricted.sig "$N"
expect_fail "a certify signed by a key that is no AK" "restricted" other.pub tls.pub byother.attest byother.sig "$N"

# The key CA and its certificate for the key.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=key CA" -days 30 \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-keyout ca.key -out ca.pem 2>/dev/null
chmod 600 ca.key
out=$("$CC" ak.pub tls.pub good.attest good.sig "$N" ca.pem ca.key node1.example tls.crt) || fail "issuing: $out"
grep -q "^ISSUED serial=[0-9a-f]\{32\}$" <<<"$out" || fail "issuing: $out"
openssl verify -CAfile ca.pem -purpose sslclient tls.crt >/dev/null || fail "openssl verify: $(openssl verify -CAfile ca.pem tls.crt 2>&1)"
tpm2_readpublic -c tls.ctx -f pem -o tls-tpm.pem >/dev/null
cmp -s <(openssl pkey -pubin -in tls-tpm.pem -outform DER) <(openssl x509 -in tls.crt -pubkey -noout | openssl pkey -pubin -outform DER) ||
	fail "the certificate holds another key than the TPM's"
text=$(openssl x509 -in tls.crt -noout -text)
for want in "Subject: CN = node1.example" "DNS:node1.example" "TLS Web Client Authentication" "CA:FALSE" \
	"Digital Signature"; do
	grep -q "$want" <<<"$text" || fail "the certificate lacks '$want'"
done
ok "the certificate ($(grep ^ISSUED <<<"$out")) verifies against the CA for client use, holds the TPM's key, CN and DNS node1.example"
RC=0
"$CC" ak.pub tls.pub good.attest good.sig "$N" ca.pem ca.key 'node1;rm' bad.crt >/dev/null 2>&1 || RC=$?
[ "$RC" -eq 1 ] && [ ! -e bad.crt ] || fail "a CN with ';': exit $RC"
ok "a name that is no DNS name ('node1;rm') gets no certificate"

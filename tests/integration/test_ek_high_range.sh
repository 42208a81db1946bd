#!/bin/bash
# EKs of the EK Credential Profile's high range (issue #14), against swtpm
# 0.7.1 set up with --rsa-keysize 3072: it certifies an RSA-3072 EK (H-6,
# NV 0x01c0001c, persistent 0x8101001c) and an ECC P-384 EK (H-3, NV
# 0x01c00016, persistent 0x81010016) and no low-range EK at all. For each
# key type, push mode end to end: the attestor uses the certified EK (the
# EK the node is recorded with is the one tpm2_readpublic reads at the
# persistent handle), the credential is activated, an AES-256 secret is
# wrapped to that EK, imported and unsealed. Then the persistent EKs are
# evicted: the attestor creates them from our H-6/H-3 templates, and the
# certificates still match (the template is the one swtpm certified).
# A certificate planted at the L-1 slot with owner authorization is not
# taken for one (it would switch the attestor to the L-1 template).
# Last, a TPM whose only ECC EK certificate is for P-521 (H-4, a template
# we do not use): the attestor says so, naming what it found and uses.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_readpublic tpm2_evictcontrol tpm2_nvreadpublic tpm2_nvread tpm2_nvdefine \
	tpm2_nvwrite tpm2_nvundefine tpm2_getcap openssl od
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

SWTPM_SETUP_EXTRA="--rsa-keysize 3072" swtpm_start tpm
pcr_extend_some
pki_make "$WORK/pki"
P=$WORK/pki
nv=$(tpm2_nvreadpublic | grep -o '^0x1c0[0-9a-f]*' | tr '\n' ' ')
[ "$nv" = "0x1c00016 0x1c0001c 0x1c08000 " ] || fail "swtpm's NV indices: '$nv'"
persistent=$(tpm2_getcap handles-persistent | grep -o '0x8101[0-9A-Fa-f]*' | tr '\n' ' ')
[ "$persistent" = "0x8101001C 0x81010016 " ] || [ "$persistent" = "0x81010016 0x8101001C " ] ||
	fail "swtpm's persistent EKs: '$persistent'"
ok "swtpm --rsa-keysize 3072: EK certificates at 0x01c0001c (RSA-3072) and 0x01c00016 (P-384) only"
tpm2_readpublic -c 0x8101001c -o "$WORK/rsa3072.pub" >/dev/null
tpm2_readpublic -c 0x81010016 -o "$WORK/p384.pub" >/dev/null
hexof() { od -An -tx1 -v "$1" | tr -d ' \n' | tr a-f A-F; }

(umask 077; openssl rand 32 >"$WORK/aes.key")
AES_HEX=$(od -An -tx1 -v "$WORK/aes.key" | tr -d ' \n')

# attest NAME ALG: a verifier with ek_alg ALG (push, its own database) and
# an attestor --once with ek_alg ALG and its own state; the secret
# delivered and unsealed. Sets DB.
attest() {
	local port
	port=$(free_port)
	mkdir -p "$WORK/$1-v"
	verifier_conf "$WORK/$1-v.conf" "mode = push
listen = 127.0.0.1:$port
ek_roots = $EK_ROOTS
ek_alg = $2
require_ek_cert = true
state_dir = $WORK/$1-v" "$PCR_REF" "[secret disk]
kind = aes256
key = $WORK/aes.key
pcrs = sha256:0-7"
	bg "$1-v" "$BUILD_DIR/verifier" serve --config "$WORK/$1-v.conf"
	wait_port "$port"
	attestor_conf "$WORK/$1-a.conf" push "127.0.0.1:$port" "$WORK/$1-a" "ek_alg = $2"
	"$BUILD_DIR/attestor" --config "$WORK/$1-a.conf" --once --wait 20 >"$WORK/$1-a.out" 2>"$WORK/$1-a.err" ||
		fail "$1: attestor --once: $(tail -n 5 "$WORK/$1-a.err")"
	grep -q "verdict PASS" "$WORK/$1-v.log" || fail "$1: no PASS: $(tail -n 5 "$WORK/$1-v.log")"
	grep -q "secret 'disk' delivered to host .*proof verified" "$WORK/$1-v.log" ||
		fail "$1: secret not delivered: $(tail -n 5 "$WORK/$1-v.log")"
	got=$("$BUILD_DIR/attestor" unseal disk --config "$WORK/$1-a.conf" 2>"$WORK/$1-unseal.err") ||
		fail "$1: unseal: $(cat "$WORK/$1-unseal.err")"
	[ "$got" = "$AES_HEX" ] || fail "$1: unseal gave another key"
	DB=$WORK/$1-v/verifier.db
}

attest rsa rsa
[ "$(db_rows "$DB" "SELECT hex(ek_pub) FROM nodes")" = "$(hexof "$WORK/rsa3072.pub")" ] ||
	fail "rsa: the node's EK is not the TPM's persistent RSA-3072 EK"
ok "ek_alg = rsa: RSA-3072 (H-6) EK, certificate checked, credential activated, secret unsealed"
attest ecc ecc
[ "$(db_rows "$DB" "SELECT hex(ek_pub) FROM nodes")" = "$(hexof "$WORK/p384.pub")" ] ||
	fail "ecc: the node's EK is not the TPM's persistent P-384 EK"
ok "ek_alg = ecc: ECC P-384 (H-3) EK, certificate checked, credential activated, secret unsealed"

# Without the persistent EKs the attestor derives them from the templates.
tpm2_evictcontrol -C o -c 0x8101001c >/dev/null
tpm2_evictcontrol -C o -c 0x81010016 >/dev/null
[ -z "$(tpm2_getcap handles-persistent | grep -o '0x8101[0-9A-Fa-f]*')" ] || fail "persistent EKs left"
attest rsa-created rsa
[ "$(db_rows "$DB" "SELECT hex(ek_pub) FROM nodes")" = "$(hexof "$WORK/rsa3072.pub")" ] ||
	fail "rsa-created: the EK made from the H-6 template is not the certified one"
attest ecc-created ecc
[ "$(db_rows "$DB" "SELECT hex(ek_pub) FROM nodes")" = "$(hexof "$WORK/p384.pub")" ] ||
	fail "ecc-created: the EK made from the H-3 template is not the certified one"
ok "no persistent EKs: the H-6 and H-3 templates give the certified keys; both pass again"

# A local user with owner authorization copies the H-6 certificate to the
# empty L-1 slot: taken for the TPM maker's, it would switch the attestor
# to the L-1 template, whose key no certificate is for.
tpm2_nvread 0x01c0001c -C o -o "$WORK/rsa3072.der" >/dev/null
tpm2_nvdefine 0x01c00002 -C o -s "$(stat -c %s "$WORK/rsa3072.der")" \
	-a "ownerread|ownerwrite|authread|no_da" >/dev/null
tpm2_nvwrite 0x01c00002 -C o -i "$WORK/rsa3072.der" >/dev/null
attest planted rsa
[ "$(db_rows "$DB" "SELECT hex(ek_pub) FROM nodes")" = "$(hexof "$WORK/rsa3072.pub")" ] ||
	fail "planted: the node's EK is not the certified RSA-3072 EK"
grep -q "NV 0x01c00002 was defined with owner authorization, not by the platform" "$WORK/planted-a.err" ||
	fail "planted: the attestor does not say it ignored NV 0x01c00002: $(cat "$WORK/planted-a.err")"
tpm2_nvundefine 0x01c00002 -C o >/dev/null
ok "an owner-defined certificate at the L-1 slot is ignored: the H-6 EK still attests"

# Only a P-521 certificate for ECC: move the P-384 one to H-4's index.
tpm2_nvread 0x01c00016 -C o -o "$WORK/p384.der" >/dev/null
tpm2_nvundefine 0x01c00016 -C p >/dev/null
tpm2_nvdefine 0x01c00018 -C p -s "$(stat -c %s "$WORK/p384.der")" \
	-a "ppwrite|ppread|ownerread|authread|no_da|platformcreate" >/dev/null
tpm2_nvwrite 0x01c00018 -C p -i "$WORK/p384.der" >/dev/null
port=$(free_port)
mkdir -p "$WORK/p521-v"
verifier_conf "$WORK/p521-v.conf" "mode = push
listen = 127.0.0.1:$port
ek_roots = $EK_ROOTS
ek_alg = ecc
state_dir = $WORK/p521-v"
bg p521-v "$BUILD_DIR/verifier" serve --config "$WORK/p521-v.conf"
wait_port "$port"
attestor_conf "$WORK/p521-a.conf" push "127.0.0.1:$port" "$WORK/p521-a" "ek_alg = ecc"
RC=0
"$BUILD_DIR/attestor" --config "$WORK/p521-a.conf" --once --wait 20 >"$WORK/p521-a.out" 2>"$WORK/p521-a.err" || RC=$?
[ "$RC" -eq 1 ] || fail "p521: exit $RC: $(tail -n 3 "$WORK/p521-a.err")"
grep -q "the TPM's ecc EK certificate (NV 0x01c00018) is for ECC P-521 (H-4), a template this attestor does not use: its ecc EKs are ECC P-256 (L-2) and ECC P-384 (H-3)" \
	"$WORK/p521-a.err" || fail "p521: the attestor does not name the curve: $(cat "$WORK/p521-a.err")"
grep -q "^FAIL .*no ecc EK certificate" "$WORK/p521-a.err" || fail "p521: $(grep FAIL "$WORK/p521-a.err")"
[ -z "$(db_rows "$WORK/p521-v/verifier.db" "SELECT id FROM nodes")" ] || fail "p521: a node was recorded"
ok "an ECC EK certificate for P-521 only: $(grep -o 'the TPM.s ecc EK certificate.*' "$WORK/p521-a.err" | head -1 | cut -c1-150)"

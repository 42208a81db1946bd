#!/bin/bash
# A local user who holds owner authorization (empty on most hosts) plants
# objects where the attestor looks for the TPM maker's (issue #14). Each
# attack runs the real attestor (push, --once) against a verifier that
# requires an EK certificate; each must leave the node passing with the
# EK it was recorded with, and the TPM's lockout counter where it was:
# - an index defined with owner authorization at an EK certificate slot
#   (0x01c0000a, the ECC P-256 one swtpm leaves empty), readable only with
#   an auth the attacker chose: reading it would fail (and, without
#   TPMA_NV_NO_DA, count towards dictionary-attack lockout);
# - a platform-created index there that is DA-protected: never tried;
# - a key of the RSA EK template's shape, made in the owner hierarchy, at
#   the persistent EK handle 0x81010001: not what the EK certificate
#   certifies, so the attestor creates the EK instead of using it.
# The AK (empty auth) is noDA: a wrong HMAC on it counts towards nothing.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_readpublic tpm2_evictcontrol tpm2_nvdefine tpm2_nvwrite \
	tpm2_nvundefine tpm2_getcap tpm2_createprimary tpm2_flushcontext xxd od
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

swtpm_start tpm
pcr_extend_some
pki_make "$WORK/pki"
P=$WORK/pki
hexof() { od -An -tx1 -v "$1" | tr -d ' \n' | tr a-f A-F; }
lockouts() { tpm2_getcap properties-variable | awk '/TPM2_PT_LOCKOUT_COUNTER/ { print $2 }'; }
tpm2_readpublic -c 0x81010001 -o "$WORK/ek.pub" >/dev/null || fail "swtpm has no persistent RSA EK"
EK_HEX=$(hexof "$WORK/ek.pub")
head -c 64 /dev/urandom >"$WORK/junk"

port=$(free_port)
mkdir -p "$WORK/v"
verifier_conf "$WORK/v.conf" "mode = push
listen = 127.0.0.1:$port
ek_roots = $EK_ROOTS
require_ek_cert = true
state_dir = $WORK/v"
bg v "$BUILD_DIR/verifier" serve --config "$WORK/v.conf"
wait_port "$port"
attestor_conf "$WORK/a.conf" push "127.0.0.1:$port" "$WORK/a"
DB=$WORK/v/verifier.db

# attest NAME: one attestation, which must pass, by the node recorded with
# the TPM's certified EK (and no other node); the lockout counter unchanged.
attest() {
	local before passes
	before=$(lockouts)
	passes=$(grep -c "verdict PASS" "$WORK/v.log" || true)
	"$BUILD_DIR/attestor" --config "$WORK/a.conf" --once --wait 20 >"$WORK/$1.out" 2>"$WORK/$1.err" ||
		fail "$1: attestor --once: $(tail -n 5 "$WORK/$1.err")"
	[ "$(grep -c "verdict PASS" "$WORK/v.log")" -eq $((passes + 1)) ] ||
		fail "$1: no new PASS: $(tail -n 5 "$WORK/v.log")"
	[ "$(db_rows "$DB" "SELECT hex(ek_pub) FROM nodes")" = "$EK_HEX" ] ||
		fail "$1: the nodes are not the one with the certified EK: $(db_rows "$DB" "SELECT id FROM nodes")"
	[ "$(lockouts)" = "$before" ] || fail "$1: the lockout counter went from $before to $(lockouts)"
}

attest baseline
# TPM2B_PUBLIC: size, type, nameAlg, then objectAttributes (noDA is 0x400).
attrs=$(db_rows "$DB" "SELECT substr(hex(ak_pub), 13, 8) FROM nodes")
(( (16#$attrs & 0x400) != 0 )) || fail "baseline: the AK (attributes 0x$attrs) is not noDA"
ok "baseline: the node passes with the certified RSA EK (lockout counter $(lockouts)); its AK is noDA"

# The attacker's index: its own auth only, a password we do not know.
tpm2_nvdefine 0x01c0000a -C o -s 64 -a "authread|authwrite" -p planted >/dev/null
tpm2_nvwrite 0x01c0000a -C 0x01c0000a -P planted -i "$WORK/junk" >/dev/null
attest owner-index
grep -q "NV 0x01c0000a was defined with owner authorization, not by the platform" "$WORK/owner-index.err" ||
	fail "owner-index: the attestor does not say it ignored the index: $(cat "$WORK/owner-index.err")"
tpm2_nvundefine 0x01c0000a -C o >/dev/null
ok "an owner-defined index at the P-256 EK certificate slot is ignored; nothing read with a guessed auth"

# The platform's own index, but one whose auth is DA-protected.
tpm2_nvdefine 0x01c0000a -C p -s 64 -a "authread|authwrite|platformcreate" -p planted >/dev/null
tpm2_nvwrite 0x01c0000a -C 0x01c0000a -P planted -i "$WORK/junk" >/dev/null
attest da-index
grep -q "NV 0x01c0000a is readable only with its own auth, which is subject to dictionary-attack lockout" \
	"$WORK/da-index.err" || fail "da-index: the attestor does not say why: $(cat "$WORK/da-index.err")"
tpm2_nvundefine 0x01c0000a -C p >/dev/null
ok "a DA-protected certificate index is not read (lockout counter $(lockouts)); the ECC EK is left out"

# A key of the L-1 template's shape (policy A, AES-128 CFB, restricted
# decrypt) from the owner hierarchy's seed, in place of the EK.
printf '837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa' | xxd -r -p >"$WORK/policy-a"
tpm2_evictcontrol -C o -c 0x81010001 >/dev/null
tpm2_createprimary -C o -g sha256 -G rsa2048:aes128cfb -L "$WORK/policy-a" \
	-a "fixedtpm|fixedparent|sensitivedataorigin|adminwithpolicy|restricted|decrypt" \
	-c "$WORK/planted.ctx" >/dev/null
tpm2_evictcontrol -C o -c "$WORK/planted.ctx" 0x81010001 >/dev/null
tpm2_flushcontext -t >/dev/null
tpm2_readpublic -c 0x81010001 -o "$WORK/planted.pub" >/dev/null
[ "$(hexof "$WORK/planted.pub")" != "$EK_HEX" ] || fail "planted: the owner key is the EK"
attest persistent-key
grep -q "persistent handle 0x81010001 holds a key of the RSA-2048 (L-1) EK's template that its EK certificate (NV 0x01c00002) does not certify: creating the EK instead" \
	"$WORK/persistent-key.err" || fail "persistent-key: the attestor does not say so: $(cat "$WORK/persistent-key.err")"
ok "a key of the EK template's shape at 0x81010001 is not taken for the EK: the EK is created"

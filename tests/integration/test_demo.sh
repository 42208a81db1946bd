#!/bin/bash
# The README's main job, scripts/demo.sh, on the programs under test
# (DEMO_BUILD_DIR: no install, no build), with the default keys and with
# EK_ALG=ecc AK_ALG=rsa: pull with the disk key delivered and unsealed,
# push, then PCR 7 changed: the node fails and the TPM refuses the unseal.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend tpm2_pcrread tpm2_createek openssl od
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

for keys in "" "EK_ALG=ecc AK_ALG=rsa"; do
	RC=0
	env DEMO_BUILD_DIR="$BUILD_DIR" $keys bash "$SOURCE_DIR/scripts/demo.sh" >"$WORK/demo.out" 2>&1 || RC=$?
	[ "$RC" -eq 0 ] || fail "demo ${keys:-(defaults)}: exit $RC: $(tail -n 30 "$WORK/demo.out")"
	for want in "attestation PASSED (exit 0), the disk key delivered" "the host unsealed the disk key in its TPM" \
		"push attestation PASSED" "the node FAILED its attestation (exit 1)" \
		"the TPM refused to unseal the disk key" "every step ended as it should"; do
		grep -q "^demo: $want" "$WORK/demo.out" || fail "demo ${keys:-(defaults)}: no '$want': $(cat "$WORK/demo.out")"
	done
	! grep -q "UNEXPECTED" "$WORK/demo.out" || fail "demo: $(grep UNEXPECTED "$WORK/demo.out")"
	ok "demo ${keys:-(defaults)}: $(grep -c '^demo: ' "$WORK/demo.out") steps as they should be"
done

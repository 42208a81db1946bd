# The stage of the attack tests of issue #12 (test_trust_*.sh). Source after
# lib.sh. Two genuine TPMs behind pull attestors that trust_attacker.py
# relays: $TA (swtpm tpma, started last, so tpm2-tools act on it:
# $TPM2TOOLS_TCTI) and $TB (swtpm tpmb); both PCR states equal ($PCR_REF),
# their EK CAs in $WORK/roots, the demo PKI in $P, Python stubs in
# $WORK/stubs. att ARGS...: trust_attacker.py against the verifier at $VADDR
# (set it once the verifier runs).
need swtpm swtpm_setup tpm2_pcrextend tpm2_pcrread openssl
py_stubs "$WORK/stubs"
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"
pki_make "$WORK/pki"
P=$WORK/pki
pull_tpm tpmb
TB=$TPM_ADDR
pull_tpm tpma
TA=$TPM_ADDR
VADDR=

att() {
	/usr/bin/python3 "$SOURCE_DIR/tests/integration/trust_attacker.py" --stubs "$WORK/stubs" --verifier "$VADDR" \
		--pki "$P" "$@"
}

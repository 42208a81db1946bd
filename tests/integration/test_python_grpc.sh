#!/usr/bin/env bash
# Interop: an independent gRPC implementation (Python grpcio, stubs generated
# here from proto/attest.proto) talks to our attestor over mutual TLS.
. "$SOURCE_DIR/tests/integration/lib.sh"

need openssl swtpm swtpm_setup
# Python stubs, generated at test time into $WORK only.
py_stubs "$WORK/stubs"
[ -x "$BUILD_DIR/attestor" ] || { echo "SKIP: $BUILD_DIR/attestor not built" >&2; exit 77; }

swtpm_start tpm
pki_make "$WORK/pki"
P=$WORK/pki

mkdir -p "$WORK/state"
cat >"$WORK/attestor.conf" <<EOF
[attestor]
mode = pull
listen = 127.0.0.1:0
tcti = $TCTI
; swtpm, not this machine's TPM: not this machine's measurement logs either
event_log =
ima_log =
ak_alg = ecc
ek_alg = rsa
state_dir = $WORK/state

$(tls_conf attestor)
verifier_identity = verifier
insecure = false
EOF
bg attestor "$BUILD_DIR/attestor" --config "$WORK/attestor.conf"
port=$(log_port "$WORK/attestor.log")

client() {
	/usr/bin/python3 "$SOURCE_DIR/tests/integration/grpc_client.py" --stubs "$WORK/stubs" \
		--target "127.0.0.1:$port" "$@"
}

out=$(client --ca "$P/ca.pem" --cert "$P/verifier.pem" --key "$P/verifier.key" endorsement) ||
	fail "GetEndorsement over mTLS from Python"
ok "Python GetEndorsement over mTLS: $out"

out=$(client --ca "$P/ca.pem" --cert "$P/verifier.pem" --key "$P/verifier.key" ak) ||
	fail "GetAttestationKey over mTLS from Python"
ok "Python GetAttestationKey over mTLS: $out"

# Same through the name in the certificate rather than the IP SAN.
out=$(client --ca "$P/ca.pem" --cert "$P/verifier.pem" --key "$P/verifier.key" \
	--server-name attestor endorsement) || fail "GetEndorsement with server name override"
ok "Python GetEndorsement with server name 'attestor'"

out=$(client --ca "$P/ca.pem" --cert "$P/verifier.pem" --key "$P/verifier.key" malformed) ||
	fail "malformed request was not INVALID_ARGUMENT"
ok "Python raw garbage to Quote: $out"

# Refusals: a client certificate from another CA (with the same names), no
# client certificate, and a server the client does not trust.
client --ca "$P/ca.pem" --cert "$P/rogue.pem" --key "$P/rogue.key" refused >/dev/null ||
	fail "client certificate from another CA was accepted"
ok "client certificate from another CA refused"
client --ca "$P/ca.pem" refused >/dev/null || fail "client without certificate was accepted"
ok "client without certificate refused"
client --ca "$P/other-ca.pem" --cert "$P/verifier.pem" --key "$P/verifier.key" refused >/dev/null ||
	fail "client accepted a server certificate from an untrusted CA"
ok "server certificate from an untrusted CA refused by the client"

# The attestor still serves after the refusals (one call at a time, no wedge).
client --ca "$P/ca.pem" --cert "$P/verifier.pem" --key "$P/verifier.key" endorsement >/dev/null ||
	fail "attestor stopped serving after refused clients"
kill -0 "$BG_PID" 2>/dev/null || fail "attestor exited"
ok "attestor still serving"

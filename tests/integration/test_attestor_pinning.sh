#!/bin/bash
# The pull attestor answers only its verifier ([tls] verifier_identity), and
# takes secrets only within a session that verifier started. Driven by an
# independent client (Python grpcio) with the demo PKI (identities verifier,
# attestor, attestor2):
#  - a pull config over TLS without verifier_identity is refused with the
#    reason (exit 2), as is one that names it in push mode
#  - the verifier: DeliverSecrets before any Quote -> FAILED_PRECONDITION; a
#    real `verifier attest` with a [secret] still passes, and the delivery it
#    made was the one its Quote allowed (another -> FAILED_PRECONDITION)
#  - attestor2, a rogue fleet member (a valid certificate of the same CA):
#    GetEndorsement, GetAttestationKey, ActivateCredential, Quote and
#    DeliverSecrets are each PERMISSION_DENIED with the reason, 10 times over;
#    so is a valid AES blob for this TPM's EK named like the verifier's secret,
#    also right after the verifier's own Quote (whose delivery stays the
#    verifier's). Afterwards the secret store is byte for byte the same,
#    `attestor secrets` lists nothing new, `attestor unseal` gives the
#    verifier's key, and the 50+ refusals made at most two log lines
#  - a caller whose name has a quote and a backslash: refused by the RPC
#    layer (UNAUTHENTICATED), the reason shows it escaped
#  - one delivery per Quote; with two verifier identities, a Quote answered to
#    one opens no delivery for the other
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_createek tpm2_startauthsession tpm2_policypcr tpm2_flushcontext protoc \
	openssl sha256sum od
[ -x /usr/bin/grpc_python_plugin ] || { echo "SKIP: grpc_python_plugin not installed" >&2; exit 77; }
/usr/bin/python3 -c 'import grpc, cryptography' 2>/dev/null ||
	{ echo "SKIP: python3-grpcio or python3-cryptography missing" >&2; exit 77; }
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

ATTESTOR=$BUILD_DIR/attestor
REASON="this attestor answers only its verifier (verifier_identity); 'attestor2' is not one"
NOQUOTE="DeliverSecrets only after this verifier's Quote: no quote answered since the last delivery"

swtpm_start tpm
pcr_extend_some
pki_make "$WORK/pki"
P=$WORK/pki
cd "$WORK"
mkdir -p py out
protoc -I"$SOURCE_DIR/proto" --python_out=py --grpc_python_out=py \
	--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin attest.proto

# --- configurations that must not start
attestor_conf "$WORK/nopin.conf" pull 127.0.0.1:0 "$WORK/nopin"
sed -i '/^verifier_identity/d' nopin.conf
rc=0; out=$("$ATTESTOR" --config nopin.conf 2>&1) || rc=$?
[ "$rc" -eq 2 ] && grep -q "mode = pull needs \[tls\] verifier_identity = NAME" <<<"$out" ||
	fail "pull config without verifier_identity: exit $rc: $out"
ok "pull over TLS without verifier_identity refused (exit 2): $out"
attestor_conf "$WORK/pushpin.conf" push 127.0.0.1:1 "$WORK/pushpin"
echo "verifier_identity = verifier" >>pushpin.conf # the last section is [tls]
rc=0; out=$("$ATTESTOR" --config pushpin.conf --once 2>&1) || rc=$?
[ "$rc" -eq 2 ] && grep -q "verifier_identity is for mode = pull" <<<"$out" ||
	fail "push config with verifier_identity: exit $rc: $out"
ok "verifier_identity in push mode refused (exit 2): $out"

# --- what the rogue brings: a valid AES blob for this TPM's RSA EK under
# PolicyPCR over the current values (as in test_attestor_secrets.sh), its key
# of its own choosing.
SEL="sha256:0,1,2,3,7"
tpm2_createek -G rsa -c ek.ctx -u ek_rsa.pub >/dev/null
tpm2_flushcontext -t >/dev/null
tpm2_startauthsession -S trial.ctx
tpm2_policypcr -S trial.ctx -l "$SEL" -L pcr.policy >/dev/null
tpm2_flushcontext trial.ctx
(umask 077; openssl rand 32 >rogue.key)
/usr/bin/python3 "$SOURCE_DIR/tests/integration/secrets_client.py" mkseal ek_rsa.pub rogue.key pcr.policy planted \
	>/dev/null
printf '[{"name": "disk-key", "kind": "aes256", "ek": "rsa", "sel": "%s", "blob": "planted"}]' "$SEL" >planted.json

# A caller of the same CA whose name has a quote and a backslash, and is long.
ODD="spiffe://fleet/o'b\\rien-$(printf 'x%.0s' $(seq 90))"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out odd.key 2>/dev/null
openssl req -new -key odd.key -subj "/CN=odd" -out odd.csr
esc=${ODD//\\/\\\\} # openssl's config syntax: backslash-escape both
esc=${esc//\'/\\\'}
printf 'subjectAltName = URI:%s\nextendedKeyUsage = clientAuth\n' "$esc" >odd.ext
openssl x509 -req -in odd.csr -CA "$P/ca.pem" -CAkey "$P/ca.key" -set_serial 0x0dd -days 1 \
	-extfile odd.ext -out odd.pem 2>/dev/null

# start_attestor NAME [IDENTITIES]: a pull attestor answering IDENTITIES
# (default the demo verifier); sets PORT, APID.
start_attestor() {
	attestor_conf "$WORK/$1.conf" pull 127.0.0.1:0 "$WORK/$1-state"
	[ -z "${2:-}" ] || sed -i "s/^verifier_identity = .*/verifier_identity = $2/" "$WORK/$1.conf"
	bg "$1" "$ATTESTOR" --config "$WORK/$1.conf"
	APID=$BG_PID
	PORT=$(log_port "$WORK/$1.log")
}
# as NAME CLIENT-ARGS...: attestor_client.py with NAME's certificate.
as() {
	local who=$1 cert=$P/$1.pem key=$P/$1.key
	shift
	[ "$who" = odd ] && cert=$WORK/odd.pem key=$WORK/odd.key
	/usr/bin/python3 "$SOURCE_DIR/tests/integration/attestor_client.py" --stubs "$WORK/py" \
		--target "127.0.0.1:$PORT" --ca "$P/ca.pem" --cert "$cert" --key "$key" "$@"
}
# plant NAME [--quote SEL|none]: the rogue blob as a DeliverSecrets of NAME; output in $OUT.
plant() {
	local who=$1
	shift
	OUT=$(/usr/bin/python3 "$SOURCE_DIR/tests/integration/secrets_client.py" --stubs "$WORK/py" \
		--target "127.0.0.1:$PORT" --ca "$P/ca.pem" --cert "$P/$who.pem" --key "$P/$who.key" "$@" \
		deliver out planted.json 2>&1) && fail "$who's planted delivery was accepted: $OUT"
	return 0
}
snapshot() {
	(cd "$WORK/att-state" && find . -printf '%p %m %s %T@\n' | sort && find . -type f -exec sha256sum {} + | sort)
	"$ATTESTOR" secrets --config "$WORK/att.conf"
}

start_attestor att
grep -q "answering only verifier_identity 'verifier'" att.log || fail "no log line of whom it answers: $(cat att.log)"
out=$(as verifier expect-status FAILED_PRECONDITION "$NOQUOTE" DeliverSecrets) || fail "delivery before any Quote"
ok "the verifier's DeliverSecrets before any Quote: $out"

# --- the real verifier, with a secret
(umask 077; openssl rand 32 >verifier-aes.key)
cat >verifier.conf <<CONF
[verifier]
mode = pull
ek_roots = $EK_ROOTS
pcrs = sha256:0-7+sha1:0-7
timeout_ms = 20000
log_level = info
$(tls_conf verifier)
[policy]
$PCR_REF
[secret disk-key]
kind = aes256
key = $WORK/verifier-aes.key
pcrs = sha256:0
CONF
"$BUILD_DIR/verifier" attest --config verifier.conf "127.0.0.1:$PORT" >attest.out 2>attest.err ||
	fail "verifier attest: $(cat attest.out attest.err)"
grep -q "^PASS " attest.out && grep -q "^secrets  *ok " attest.out || fail "verifier attest: $(cat attest.out)"
out=$(as verifier expect-status FAILED_PRECONDITION "$NOQUOTE" DeliverSecrets) ||
	fail "a second delivery after the attestation's Quote"
ok "verifier attest passes with its secret; another delivery without a new Quote: $out"
before=$(snapshot)
grep -q "^disk-key	aes256	" <<<"$before" || fail "the verifier's secret is not listed: $before"

# --- the rogue fleet member
out=$(REPEAT=10 as attestor2 expect-status PERMISSION_DENIED "$REASON" \
	GetEndorsement GetAttestationKey ActivateCredential Quote DeliverSecrets) || fail "rogue calls"
while read -r line; do ok "attestor2: $line"; done <<<"$out"
plant attestor2 --quote none
grep -q "^status=PERMISSION_DENIED details=$REASON" <<<"$OUT" || fail "rogue delivery: $OUT"
plant attestor2 --quote "$SEL"
grep -q "^status=PERMISSION_DENIED details=$REASON" <<<"$OUT" || fail "rogue Quote + delivery: $OUT"
# The verifier quotes; the rogue's delivery right after is still refused, and
# the verifier's own delivery is still there for it.
as verifier quote-only "$SEL" >/dev/null || fail "the verifier's Quote"
plant attestor2 --quote none
grep -q "^status=PERMISSION_DENIED details=$REASON" <<<"$OUT" || fail "rogue delivery after the verifier's Quote: $OUT"
ok "attestor2's AES key for this TPM, named like the verifier's secret: PERMISSION_DENIED, also right after the verifier's Quote"
out=$(as verifier expect-status INVALID_ARGUMENT "no secrets in the delivery" DeliverSecrets) ||
	fail "the verifier's delivery after its Quote"
out2=$(as verifier expect-status FAILED_PRECONDITION "$NOQUOTE" DeliverSecrets) || fail "a second delivery"
ok "one delivery per Quote: $out; then $out2"

after=$(snapshot)
[ "$after" = "$before" ] || fail "the secret store changed: before
$before
after
$after"
ok "the attestor's state_dir (listing, modes, sizes, times, SHA-256) and \`attestor secrets\` unchanged"
n=$(grep -c "not a verifier_identity" att.log || true)
[ "$n" -ge 1 ] && [ "$n" -le 2 ] || fail "$n log lines for 53 refused calls: $(grep 'not a verifier_identity' att.log)"
ok "53 refused calls, $n warning line(s): $(grep -m1 'not a verifier_identity' att.log | cut -d' ' -f2-)"

# Refused before any handler (common/rpc: an identity is printable ASCII
# without spaces or quotes), the name escaped in the reason.
out=$(as odd expect-status UNAUTHENTICATED "holds byte 0x27" Quote) || fail "odd caller name"
case $out in *"o\x27b\x5crien"*) ;; *) fail "the odd name is not escaped in the reason: $out" ;; esac
ok "a caller whose identity holds a quote and a backslash is refused, its name escaped: $out"

kill -TERM "$APID"
wait "$APID" || fail "attestor exited with an error after SIGTERM"
got=$("$ATTESTOR" unseal disk-key --config att.conf) || fail "attestor unseal disk-key"
[ "$got" = "$(od -An -tx1 -v verifier-aes.key | tr -d ' \n')" ] || fail "disk-key is not the verifier's key"
ok "attestor unseal disk-key gives the verifier's key, not the rogue's"

# --- two verifier identities ("attestor" stands in for a second verifier):
# a Quote answered to one opens no delivery for the other.
start_attestor two "verifier, attestor"
grep -q "answering only verifier_identity 'verifier', 'attestor'" two.log || fail "two: $(cat two.log)"
as attestor quote-only "$SEL" >/dev/null || fail "second verifier's Quote"
out=$(as verifier expect-status FAILED_PRECONDITION "the last quote was answered to another verifier" DeliverSecrets) ||
	fail "delivery on another verifier's Quote"
ok "two verifiers: $out"
out=$(as attestor expect-status INVALID_ARGUMENT "no secrets in the delivery" DeliverSecrets) ||
	fail "the quoting verifier's own delivery"
ok "two verifiers: the one that quoted still delivers ($out)"

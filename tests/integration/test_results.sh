#!/bin/bash
# modes: pull push
# Signed attestation results (issue #18), through the real binaries in $MODE,
# two swtpm nodes: A passes, B fails on PCR 7.
#  - each verdict reaches its attestor as an EAR (push: in the Verdict, or
#    the failed call's trailer; pull: DeliverResult), kept for `attestor
#    token`;
#  - python3-jwt checks both with the JWKS of `verifier jwks`: A affirming,
#    B contraindicated with the failed check, claims as the verifier saw
#    the session (profile, node, policy, nonce, vector);
#  - verify-token and python3-jwt refuse the same forgeries: an altered
#    claim, a re-signature by another key under the verifier's kid, alg
#    none, an unknown kid, and an expired token of the verifier's own key;
#  - a relying party's nonce (push): attestor token --nonce attests at once,
#    the token carries it as eat_nonce;
#  - key rotation: a retired key stays in the JWKS and its tokens verify;
#  - a node that passed and then fails: its attestor holds the failure's
#    token only;
#  - pull: DeliverResult from a fleet member that is no verifier of the
#    node, and from the verifier a second time in a round, is refused; the kept
#    token stays as it was.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend tpm2_pcrread openssl
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"
V=$BUILD_DIR/verifier
pass_fail_fleet
mkdir -p "$WORK/vstate"

vport=$(free_port)
if [ "$MODE" = push ]; then
	verifier_conf "$WORK/v.conf" "mode = push
listen = 127.0.0.1:$vport
ek_roots = $WORK/roots
state_dir = $WORK/vstate" "$REF_A"
	bg verifier "$V" serve --config "$WORK/v.conf"
	VPID=$BG_PID
	wait_port "$vport"
	for n in a b; do
		TCTI=${TCTIS[$n]} attestor_conf "$WORK/$n.conf" push "127.0.0.1:$vport" "$WORK/$n-state"
	done
else
	verifier_conf "$WORK/v.conf" "mode = pull
ek_roots = $WORK/roots
state_dir = $WORK/vstate" "$REF_A"
	declare -A PORT
	for n in a b; do
		PORT[$n]=$(free_port)
		TCTI=${TCTIS[$n]} attestor_conf "$WORK/$n.conf" pull "127.0.0.1:${PORT[$n]}" "$WORK/$n-state"
		bg "attestor-$n" "$BUILD_DIR/attestor" --config "$WORK/$n.conf"
		wait_port "${PORT[$n]}"
	done
fi

# attest NODE pass|fail: one attestation of NODE in $MODE.
attest() {
	local rc=0
	if [ "$MODE" = push ]; then
		attest_once "$WORK/$1.conf" "$2"
		return
	fi
	"$V" attest --config "$WORK/v.conf" "127.0.0.1:${PORT[$1]}" >"$WORK/$1.out" 2>&1 || rc=$?
	if [ "$2" = pass ]; then [ "$rc" -eq 0 ]; else [ "$rc" -eq 1 ]; fi ||
		fail "verifier attest $1: exit $rc, want $2: $(tail -n 3 "$WORK/$1.out")"
}
token() { "$BUILD_DIR/attestor" token --config "$WORK/$1.conf"; }

RC=0
token a >/dev/null 2>"$WORK/none.err" || RC=$?
[ "$RC" -eq 1 ] && grep -q "no attestation result kept" "$WORK/none.err" ||
	fail "attestor token before any verdict: exit $RC: $(cat "$WORK/none.err")"
attest a pass
attest b fail
TA=$(token a) || fail "attestor token (A): nothing kept"
TB=$(token b) || fail "attestor token (B): nothing kept"
A=$(db_rows "$WORK/vstate/verifier.db" "SELECT ek_hash FROM nodes ORDER BY id LIMIT 1")
B=$(db_rows "$WORK/vstate/verifier.db" "SELECT ek_hash FROM nodes ORDER BY id LIMIT 1 OFFSET 1")
NONCE_A=$(db_rows "$WORK/vstate/verifier.db" "SELECT hex(nonce) FROM attestations a JOIN nodes n ON n.id = a.node_id WHERE n.ek_hash = '$A' ORDER BY a.id DESC LIMIT 1")
"$V" jwks --config "$WORK/v.conf" >"$WORK/jwks.json" || fail "verifier jwks"
ok "$MODE: both verdicts reached their attestors signed ($(printf %s "$TA" | wc -c) and $(printf %s "$TB" | wc -c) bytes); JWKS of $(grep -c '"kid"' "$WORK/jwks.json") key"

# An independent check: python3-jwt with the JWKS.
/usr/bin/python3 - "$WORK/jwks.json" "$TA" "$TB" "$A" "$B" "$NONCE_A" <<'PY' || fail "python3-jwt ($MODE)"
import base64, json, sys
import jwt
jwks, ta, tb, a, b, nonce = sys.argv[1:]
keys = {k.key_id: k.key for k in jwt.PyJWKSet.from_json(open(jwks).read()).keys}
# Each kid is its key's RFC 7638 thumbprint.
import hashlib
for k in json.load(open(jwks))["keys"]:
    members = json.dumps({m: k[m] for m in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    assert base64.urlsafe_b64encode(hashlib.sha256(members.encode()).digest()).rstrip(b"=").decode() == k["kid"], k
def check(tok):
    kid = jwt.get_unverified_header(tok)["kid"]
    return jwt.decode(tok, keys[kid], algorithms=["ES256"], options={"require": ["exp", "iat"]})
ca, cb = check(ta), check(tb)
for c in (ca, cb):
    assert c["eat_profile"] == "tag:github.com,2023:veraison/ear", c
    assert c["ear.verifier-id"]["developer"] == "tpm-attest", c
    assert c["exp"] > c["iat"], c
sa, sb = ca["submods"][a], cb["submods"][b]
assert list(ca["submods"]) == [a] and list(cb["submods"]) == [b], (ca, cb)
assert sa["ear.status"] == "affirming", sa
tv = sa["ear.trustworthiness-vector"]
assert tv == {"instance-identity": 2, "configuration": 2, "hardware": 2, "storage-opaque": 2}, tv
assert sa["ear.appraisal-policy-id"] == "policy:config", sa
assert sa["ear.tpm-attest.node"] == {"ek_hash": a, "identity": "attestor", "verdict": "pass"}, sa
n = base64.urlsafe_b64decode(ca["eat_nonce"] + "=" * (-len(ca["eat_nonce"]) % 4)).hex().upper()
assert n == nonce, (n, nonce)
assert sb["ear.status"] == "contraindicated", sb
assert sb["ear.trustworthiness-vector"]["configuration"] == 96, sb
ext = sb["ear.tpm-attest.node"]
assert ext["verdict"] == "fail" and ext["failed_check"] == "quote" and "PCR 7" in ext["reason"], ext
assert "expects" not in ext["reason"], ext  # the policy's values stay the operator's
print("PASS: python3-jwt: A affirming %s; B contraindicated, failed %s: %.60s" % (tv, ext["failed_check"], ext["reason"]))
PY
"$V" verify-token --jwks "$WORK/jwks.json" "$TA" >"$WORK/va.out" 2>&1 ||
	fail "verify-token A: exit $?: $(cat "$WORK/va.out")"
grep -q "^status      affirming" "$WORK/va.out" && grep -q "^node        $A" "$WORK/va.out" ||
	fail "verify-token A: $(cat "$WORK/va.out")"
RC=0
printf '%s\n' "$TB" | "$V" verify-token --config "$WORK/v.conf" - >"$WORK/vb.out" 2>&1 || RC=$?
[ "$RC" -eq 1 ] && grep -q "^status      contraindicated" "$WORK/vb.out" &&
	grep -q "^failed      quote: PCR value differs" "$WORK/vb.out" &&
	grep -q "does not affirm node ${B:0:16}" "$WORK/vb.out" || fail "verify-token B: exit $RC: $(cat "$WORK/vb.out")"
ok "$MODE: verify-token: A affirming (exit 0); B contraindicated with its failed check (exit 1)"

# Forgeries, each refused by verify-token and by python3-jwt.
/usr/bin/python3 - "$TB" "$WORK/vstate/result-key.pem" "$WORK/forged" <<'PY' || fail "making the forgeries"
import base64, json, sys, time
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
tb, keyfile, out = sys.argv[1:]
h, p, s = tb.split(".")
b64 = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
unb64 = lambda t: base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))
claims = json.loads(unb64(p))
kid = json.loads(unb64(h))["kid"]
sub = next(iter(claims["submods"].values()))
sub["ear.status"] = "affirming"
altered = h + "." + b64(json.dumps(claims).encode()) + "." + s
other = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": kid})
none = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode()) + "." + b64(json.dumps(claims).encode()) + "."
unknown = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": "x" * 43})
algnull = b64(json.dumps({"alg": None, "kid": kid}).encode()) + "." + p + "." + s
short = h + "." + p + "." + b64(unb64(s)[:63])
claims["iat"], claims["exp"] = int(time.time()) - 7200, int(time.time()) - 3600
expired = jwt.encode(claims, open(keyfile, "rb").read(), algorithm="ES256", headers={"kid": kid})
for name, tok in (("altered", altered), ("resigned", other), ("none", none), ("unknown-kid", unknown),
                  ("expired", expired), ("alg-null", algnull), ("short-sig", short)):
    open("%s.%s" % (out, name), "w").write(tok)
PY
for f in altered:"signature does not verify" resigned:"signature does not verify" none:"alg is not ES256" \
	unknown-kid:"none of the result keys" expired:"expired" alg-null:"alg is not ES256" \
	short-sig:"not 64"; do
	name=${f%%:*} why=${f#*:}
	RC=0
	"$V" verify-token --jwks "$WORK/jwks.json" "$(cat "$WORK/forged.$name")" >"$WORK/f.out" 2>&1 || RC=$?
	[ "$RC" -eq 1 ] && grep -q "$why" "$WORK/f.out" || fail "verify-token, $name token: exit $RC: $(cat "$WORK/f.out")"
	/usr/bin/python3 - "$WORK/jwks.json" "$(cat "$WORK/forged.$name")" <<'PY' || fail "python3-jwt accepted the $name token"
import sys
import jwt
keys = {k.key_id: k.key for k in jwt.PyJWKSet.from_json(open(sys.argv[1]).read()).keys}
try:
    kid = jwt.get_unverified_header(sys.argv[2]).get("kid")
    jwt.decode(sys.argv[2], keys[kid], algorithms=["ES256"])
except (jwt.InvalidTokenError, KeyError):
    sys.exit(0)
sys.exit(1)
PY
done
ok "$MODE: altered, re-signed, alg none or null, unknown kid, a short signature and expired tokens: refused by verify-token and python3-jwt"


# A relying party's nonce: push attests at once and the token carries it;
# pull cannot (the verifier attests on its own schedule) and says so.
RPN=$(openssl rand -hex 24)
if [ "$MODE" = push ]; then
	TN=$("$BUILD_DIR/attestor" token --config "$WORK/a.conf" --nonce "$RPN" 2>"$WORK/tn.err") ||
		fail "attestor token --nonce: exit $?: $(cat "$WORK/tn.err")"
	QN=$(db_rows "$WORK/vstate/verifier.db" "SELECT hex(a.nonce) FROM attestations a JOIN nodes n ON n.id = a.node_id WHERE n.ek_hash = '$A' ORDER BY a.id DESC LIMIT 1")
	/usr/bin/python3 - "$WORK/jwks.json" "$TN" "$RPN" "$QN" <<'PY' || fail "the nonce-bound token"
import base64, sys
import jwt
jwks, tok, rpn, qn = sys.argv[1:]
keys = {k.key_id: k.key for k in jwt.PyJWKSet.from_json(open(jwks).read()).keys}
c = jwt.decode(tok, keys[jwt.get_unverified_header(tok)["kid"]], algorithms=["ES256"])
n = base64.urlsafe_b64decode(c["eat_nonce"] + "=" * (-len(c["eat_nonce"]) % 4)).hex()
assert n == rpn, (n, rpn)
assert qn.lower() != rpn and len(qn) == 64, qn  # the quote's nonce commits to it, it is not it
assert next(iter(c["submods"].values()))["ear.status"] == "affirming", c
PY
	cmp -s <(printf '%s' "$TN") "$WORK/a-state/result.jwt" || fail "token --nonce: the kept token is another"
	ok "push: attestor token --nonce: a fresh attestation; its token carries the relying party's nonce as eat_nonce"
else
	RC=0
	"$BUILD_DIR/attestor" token --config "$WORK/a.conf" --nonce "$RPN" >/dev/null 2>"$WORK/tn.err" || RC=$?
	[ "$RC" -eq 2 ] && grep -q "needs push mode" "$WORK/tn.err" || fail "pull: token --nonce: exit $RC: $(cat "$WORK/tn.err")"
	ok "pull: attestor token --nonce refused: $(cat "$WORK/tn.err")"
fi
RC=0
"$BUILD_DIR/attestor" token --config "$WORK/a.conf" --nonce abcd >/dev/null 2>"$WORK/tn.err" || RC=$?
[ "$RC" -eq 2 ] && grep -q "not 8 to 64 bytes" "$WORK/tn.err" || fail "token --nonce abcd: exit $RC: $(cat "$WORK/tn.err")"

# Rotation: a new key signs, the old one is retired and still published.
if [ "$MODE" = pull ]; then
	mv "$WORK/vstate/result-key.pem" "$WORK/old-key.pem"
	printf '[results]\nretired = %s\n' "$WORK/old-key.pem" >>"$WORK/v.conf"
	attest a pass
	TA2=$(token a)
	"$V" jwks --config "$WORK/v.conf" >"$WORK/jwks2.json"
	[ "$(grep -c '"kid"' "$WORK/jwks2.json")" -eq 2 ] || fail "rotation: $(cat "$WORK/jwks2.json")"
	"$V" verify-token --jwks "$WORK/jwks2.json" "$TA" >/dev/null 2>&1 || fail "rotation: the old key's token"
	"$V" verify-token --jwks "$WORK/jwks2.json" "$TA2" >/dev/null 2>&1 || fail "rotation: the new key's token"
	RC=0
	"$V" verify-token --jwks "$WORK/jwks.json" "$TA2" >"$WORK/f.out" 2>&1 || RC=$?
	[ "$RC" -eq 1 ] && grep -q "none of the result keys" "$WORK/f.out" || fail "rotation: old JWKS, new token: $(cat "$WORK/f.out")"
	ok "pull: a new key made; the retired key stays in the JWKS (2 keys) and both keys' tokens verify"

	# DeliverResult by anyone but the verifier of the round, once per round.
	cp "$WORK/a-state/result.jwt" "$WORK/kept.jwt"
	for who in attestor2 verifier; do
		/usr/bin/python3 - "$WORK/stubs" "127.0.0.1:${PORT[a]}" "$P" "$who" "$TB" <<'PY' >"$WORK/dr.out" 2>&1 ||
import sys
sys.path.insert(0, sys.argv[1])
import grpc
import attest_pb2 as pb, attest_pb2_grpc
server, pki, who, tok = sys.argv[2:]
rd = lambda n: open("%s/%s" % (pki, n), "rb").read()
creds = grpc.ssl_channel_credentials(rd("ca.pem"), rd(who + ".key"), rd(who + ".pem"))
ch = grpc.secure_channel(server, creds, options=[("grpc.ssl_target_name_override", "attestor")])
try:
    attest_pb2_grpc.AttestorStub(ch).DeliverResult(pb.AttestationResult(ear=tok), timeout=10)
except grpc.RpcError as e:
    print("%s: %s" % (e.code().name, e.details()))
    sys.exit(0 if e.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.FAILED_PRECONDITION) else 1)
print("accepted")
sys.exit(1)
PY
			fail "DeliverResult as $who: $(cat "$WORK/dr.out")"
		cmp -s "$WORK/a-state/result.jwt" "$WORK/kept.jwt" || fail "DeliverResult as $who changed the kept token"
		echo "    DeliverResult as $who: $(cat "$WORK/dr.out")"
	done
	ok "pull: DeliverResult from another fleet member, and from the verifier once its round's result was in: refused, token unchanged"
fi

# A node that passed, then fails: its attestor keeps the failure's token,
# never the pass's any more.
TPM2TOOLS_TCTI=${TCTIS[a]} tpm2_pcrextend "7:sha256=$(printf 'aa%.0s' {1..32})"
attest a fail
TA_FAIL=$(token a) || fail "attestor token after A failed: nothing kept"
[ "$TA_FAIL" != "$TA" ] || fail "A failed, and its attestor still hands out the pass token"
RC=0
"$V" verify-token --config "$WORK/v.conf" "$TA_FAIL" >"$WORK/vf.out" 2>&1 || RC=$?
[ "$RC" -eq 1 ] && grep -q "^status      contraindicated" "$WORK/vf.out" || fail "A's token after its failure: exit $RC: $(cat "$WORK/vf.out")"
ok "$MODE: A passed, then failed on PCR 7: its attestor holds the contraindicated token only"

# A round that ends without a verdict the verifier could sign (push: no
# verifier; pull: a verifier that does not know the node, under explicit
# enrollment): the attestor hands out no token, not the last round's.
if [ "$MODE" = push ]; then
	kill "$VPID"
	wait "$VPID" 2>/dev/null || true
	"$BUILD_DIR/attestor" --config "$WORK/a.conf" --once --wait 0 >/dev/null 2>&1 && fail "attested without a verifier"
else
	mkdir -p "$WORK/vstate2"
	sed "s|^state_dir = .*|state_dir = $WORK/vstate2\nenrollment = explicit|" "$WORK/v.conf" >"$WORK/v-explicit.conf"
	"$V" attest --config "$WORK/v-explicit.conf" "127.0.0.1:${PORT[a]}" >"$WORK/explicit.out" 2>&1 &&
		fail "attested a node no operator enrolled"
	grep -qi "enrol" "$WORK/explicit.out" || fail "explicit enrollment: $(tail -n 3 "$WORK/explicit.out")"
fi
RC=0
token a >/dev/null 2>"$WORK/none.err" || RC=$?
[ "$RC" -eq 1 ] && grep -q "no attestation result kept" "$WORK/none.err" ||
	fail "attestor token after a round without a verdict: exit $RC: $(cat "$WORK/none.err")"
ok "$MODE: a round without a signed verdict leaves the attestor no token to hand out"

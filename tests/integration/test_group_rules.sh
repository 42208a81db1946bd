#!/bin/bash
# Group rules (issue #15): nodes join groups by what their verified
# certificates say, through the real push service and two swtpm nodes
# whose EK CAs differ (Vendor A, Vendor B) and whose PCR states differ:
#  - rules by EK issuer put each node in its vendor's group at its first
#    proof, and the group's policy judges its very first quote: A passes
#    pa, B passes pb; swapped, each fails the other's naming PCR 7;
#  - status shows the facts (EK issuer, TPM manufacturer and model, as
#    openssl reads them from the EK certificate) and the groups; `group
#    rules` counts the nodes each rule matches;
#  - a rule removed takes the nodes out of the group at once;
#  - with require_ek_cert = false the EK certificate is only a claim: no
#    facts are recorded and no rule places the node;
#  - a policy's "secrets" grant its nodes a secret no hosts line gives;
#  - bad input (no condition, an unknown fact, a bad group name, an
#    unknown rule, a policy naming an unknown secret): clear errors, the
#    rules as they were.
# cli: local admin
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend tpm2_pcrread tpm2_nvread openssl
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"
V=$(verifier_cli)

declare -A TCTIS
mkdir -p "$WORK/roots"
for t in a b; do
	SWTPM_CA_SUBJECT="/O=Vendor ${t^^}/CN=Vendor ${t^^} EK CA" swtpm_start "tpm$t"
	pcr_extend_some
	TCTIS[$t]=$TCTI
	cp "$EK_ROOTS/issuercert.pem" "$WORK/roots/issuer-$t.pem"
done
TPM2TOOLS_TCTI=${TCTIS[b]} tpm2_pcrextend "7:sha256=$(printf 'bb%.0s' {1..32}),sha1=$(printf 'bb%.0s' {1..20})"
REF_A=$(TPM2TOOLS_TCTI=${TCTIS[a]} pcr_policy)
REF_B=$(TPM2TOOLS_TCTI=${TCTIS[b]} pcr_policy)
# What openssl reads from A's EK certificate (the RSA one, NV 0x01c00002).
TPM2TOOLS_TCTI=${TCTIS[a]} tpm2_nvread 0x01c00002 -o "$WORK/a-ek.der" >/dev/null 2>&1 || fail "A's EK certificate"
A_ISSUER=$(openssl x509 -inform der -in "$WORK/a-ek.der" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
A_SAN=$(openssl x509 -inform der -in "$WORK/a-ek.der" -noout -ext subjectAltName | tail -n 1)
[ "$A_ISSUER" = "CN=Vendor A EK CA,O=Vendor A" ] || fail "A's EK issuer: $A_ISSUER"
pki_make "$WORK/pki"
P=$WORK/pki
policy_json "$WORK/pa.json" "$REF_A"
policy_json "$WORK/pb.json" "$REF_B"
# pa also grants the disk key, which no hosts line gives anyone.
/usr/bin/python3 - "$WORK/pa.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1])); p["secrets"] = ["disk"]
json.dump(p, open(sys.argv[1], "w"), indent=1)
PY
(umask 077; openssl rand 32 >"$WORK/disk.key")

vport=$(free_port)
mkdir -p "$WORK/vstate"
# The config file's own policy passes neither node.
verifier_conf "$WORK/v.conf" "mode = push
listen = 127.0.0.1:$vport
ek_roots = $WORK/roots
state_dir = $WORK/vstate" "sha256.0 = $(printf '%064d' 0)" "[secret disk]
kind = aes256
key = $WORK/disk.key
pcrs = sha256:0-7
$REF_A
hosts = name:nobody"
DB=$WORK/vstate/verifier.db
run() { RC=0; "$V" "$@" >"$WORK/out" 2>"$WORK/err" || RC=$?; }
run policy create pa --config "$WORK/v.conf" --file "$WORK/pa.json"
run policy create pb --config "$WORK/v.conf" --file "$WORK/pb.json"
run group rule-add --config "$WORK/v.conf" vendor-a 'ek_issuer=*,O=Vendor A'
[ "$RC" -eq 0 ] && grep -q "^group rule 1: " "$WORK/out" || fail "rule-add: $RC $(cat "$WORK/out" "$WORK/err")"
run group rule-add --config "$WORK/v.conf" vendor-b 'ek_issuer=CN=Vendor B EK CA*' 'tpm_model=swtpm'
[ "$RC" -eq 0 ] || fail "rule-add b: $(cat "$WORK/err")"
run policy assign pa --config "$WORK/v.conf" --group vendor-a
run policy assign pb --config "$WORK/v.conf" --group vendor-b
bg verifier "$V" serve --config "$WORK/v.conf"
wait_port "$vport"
for n in a b; do
	TCTI=${TCTIS[$n]} attestor_conf "$WORK/$n.conf" push "127.0.0.1:$vport" "$WORK/$n-state"
done
attest() { attest_once "$WORK/$1.conf" "$2"; }
declare -A NODES
last() { last_verdict "$DB" "${NODES[$1]}"; }
attest a pass
NODES[a]=$(db_rows "$DB" "SELECT ek_hash FROM nodes")
attest b pass
NODES[b]=$(db_rows "$DB" "SELECT ek_hash FROM nodes WHERE ek_hash <> '${NODES[a]}'")
[[ $(last a) == "1|pa|1|" ]] && [[ $(last b) == "1|pb|1|" ]] || fail "first verdicts: A $(last a), B $(last b)"
ok "rules by EK issuer place each new node in its vendor's group: its first quote is judged by pa / pb and passes"
delivered() { db_rows "$DB" "SELECT s.name FROM secret_deliveries s JOIN nodes n ON n.id = s.node_id
	WHERE n.ek_hash = '${NODES[$1]}' AND s.proof_ok = 1"; }
[ "$(delivered a)" = disk ] && [ -z "$(delivered b)" ] || fail "disk key deliveries: A '$(delivered a)', B '$(delivered b)'"
"$BUILD_DIR/attestor" secrets --config "$WORK/a.conf" | grep -q disk || fail "A's attestor holds no disk key"
ok "pa's \"secrets\" grant A the disk key (no hosts line does; its proof verified); B, under pb, gets none"

run status --config "$WORK/v.conf" "${NODES[a]:0:16}"
grep -q "^groups    vendor-a$" "$WORK/out" || fail "A's groups: $(cat "$WORK/out")"
grep -qF "proven    ek_issuer = $A_ISSUER" "$WORK/out" || fail "A's EK issuer fact: $(cat "$WORK/out")"
man=$(sed -n 's/.*2\.23\.133\.2\.1=\([^/]*\).*/\1/p' <<<"$A_SAN")
model=$(sed -n 's/.*2\.23\.133\.2\.2=\([^/]*\).*/\1/p' <<<"$A_SAN")
grep -qF "          tpm_manufacturer = $man" "$WORK/out" && grep -qF "          tpm_model = $model" "$WORK/out" ||
	fail "A's TPM facts ($man, $model): $(cat "$WORK/out")"
grep -q "^policy    pa version 1 (by group vendor-a)" "$WORK/out" || fail "A's policy: $(cat "$WORK/out")"
run group rules --config "$WORK/v.conf" --json
/usr/bin/python3 -c "
import json, sys; j = json.load(open('$WORK/out'))
r = {x['group']: x for x in j['rules']}
assert r['vendor-a']['nodes'] == 1 and r['vendor-b']['nodes'] == 1, j
assert r['vendor-b']['match'] == {'ek_issuer': 'CN=Vendor B EK CA*', 'tpm_model': 'swtpm'}, j" ||
	fail "group rules: $(cat "$WORK/out")"
ok "status shows the facts as openssl reads the EK certificate ($A_ISSUER, $man, $model); each rule matches one node"

run policy assign pb --config "$WORK/v.conf" --group vendor-a
run policy assign pa --config "$WORK/v.conf" --group vendor-b
attest a fail
attest b fail
[[ $(last a) == "0|pb|1|"*"PCR 7"* ]] && [[ $(last b) == "0|pa|1|"*"PCR 7"* ]] || fail "swapped: A $(last a), B $(last b)"
ok "swapped, each node fails the other's policy naming PCR 7"

run group rule-remove --config "$WORK/v.conf" 1
[ "$RC" -eq 0 ] || fail "rule-remove: $(cat "$WORK/err")"
attest a fail
[[ $(last a) == "0|config|0|"*"PCR 0"* ]] || fail "A after its rule went: $(last a)"
run status --config "$WORK/v.conf" "${NODES[a]:0:16}"
grep -q "^groups    -$" "$WORK/out" || fail "A still grouped: $(cat "$WORK/out")"
ok "the rule removed: A leaves vendor-a at once and is judged by the config file's policy"

# Bad input: nothing changes.
"$V" group rules --config "$WORK/v.conf" >"$WORK/rules-before"
refused() { # WANT ARGS...
	run group "${@:2}"
	[ "$RC" -ne 0 ] && grep -qF -- "$1" "$WORK/err" || fail "group ${*:2}: exit $RC, want '$1': $(cat "$WORK/err")"
}
refused "needs a condition FACT=GLOB" rule-add --config "$WORK/v.conf" g1
refused "a condition is FACT=GLOB" rule-add --config "$WORK/v.conf" g1 'hostname=web*'
refused "ek_issuer given twice" rule-add --config "$WORK/v.conf" g1 'ek_issuer=a' 'ek_issuer=b'
refused "group" rule-add --config "$WORK/v.conf" 'bad group' 'tpm_model=x'
refused "no group rule 99" rule-remove --config "$WORK/v.conf" 99
refused "a rule is named by its number" rule-remove --config "$WORK/v.conf" one
printf '{"pcrs": {"sha256.0": "%064d"}, "secrets": ["nosuch"]}' 0 >"$WORK/bad-secret.json"
run policy create px --config "$WORK/v.conf" --file "$WORK/bad-secret.json"
[ "$RC" -eq 2 ] && grep -q "secret 'nosuch' is no \[secret\] section of this verifier" "$WORK/err" ||
	fail "a policy naming an unknown secret: $RC $(cat "$WORK/err")"
"$V" group rules --config "$WORK/v.conf" >"$WORK/rules-after"
cmp -s "$WORK/rules-before" "$WORK/rules-after" || fail "a refused command changed the rules"
ok "bad rules refused, naming why; the rules as they were"

# An unverified EK certificate is a claim: no facts, no group.
kill "$BG_PID" 2>/dev/null; wait "$BG_PID" 2>/dev/null || true
vport2=$(free_port)
mkdir -p "$WORK/vstate2"
verifier_conf "$WORK/v2.conf" "mode = push
listen = 127.0.0.1:$vport2
require_ek_cert = false
state_dir = $WORK/vstate2" "$REF_B"
"$V" group rule-add --config "$WORK/v2.conf" vendor-b 'ek_issuer=*' >/dev/null || fail "rule-add at v2"
policy_json "$WORK/pa-plain.json" "$REF_A"
"$V" policy create pa --config "$WORK/v2.conf" --file "$WORK/pa-plain.json" >/dev/null
"$V" policy assign pa --config "$WORK/v2.conf" --group vendor-b >/dev/null
bg verifier2 "$V" serve --config "$WORK/v2.conf"
wait_port "$vport2"
TCTI=${TCTIS[b]} attestor_conf "$WORK/b2.conf" push "127.0.0.1:$vport2" "$WORK/b2-state"
"$BUILD_DIR/attestor" --config "$WORK/b2.conf" --once --wait 20 >/dev/null 2>"$WORK/b2.err" || fail "B at v2: $(tail -2 "$WORK/b2.err")"
[ "$(db_rows "$WORK/vstate2/verifier.db" "SELECT count(*) FROM node_rule_groups")" = 0 ] || fail "a claimed certificate placed B"
[ "$(db_rows "$WORK/vstate2/verifier.db" "SELECT coalesce(ek_issuer, '-') FROM nodes")" = "-" ] || fail "facts of a claim were kept"
[ "$(db_rows "$WORK/vstate2/verifier.db" "SELECT policy_name FROM attestations")" = config ] || fail "B judged by a rule's policy"
ok "require_ek_cert = false: the EK certificate is a claim; no facts kept, 'ek_issuer=*' places nobody"

# The same node once its certificate is verified: an existing node's facts
# go with its verdict, and its rule group judges it from the next quote.
kill "$BG_PID" 2>/dev/null; wait "$BG_PID" 2>/dev/null || true
sed -i "s|^require_ek_cert = false$|ek_roots = $WORK/roots|" "$WORK/v2.conf"
bg verifier2b "$V" serve --config "$WORK/v2.conf"
wait_port "$vport2"
"$BUILD_DIR/attestor" --config "$WORK/b2.conf" --once --wait 20 >/dev/null 2>"$WORK/b2.err" || fail "B at v2, verified: $(tail -2 "$WORK/b2.err")"
[ "$(db_rows "$WORK/vstate2/verifier.db" "SELECT ek_issuer FROM nodes")" = "CN=Vendor B EK CA,O=Vendor B" ] ||
	fail "facts of B's verified certificate: $(db_rows "$WORK/vstate2/verifier.db" "SELECT ek_issuer FROM nodes")"
[ "$(db_rows "$WORK/vstate2/verifier.db" "SELECT policy_name FROM attestations ORDER BY id DESC LIMIT 1")" = config ] ||
	fail "the verdict that recorded the facts was judged by what the session began with"
"$BUILD_DIR/attestor" --config "$WORK/b2.conf" --once --wait 20 >/dev/null 2>"$WORK/b2.err" &&
	fail "B passed pa (A's values)"
[ "$(db_rows "$WORK/vstate2/verifier.db" "SELECT policy_name FROM attestations ORDER BY id DESC LIMIT 1")" = pa ] ||
	fail "B's next verdict is not judged by its rule group's pa"
ok "verified, the existing node's facts come with its verdict; from its next quote its rule group's pa judges it (and fails it)"

#!/bin/bash
# Named policies in the store (issue #15, first step), through the real
# push service, two swtpm nodes in different PCR states (B's PCR 7 extended
# once more) and the real database, changed while `verifier serve` runs:
#  - the config file's [policy] (A's values) is the default: A passes, B
#    fails; each verdict row names "config";
#  - policy pa (A's values) and pb (B's), made with `verifier policy create`:
#    pb assigned to B's group makes B pass at its next attestation, no
#    restart; pa assigned to B itself (a node's own beats its group's) makes
#    it fail naming PCR 7; unassigned, the group's judges again;
#  - `policy update` makes version 2: the next verdict names pb 2;
#  - A in two groups whose policies differ fails, saying so, and status
#    shows why; `status NODE` names the policy, version and how it is given;
#  - bad input: malformed JSON, an unknown key, a PCR the verifier does not
#    quote, a policy that judges nothing, deleting an assigned policy, an
#    unknown node: clear errors, and the policy list is as it was;
#  - pull: `verifier serve` re-quoting a target takes a policy assigned
#    meanwhile at its next round (a full exchange, as its log says).
# cli: local admin
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend tpm2_pcrread openssl
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"
V=$(verifier_cli)

swtpm_fleet a b
TPM2TOOLS_TCTI=${TCTIS[b]} tpm2_pcrextend "7:sha256=$(printf 'bb%.0s' {1..32}),sha1=$(printf 'bb%.0s' {1..20})"
REF_A=$(TPM2TOOLS_TCTI=${TCTIS[a]} pcr_policy)
REF_B=$(TPM2TOOLS_TCTI=${TCTIS[b]} pcr_policy)
[ "$REF_A" != "$REF_B" ] || fail "the two TPMs have the same PCRs"
pki_make "$WORK/pki"
P=$WORK/pki
policy_json "$WORK/pa.json" "$REF_A"
policy_json "$WORK/pb.json" "$REF_B"

vport=$(free_port)
mkdir -p "$WORK/vstate"
verifier_conf "$WORK/v.conf" "mode = push
listen = 127.0.0.1:$vport
ek_roots = $WORK/roots
state_dir = $WORK/vstate" "$REF_A"
DB=$WORK/vstate/verifier.db
bg verifier "$V" serve --config "$WORK/v.conf"
wait_port "$vport"
for n in a b; do
	TCTI=${TCTIS[$n]} attestor_conf "$WORK/$n.conf" push "127.0.0.1:$vport" "$WORK/$n-state"
done

attest() { attest_once "$WORK/$1.conf" "$2"; }
last() { last_verdict "$DB" "${NODES[$1]}"; }
expect() { # NODE PASS POLICY VERSION [REASON]
	local got
	got=$(last "$1")
	[[ $got == "$2|$3|$4|"* ]] && [[ $got == *"${5:-}"* ]] || fail "node $1's last verdict: '$got', want $2|$3|$4 ${5:-}"
}

declare -A NODES
attest a pass
NODES[a]=$(db_rows "$DB" "SELECT ek_hash FROM nodes")
attest b fail
NODES[b]=$(db_rows "$DB" "SELECT ek_hash FROM nodes WHERE ek_hash <> '${NODES[a]}'")
expect a 1 config 0 ""
expect b 0 config 0 "PCR 7"
ok "the config file's policy judges both: A passes, B fails on PCR 7; the rows name 'config'"

policy() { RC=0; "$V" policy "$1" --config "$WORK/v.conf" "${@:2}" >"$WORK/policy.out" 2>&1 || RC=$?; }
policy create pa --file "$WORK/pa.json"
[ "$RC" -eq 0 ] && grep -q "^policy pa version 1 created$" "$WORK/policy.out" || fail "create pa: $(cat "$WORK/policy.out")"
policy create pb --file "$WORK/pb.json"
[ "$RC" -eq 0 ] || fail "create pb: $(cat "$WORK/policy.out")"
"$V" enroll --config "$WORK/v.conf" --group racks-b "${NODES[b]:0:16}" >/dev/null || fail "enroll --group"
policy assign pb --group racks-b
[ "$RC" -eq 0 ] || fail "assign pb: $(cat "$WORK/policy.out")"
attest b pass
expect b 1 pb 1
ok "pb assigned to B's group while serve runs: B passes at its next attestation, the row names pb 1"

policy assign pa --node "${NODES[b]:0:16}"
attest b fail
expect b 0 pa 1 "PCR 7"
"$V" status --config "$WORK/v.conf" "${NODES[b]:0:16}" >"$WORK/status.out" 2>&1 || true
grep -q "^policy    pa version 1 (by node): quotes sha256:" "$WORK/status.out" || fail "status: $(cat "$WORK/status.out")"
grep -q "^          sha256.7 = [0-9a-f]*  <- the last quote differs$" "$WORK/status.out" ||
	fail "status does not mark PCR 7: $(cat "$WORK/status.out")"
policy unassign --node "${NODES[b]:0:16}"
attest b pass
expect b 1 pb 1
ok "B's own policy pa beats its group's: it fails on PCR 7 (status names pa 1 by node); unassigned, pb judges again"

sed 's/"sha256.0": "[0-9a-f]*"/"sha256.0": "'"$(printf '%064d' 7)"'"/' "$WORK/pb.json" >"$WORK/pb2.json"
policy update pb --file "$WORK/pb2.json"
[ "$RC" -eq 0 ] && grep -q "^policy pb version 2 stored" "$WORK/policy.out" || fail "update pb: $(cat "$WORK/policy.out")"
attest b fail
expect b 0 pb 2 "PCR 0"
policy update pb --file "$WORK/pb.json"
attest b pass
expect b 1 pb 3
"$V" status --config "$WORK/v.conf" "${NODES[b]:0:16}" >"$WORK/status.out" 2>&1 || true
grep -q "^policy    pb version 3 (by group racks-b): quotes" "$WORK/status.out" || fail "status: $(cat "$WORK/status.out")"
"$V" policy show --config "$WORK/v.conf" --version 2 --json pb >"$WORK/show.json" || fail "show: exit $?"
/usr/bin/python3 -c "
import json; j = json.load(open('$WORK/show.json'))
assert j['name'] == 'pb' and j['version'] == 2 and j['policy']['pcrs']['sha256.0'] == '0' * 63 + '7', j" ||
	fail "show --version 2: $(cat "$WORK/show.json")"
ok "policy update: version 2 fails B on PCR 0, version 3 passes it; show --version 2 gives version 2 (Python)"

# A in two groups with different policies.
"$V" enroll --config "$WORK/v.conf" --group racks-a --group racks-b "${NODES[a]:0:16}" >/dev/null || fail "enroll a"
policy assign pa --group racks-a
attest a fail
expect a 0 pa 1 "its groups assign different policies ('pa' by group racks-a, 'pb' by group racks-b)"
"$V" status --config "$WORK/v.conf" "${NODES[a]:0:16}" >"$WORK/status.out" 2>&1 || true
grep -q "^policy    pa by group racks-a: cannot be applied, the next quote fails: its groups assign different" \
	"$WORK/status.out" || fail "status of the conflict: $(cat "$WORK/status.out")"
"$V" enroll --config "$WORK/v.conf" --group racks-a "${NODES[a]:0:16}" >/dev/null || fail "enroll a again"
attest a pass
expect a 1 pa 1
ok "two groups with different policies fail the node, naming both, until it is in one"

# Bad input: each refused with its reason; nothing stored.
"$V" policy list --config "$WORK/v.conf" >"$WORK/list-before" || fail "policy list"
refused() { # WANT ARGS...
	policy "${@:2}"
	[ "$RC" -ne 0 ] && grep -qF -- "$1" "$WORK/policy.out" || fail "policy ${*:2}: exit $RC, want '$1': $(cat "$WORK/policy.out")"
}
printf '{"pcrs": {"sha256.7": "00"' >"$WORK/bad-json.json"
refused "policy 'pc': not one JSON document: it ends early" create pc --file "$WORK/bad-json.json"
printf '{"pcr": {}}' >"$WORK/bad-key.json"
refused "policy 'pc': unknown key \"pcr\"" create pc --file "$WORK/bad-key.json"
printf '{"pcrs": {"sha256.16": "%064d"}}' 0 >"$WORK/bad-pcr.json"
refused "PCR 16 bank sha256 is not in the quoted selection" create pc --file "$WORK/bad-pcr.json"
printf '{"require_ima": false}' >"$WORK/bad-empty.json"
refused "policy 'pc': it judges nothing" create pc --file "$WORK/bad-empty.json"
refused "policy 'pb' is assigned to 0 nodes and 1 groups: unassign it first" delete pb
refused "no node with EK hash or name (an operator's; never a hostname claim) 'feedbeef'" assign pa --node feedbeef
refused "no policy 'nope'" assign nope --group racks-a
refused "policy 'pa' exists (version 1)" create pa --file "$WORK/pa.json"
refused "policy name 'config' is the config file's policy" create config --file "$WORK/pa.json"
"$V" policy list --config "$WORK/v.conf" >"$WORK/list-after" || fail "policy list"
cmp -s "$WORK/list-before" "$WORK/list-after" || fail "a refused command changed the policies: $(cat "$WORK/list-after")"
ok "bad input refused, nothing stored: $(grep -c . "$WORK/list-after") lines of policy list unchanged"

# Pull: serve re-quotes A; a policy assigned meanwhile judges the next round.
kill "$BG_PID" 2>/dev/null || true
pport=$(free_port)
TCTI=${TCTIS[a]} attestor_conf "$WORK/pa-attestor.conf" pull "127.0.0.1:$pport" "$WORK/a-state"
bg attestor-a "$BUILD_DIR/attestor" --config "$WORK/pa-attestor.conf"
wait_port "$pport"
verifier_conf "$WORK/p.conf" "mode = pull
targets = 127.0.0.1:$pport
reattest_interval = 1
ek_roots = $WORK/roots
state_dir = $WORK/vstate" "$REF_A"
bg pull "$V" serve --config "$WORK/p.conf"
wait_log "$WORK/pull.log" "verdict PASS" 2 30
policy assign pb --node "${NODES[a]:0:16}"
wait_log "$WORK/pull.log" "its node's policy changed: full exchange" 1 20
wait_log "$WORK/pull.log" "verdict FAIL" 1 20
expect a 0 pb 3 "PCR 7"
ok "pull serve: pb assigned to A while it re-quotes: the next round is a full exchange judged by pb 3"

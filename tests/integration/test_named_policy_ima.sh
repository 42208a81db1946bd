#!/bin/bash
# A named policy assigned to a node judges the IMA entries the node logged
# before (issue #15, helper-19's finding): the verifier keeps where a
# node's IMA list stands, so that the next session asks only for new
# entries; entries judged by another reference (the config file's, or an
# older version) are judged again by the new one, from entry 0. Real push
# service, swtpm extended with 200 real IMA entries (acs-imasig.bin):
#  - the config file's reference (PCR values only) passes the node and keeps
#    its IMA state;
#  - a policy whose allowlist lacks one path of those 200 entries, assigned
#    to the node: the next attestation, with no new entry, fails naming
#    that path (it would pass if only entries after 200 were judged);
#  - a version that allows every path passes, and the verdict names it;
#  - before it is applied, `policy test` over the stored evidence (two IMA
#    chunks of the boot joined) predicts that failure reason for reason,
#    and the pass; `audit` then supports every verdict.
# cli: local admin
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"
LE=$BUILD_DIR/tests/tools/log_extend
V=$(verifier_cli)
[ -x "$LE" ] || fail "$LE not built"

swtpm_start tpm
pcr_extend_some
pki_make "$WORK/pki"
P=$WORK/pki
"$LE" ima-head "$TESTDATA_DIR/ima/acs-imasig.bin" 200 >"$WORK/ima.bin" || fail "log_extend ima-head"
"$LE" ima "$WORK/ima.bin" >"$WORK/ima.extends" || fail "log_extend ima"
extend_from "$WORK/ima.extends"

vport=$(free_port)
mkdir -p "$WORK/vstate"
verifier_conf "$WORK/v.conf" "mode = push
listen = 127.0.0.1:$vport
pcrs = sha256:0-7,10
ek_roots = $EK_ROOTS
state_dir = $WORK/vstate" "$PCR_REF"
DB=$WORK/vstate/verifier.db
bg verifier "$V" serve --config "$WORK/v.conf"
wait_port "$vport"
attestor_conf "$WORK/a.conf" push "127.0.0.1:$vport" "$WORK/astate"
sed -i "s|^ima_log =.*|ima_log = $WORK/ima.bin|" "$WORK/a.conf"
attest() { # WANT
	local rc=0
	"$BUILD_DIR/attestor" --config "$WORK/a.conf" --once --wait 20 >/dev/null 2>"$WORK/a.err" || rc=$?
	if [ "$1" = pass ]; then [ "$rc" -eq 0 ]; else [ "$rc" -eq 1 ]; fi ||
		fail "attestation: exit $rc, want $1: $(tail -n 2 "$WORK/a.err")"
}
attest pass
grep -q "verdict PASS .* ima 200 (200 new)" "$WORK/verifier.log" || fail "first: $(grep verdict "$WORK/verifier.log")"
NODE=$(db_rows "$DB" "SELECT ek_hash FROM nodes")
ok "the config file's reference: PASS with 200 IMA entries replayed, the state kept"

# 50 entries more: the next quote sends only those (a second IMA chunk of
# this boot in the store).
"$LE" ima-head "$TESTDATA_DIR/ima/acs-imasig.bin" 250 >"$WORK/ima2.bin" || fail "log_extend ima-head 250"
"$LE" ima "$WORK/ima2.bin" | tail -n +201 >"$WORK/ima2.extends"
extend_from "$WORK/ima2.extends"
sed -i "s|^ima_log =.*|ima_log = $WORK/ima2.bin|" "$WORK/a.conf"
attest pass
grep -q "verdict PASS .* ima 250 (50 new)" "$WORK/verifier.log" || fail "second: $(grep verdict "$WORK/verifier.log" | tail -1)"

# The allowlist of those entries but one path, and of all of them.
"$V" policy from-ima --config "$WORK/v.conf" "$WORK/ima2.bin" >"$WORK/all.json" 2>/dev/null || fail "from-ima"
/usr/bin/python3 - "$WORK/all.json" "$PCR_REF" "$WORK/strict.json" "$WORK/full.json" <<'PY' || fail "policies"
import json, sys
ima = json.load(open(sys.argv[1]))["ima_policy"]
pcrs = dict(l.split(" = ") for l in sys.argv[2].splitlines())
full = {"pcrs": pcrs, "ima_policy": ima}
json.dump(full, open(sys.argv[4], "w"))
dropped = sorted(ima["allow"])[3]
del ima["allow"][dropped]
json.dump({"pcrs": pcrs, "ima_policy": ima}, open(sys.argv[3], "w"))
print(dropped, file=open(sys.argv[3] + ".dropped", "w"))
PY
DROPPED=$(cat "$WORK/strict.json.dropped")
# Dry runs over the stored evidence: its two IMA chunks joined, judged whole.
rc=0; "$V" policy test --config "$WORK/v.conf" --json "$WORK/strict.json" >"$WORK/dry-strict.json" || rc=$?
[ "$rc" -eq 1 ] || fail "policy test strict: exit $rc: $(cat "$WORK/dry-strict.json")"
"$V" policy test --config "$WORK/v.conf" "$WORK/full.json" >"$WORK/dry-full.out" ||
	fail "policy test full: $(cat "$WORK/dry-full.out")"
grep -q "^1 nodes: 1 would pass" "$WORK/dry-full.out" || fail "policy test full: $(cat "$WORK/dry-full.out")"
"$V" policy create --config "$WORK/v.conf" strict --file "$WORK/strict.json" >/dev/null || fail "create strict"
"$V" policy assign --config "$WORK/v.conf" strict --node "${NODE:0:16}" >/dev/null || fail "assign strict"
attest fail
reason=$(db_rows "$DB" "SELECT policy_name || ' ' || policy_version || ': ' || reason FROM attestations ORDER BY id DESC LIMIT 1")
[[ $reason == "strict 1: "*"$DROPPED"* ]] || fail "strict: '$reason', want a failure naming $DROPPED"
/usr/bin/python3 - "$WORK/dry-strict.json" "$reason" <<'PY' || fail "the dry run did not predict: $(cat "$WORK/dry-strict.json")"
import json, sys
n = json.load(open(sys.argv[1]))["nodes"][0]
assert n["result"] == "FAIL" and "strict 1: " + n["reason"] == sys.argv[2], (n, sys.argv[2])
PY
grep -q "its IMA entries were judged by config 0, it is judged by strict 1 now: the whole list again" "$WORK/verifier.log" ||
	fail "the verifier does not say it starts over: $(tail -n 5 "$WORK/verifier.log")"
ok "a policy assigned later judges the 200 entries already replayed: FAIL naming $DROPPED"

"$V" policy update --config "$WORK/v.conf" strict --file "$WORK/full.json" >/dev/null || fail "update strict"
attest pass
[ "$(db_rows "$DB" "SELECT pass, policy_name, policy_version FROM attestations ORDER BY id DESC LIMIT 1")" = "1|strict|2" ] ||
	fail "version 2: $(db_rows "$DB" "SELECT pass, policy_name, policy_version, reason FROM attestations ORDER BY id DESC LIMIT 1")"
ok "version 2, which allows every path, passes and the row names strict 2"
ok "policy test over the node's two stored IMA chunks: FAIL for strict with the very reason of the verdict, PASS for all paths"
"$V" audit --config "$WORK/v.conf" "${NODE:0:16}" >"$WORK/audit.out" || fail "audit: $(cat "$WORK/audit.out")"
grep -q "3 passes supported by their evidence, 1 failures, 0 without a quote, 0 passes whose evidence retention removed, 0 unsupported" \
	"$WORK/audit.out" || fail "audit: $(cat "$WORK/audit.out")"
ok "audit re-verifies every verdict, the IMA replays of joined chunks included: $(tail -n 1 "$WORK/audit.out")"

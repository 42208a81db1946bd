#!/bin/bash
# The operator's view (issue #14), through the real service and database:
#  - `verifier list` has a header; `status NODE` shows the last pass and
#    the last failure, the PCR values the last verified quote proved (the
#    same values tpm2_pcrread reads, independently), the reference the node
#    is judged by with each value marked against the quote, and the secrets
#    that select it; --json carries the same, parsed here by Python
#  - after PCR 7 changes: the node fails, status exits 1, the failure time
#    is set, and the reference line of PCR 7 says the quote differs
#  - an EK that never became a node (its CA is not in ek_roots) shows in
#    the fleet `status` under endorsement failures and makes it exit 1, and
#    not at all once an operator ran `verifier rejected --clear`; the EK
#    it claimed is named (sha256sum of tpm2_readpublic's)
#  - another TLS identity on the node's own TPM is rejected, and is shown as
#    a claim on that node (fleet and node status), not as an orphan; the
#    same identity's next attempt, which claims no node, does not take the
#    claim off the list
#  - pull: `list` shows each configured target with the node it answers for,
#    or that none has yet
# cli: local admin
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend tpm2_pcrread tpm2_createek tpm2_flushcontext openssl
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"
V=$(verifier_cli)

swtpm_start tpm
pcr_extend_some
pki_make "$WORK/pki"
P=$WORK/pki
(umask 077; openssl rand 32 >"$WORK/aes.key")
vport=$(free_port)
mkdir -p "$WORK/vstate"
verifier_conf "$WORK/v.conf" "mode = push
listen = 127.0.0.1:$vport
ek_roots = $EK_ROOTS
state_dir = $WORK/vstate" "$PCR_REF" "[secret disk]
kind = aes256
key = $WORK/aes.key
pcrs = sha256:0-7
[secret elsewhere]
kind = aes256
key = $WORK/aes.key
pcrs = sha256:0-7
hosts = name:nobody"
bg verifier "$V" serve --config "$WORK/v.conf"
wait_port "$vport"
attestor_conf "$WORK/a.conf" push "127.0.0.1:$vport" "$WORK/astate"
"$BUILD_DIR/attestor" --config "$WORK/a.conf" --once --wait 20 >/dev/null 2>"$WORK/a1.err" ||
	fail "first attestation: $(tail -n 3 "$WORK/a1.err")"
NODE=$(db_rows "$WORK/vstate/verifier.db" "SELECT ek_hash FROM nodes")

"$V" list --config "$WORK/v.conf" >"$WORK/list.out" || fail "list: exit $?"
head -n 1 "$WORK/list.out" | grep -q "^NODE  *NAME  *STATE  *LAST SEEN  *PASSED/VERDICTS$" ||
	fail "list has no header: $(cat "$WORK/list.out")"
grep -q "^${NODE:0:16}  .* passing  *[0-9T:-]*Z  *1/1$" "$WORK/list.out" || fail "list row: $(cat "$WORK/list.out")"
ok "list: header and row: $(sed -n 2p "$WORK/list.out")"

status() { RC=0; "$V" status --config "$WORK/v.conf" "$@" >"$WORK/status.out" 2>&1 || RC=$?; }
status "${NODE:0:12}"
[ "$RC" -eq 0 ] || fail "status of a passing node: exit $RC: $(cat "$WORK/status.out")"
grep -q "^last pass 20[0-9-]*T[0-9:]*Z$" "$WORK/status.out" && grep -q "^last fail never$" "$WORK/status.out" ||
	fail "status: last pass/fail: $(cat "$WORK/status.out")"
# The quoted values as tpm2_pcrread reads them (pcr_policy), each marked as quoted in the reference.
while read -r line; do
	grep -qx "          $line" "$WORK/status.out" || fail "status does not show the quoted '$line': $(cat "$WORK/status.out")"
	grep -qx "          $line  (as quoted)" "$WORK/status.out" || fail "reference '$line' not marked as quoted"
done < <(pcr_policy)
grep -q "^policy    $WORK/v.conf: quotes sha256:0,1,2,3,4,5,6,7" "$WORK/status.out" &&
	grep -q "^secrets   disk (aes256)$" "$WORK/status.out" || fail "status: policy/secrets: $(cat "$WORK/status.out")"
ok "status NODE: last pass, quoted PCRs = tpm2_pcrread's, reference marked, secrets 'disk' only"

"$V" status --config "$WORK/v.conf" --json "${NODE:0:12}" >"$WORK/status.json" || fail "status --json: exit $?"
/usr/bin/python3 - "$WORK/status.json" "$NODE" <<PY || fail "status --json: $(cat "$WORK/status.json")"
import json, sys
j = json.load(open(sys.argv[1]))
want = dict(l.split(" = ") for l in """$(pcr_policy)""".splitlines())
assert j["ek_hash"] == sys.argv[2], j["ek_hash"]
# The default selection quotes sha1 0-7 as well.
assert {k: v for k, v in j["quoted_pcrs"].items() if k.startswith("sha256.")} == want, (j["quoted_pcrs"], want)
assert sorted(k for k in j["quoted_pcrs"] if k.startswith("sha1.")) == ["sha1.%d" % i for i in range(8)], j
assert j["policy"]["values"] == want, j["policy"]
assert j["secrets"] == ["disk"], j["secrets"]
assert j["last_pass_ms"] > 0 and j["last_fail_ms"] == 0 and j["quoted_at_ms"] >= j["last_pass_ms"] - 1000, j
PY
ok "status --json: the same values, parsed by Python"

# An EK the verifier does not trust, from another swtpm with a CA of its own.
TCTI_MAIN=$TCTI
swtpm_start other
tpm2_readpublic -c 0x81010001 -o "$WORK/other-ek.pub" >/dev/null
OTHER_EK=$(sha256sum "$WORK/other-ek.pub" | cut -c1-16)
attestor_conf "$WORK/o.conf" push "127.0.0.1:$vport" "$WORK/ostate"
sed -i "s|$P/attestor\.|$P/attestor2.|g" "$WORK/o.conf"
RC=0; "$BUILD_DIR/attestor" --config "$WORK/o.conf" --once --wait 20 >/dev/null 2>"$WORK/o.err" || RC=$?
[ "$RC" -eq 1 ] && grep -q "^FAIL endorsement" "$WORK/o.err" || fail "untrusted EK: exit $RC: $(tail -n 2 "$WORK/o.err")"
status
[ "$RC" -eq 1 ] && grep -q "^endorsement failures of EKs that are no node" "$WORK/status.out" &&
	grep -q "^  push attestor2  *EK claimed $OTHER_EK  *1 times, last .*: endorsement: EK certificate not trusted: .*no certificate of issuer" "$WORK/status.out" ||
	fail "fleet status with an orphaned endorsement failure: exit $RC: $(cat "$WORK/status.out")"
ok "fleet status exits 1 on an EK that is no node: $(grep '^  push attestor2' "$WORK/status.out" | cut -c1-150)"
"$V" status --config "$WORK/v.conf" --json >"$WORK/fleet.json" || true
/usr/bin/python3 -c "
import json, sys
j = json.load(open('$WORK/fleet.json'))
assert [(e['identity'], e['claimed_ek_hash'][:16]) for e in j['endorsement_failures']] == [('attestor2', '$OTHER_EK')], j
assert j['claims_on_nodes'] == [] and len(j['nodes']) == 1, j" || fail "fleet --json: $(cat "$WORK/fleet.json")"
clear() {
	"$V" rejected --config "$WORK/v.conf" --clear >"$WORK/clear.out" || fail "rejected --clear: exit $?"
	grep -q "^forgot the rejected attempts of 1 TLS identities$" "$WORK/clear.out" || fail "clear: $(cat "$WORK/clear.out")"
	status
	[ "$RC" -eq 0 ] && ! grep -q "endorsement failures\|claimed a node" "$WORK/status.out" ||
		fail "after --clear: exit $RC: $(cat "$WORK/status.out")"
}
clear
ok "rejected --clear: the fleet status exits 0 again"

# Another TLS identity on the node's own TPM: rejected (the node is bound
# to 'attestor'), and shown as a claim on that node, not as an orphan.
attestor_conf "$WORK/c.conf" push "127.0.0.1:$vport" "$WORK/cstate" "tcti = $TCTI_MAIN"
sed -i "s|$P/attestor\.|$P/attestor2.|g; 0,/^tcti = .*/{/^tcti = /d}" "$WORK/c.conf"
RC=0; "$BUILD_DIR/attestor" --config "$WORK/c.conf" --once --wait 20 >/dev/null 2>"$WORK/c.err" || RC=$?
[ "$RC" -eq 1 ] && grep -q "^FAIL endorsement.*bound to another TLS identity" "$WORK/c.err" ||
	fail "another identity: exit $RC: $(tail -n 2 "$WORK/c.err")"
status
[ "$RC" -eq 1 ] && ! grep -q "^endorsement failures" "$WORK/status.out" &&
	grep -q "^rejected attempts that claimed a node's EK and did not prove it" "$WORK/status.out" &&
	grep -q "^  push attestor2  *node ${NODE:0:16} (vm) 1 times, last .*: endorsement: peer not allowed for this node .*: this TPM.s node is bound to another TLS identity" "$WORK/status.out" ||
	fail "fleet status with a claim on the node: exit $RC: $(cat "$WORK/status.out")"
CLAIM=$(grep '^  push attestor2' "$WORK/status.out" | cut -c1-120)
status "${NODE:0:12}"
grep -q "^claimed   push identity attestor2 1 times, last .*: endorsement: peer not allowed for this node .*: this TPM.s node is bound" "$WORK/status.out" ||
	fail "status NODE does not show the claim: $(cat "$WORK/status.out")"
"$V" status --config "$WORK/v.conf" --json >"$WORK/fleet.json" || true
/usr/bin/python3 -c "
import json
j = json.load(open('$WORK/fleet.json'))
assert j['endorsement_failures'] == [], j
assert [(c['identity'], c['claimed_ek_hash'], c['step']) for c in j['claims_on_nodes']] == [('attestor2', '$NODE', 'endorsement')], j" ||
	fail "fleet --json with a claim: $(cat "$WORK/fleet.json")"
ok "a rejected attempt on the node's EK is a claim on that node: $CLAIM"
# The same identity's next attempt claims no node (the untrusted EK again):
# the claim stays listed, beside the new orphan (helper-18 M1).
RC=0; "$BUILD_DIR/attestor" --config "$WORK/o.conf" --once --wait 20 >/dev/null 2>"$WORK/o2.err" || RC=$?
[ "$RC" -eq 1 ] || fail "untrusted EK again: exit $RC: $(tail -n 2 "$WORK/o2.err")"
status
[ "$RC" -eq 1 ] && grep -q "^  push attestor2  *node ${NODE:0:16} (vm) 2 times, last .*: endorsement: peer not allowed" "$WORK/status.out" &&
	grep -q "^  push attestor2  *EK claimed $OTHER_EK  *2 times, last .*: endorsement: EK certificate not trusted" "$WORK/status.out" ||
	fail "a later attempt hid the claim: exit $RC: $(cat "$WORK/status.out")"
ok "a later attempt that claims no node leaves the claim listed, beside the orphan it makes"
clear

# PCR 7 changes on the node: it fails, and status says where.
TCTI=$TCTI_MAIN TPM2TOOLS_TCTI=$TCTI_MAIN tpm2_pcrextend "7:sha256=$(printf 'ab%.0s' {1..32})"
NEW7=$(TPM2TOOLS_TCTI=$TCTI_MAIN pcr_policy sha256 7)
RC=0; "$BUILD_DIR/attestor" --config "$WORK/a.conf" --once --wait 20 >/dev/null 2>"$WORK/a2.err" || RC=$?
[ "$RC" -eq 1 ] || fail "after the extend: exit $RC: $(tail -n 2 "$WORK/a2.err")"
status "${NODE:0:12}"
[ "$RC" -eq 1 ] && grep -q "^state     failed$" "$WORK/status.out" && grep -q "^last fail 20[0-9-]*T[0-9:]*Z$" "$WORK/status.out" ||
	fail "status of the failed node: exit $RC: $(cat "$WORK/status.out")"
grep -qx "          $NEW7" "$WORK/status.out" || fail "status does not show the new PCR 7 '$NEW7': $(cat "$WORK/status.out")"
grep -q "^          sha256.7 = [0-9a-f]*  <- the last quote differs$" "$WORK/status.out" ||
	fail "the reference of PCR 7 is not marked: $(cat "$WORK/status.out")"
ok "after PCR 7 changed: status exits 1, shows the failure time, the quoted PCR 7 and the reference that differs"

# Pull: the targets and the node each answers for.
pull_tpm pulled
unused=127.0.0.1:$(free_port)
mkdir -p "$WORK/pstate"
verifier_conf "$WORK/p.conf" "mode = pull
targets = $TPM_ADDR, $unused
ek_roots = $WORK/roots
state_dir = $WORK/pstate"
"$V" attest --config "$WORK/p.conf" "$TPM_ADDR" >/dev/null 2>"$WORK/p.err" || fail "pull attest: $(tail -n 2 "$WORK/p.err")"
PNODE=$(db_rows "$WORK/pstate/verifier.db" "SELECT ek_hash FROM nodes")
"$V" list --config "$WORK/p.conf" >"$WORK/plist.out" || fail "pull list: exit $?"
grep -q "^  $TPM_ADDR  *node ${PNODE:0:16}  .* passing$" "$WORK/plist.out" &&
	grep -q "^  $unused  *no node yet" "$WORK/plist.out" || fail "pull list: $(cat "$WORK/plist.out")"
ok "pull list: each target with its node, or none yet"

#!/bin/bash
# modes: pull push
# What a verdict rests on (issue #12), through the real binaries in $MODE:
#  item 6: a boot_policy, or an ima_policy with PCR 10 quoted, and an
#    attestor that sends no log: the policy is not switched off, the node
#    fails ("no boot event log was sent (require_event_log)", "no IMA list
#    was sent (require_ima)") and the database says so;
#  item 16: no reference at all (no [policy] values, boot or IMA policy): the
#    verified node is 'verified', not passing: the driver prints VERIFIED and
#    exits 3, list and status say 'verified' and why, the verdict is recorded
#    as unjudged;
#  item 17: [policy] firmware_version = the TPM's own (TPM2_PT_FIRMWARE_VERSION_1
#    << 32 | _2, read with tpm2_getcap) passes; firmware_version = 1 fails
#    naming the TPM's version, and in push mode the status the attestor gets
#    does not list the versions the policy allows (the operator's log and
#    database do).
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend tpm2_pcrread tpm2_getcap
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

swtpm_start tpm
pcr_extend_some
pki_make "$WORK/pki"
. "$SOURCE_DIR/tests/integration/modes.sh"

# node_json NAME: `verifier status --json` of the one node NAME's verifier knows.
node_json() {
	local rc=0
	"$BUILD_DIR/verifier" status --config "$WORK/$1/verifier.conf" --json >"$WORK/$1/status.json" || rc=$?
	[ "$rc" -le 1 ] || fail "$1: verifier status: exit $rc"
}
# node_is NAME STATE REASON_SUBSTRING: the node's state and reason in the database.
node_is() {
	node_json "$1"
	/usr/bin/python3 - "$WORK/$1/status.json" "$2" "$3" <<'PY' || fail "$1 ($MODE): node: $(cat "$WORK/$1/status.json")"
import json, sys
n = json.load(open(sys.argv[1]))
n = n["nodes"][0] if "nodes" in n else n
assert n["state"] == sys.argv[2], n["state"]
assert sys.argv[3] in n["reason"], n["reason"]
PY
}

# --- item 6: a policy that reads a log makes the log required.
printf '{"secure_boot": false}\n' >"$WORK/boot.json"
printf '{"allow": {}}\n' >"$WORK/ima.json"
A_VEXTRA="boot_policy = $WORK/boot.json"
expect_fail no-bootlog 1 "^FAIL quote: .*no boot event log was sent (require_event_log)"
node_is no-bootlog failed "no boot event log was sent (require_event_log)"
A_PCRS=sha256:0-7,10+sha1:0-7
A_VEXTRA="ima_policy = $WORK/ima.json"
expect_fail no-imalist 1 "^FAIL quote: .*no IMA list was sent (require_ima)"
node_is no-imalist failed "no IMA list was sent (require_ima)"
A_PCRS=sha256:0-7+sha1:0-7 A_VEXTRA=""
ok "item 6 ($MODE): boot_policy and ima_policy with no log sent fail the node, recorded"

# --- item 16: no reference, no pass.
A_NOREF=1
attest_once noref
[ "$RC" -eq 3 ] && grep -q "^VERIFIED " "$WORK/noref/out" ||
	fail "no reference ($MODE): exit $RC, want 3 with VERIFIED: $(cat "$WORK/noref/out" "$WORK/noref/err")"
"$BUILD_DIR/verifier" list --config "$WORK/noref/verifier.conf" >"$WORK/noref/list" || fail "verifier list"
grep -q "^[0-9a-f]\{16\}  .* verified  *[0-9T:-]*Z  *0/1$" "$WORK/noref/list" &&
	grep -q "^1 nodes: 0 passing, 0 failed" "$WORK/noref/list" || fail "verifier list ($MODE): $(cat "$WORK/noref/list")"
node_is noref verified "no reference"
[ "$(db_rows "$WORK/noref/vstate/verifier.db" "SELECT pass, unjudged FROM attestations")" = "0|1" ] ||
	fail "no reference ($MODE): verdicts: $(db_rows "$WORK/noref/vstate/verifier.db" "SELECT pass, unjudged, reason FROM attestations")"
A_NOREF=0
ok "item 16 ($MODE): no reference: exit 3, $(grep -m1 '^VERIFIED' "$WORK/noref/out" | cut -d' ' -f1-2), node 'verified', the verdict unjudged"

# --- item 17: the TPM's firmware version against the policy's list.
fw_part() { tpm2_getcap properties-fixed | awk -v p="TPM2_PT_FIRMWARE_VERSION_$1:" '$1 == p { getline; print $2 }'; }
FW=$(printf '0x%08x%08x' "$(fw_part 1)" "$(fw_part 2)")
[ "$FW" != 0x0000000000000000 ] || fail "no firmware version from tpm2_getcap"
A_POLICY="$(pcr_policy)
firmware_version = 1, $FW"
expect_pass firmware-ok
ok "item 17 ($MODE): firmware_version = 1, $FW (the TPM's) passes"
A_POLICY="$(pcr_policy)
firmware_version = 1"
expect_fail firmware-bad 1 "^FAIL quote: .*TPM firmware version $FW is not one the policy allows"
node_is firmware-bad failed "allowed: 0x1"
if [ "$MODE" = push ]; then
	if grep -q "allowed:" "$WORK/firmware-bad/err"; then
		fail "the attestor was told the allowed versions: $(cat "$WORK/firmware-bad/err")"
	fi
	grep -q "verdict FAIL .*TPM firmware version $FW is not one the policy allows.*allowed: 0x1" "$WORK/firmware-bad-server.log" ||
		fail "the verifier's log does not name the allowed versions: $(grep verdict "$WORK/firmware-bad-server.log")"
fi
A_POLICY=""
ok "item 17 ($MODE): firmware_version = 1 fails: $(grep -m1 '^FAIL' "$WORK/firmware-bad/err")"

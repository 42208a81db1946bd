#!/bin/bash
# Issue #12 (proof before state, pull mode), found by the independent review:
# root on a pull-mode host kept its node "passing" for good by not answering
# after a verifier restart, since the node last proven at a target lived only
# in the driver's memory and pull mode ran no reattest_window. Now a verdict
# records the target its node was proven at (the store), a driver restores
# it, and `verifier serve` runs the window in pull mode too:
#   - control: an outage while the verifier runs fails the node;
#   - restart: the verifier restarts, the host changed and stops answering:
#     the node fails at the first round, the hook hears of it;
#   - one-shot: `verifier attest` against the silent target fails it too;
#   - a node no target attests any more fails when its window runs out.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend openssl python3
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

pki_make "$WORK/pki"
P=$WORK/pki
swtpm_start tpm
pcr_extend_some

attestor_conf "$WORK/a.conf" pull 127.0.0.1:0 "$WORK/astate"
start_attestor() { # [PORT]
	[ -n "${1:-}" ] && sed -i "s|^listen = .*|listen = 127.0.0.1:$1|" "$WORK/a.conf"
	bg "attestor$N" "$BUILD_DIR/attestor" --config "$WORK/a.conf"
	APID=$BG_PID
	APORT=$(log_port "$WORK/attestor$N.log")
}
N=1; start_attestor

verifier_conf "$WORK/verifier.conf" "mode = pull
targets = 127.0.0.1:$APORT
reattest_interval = 1
reattest_window = 4
ek_roots = $EK_ROOTS
state_dir = $WORK/vstate
hook = cat >> $WORK/hook.events; echo >> $WORK/hook.events"
start_verifier() {
	bg "verifier$N" "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
	VPID=$BG_PID
}
state() { "$BUILD_DIR/verifier" list --config "$WORK/verifier.conf" --json |
	python3 -c 'import json,sys; n=json.load(sys.stdin)["nodes"]; print(n[0]["state"] if n else "none")'; }

# --- control: the attestor goes away while the verifier runs -> failed.
start_verifier
wait_log "$WORK/verifier1.log" "verdict PASS target" 2 30
[ "$(state)" = passing ] || fail "control: not passing"
kill "$APID"; wait "$APID" 2>/dev/null || true
wait_log "$WORK/verifier1.log" "verdict FAIL target" 1 15
[ "$(state)" = failed ] || fail "control: the outage did not fail the node ($(state))"
ok "control: an outage while the verifier runs fails the node"

# Back to passing.
N=2; start_attestor "$APORT"
wait_log "$WORK/verifier1.log" "verdict PASS target .* (full)" 2 30
[ "$(state)" = passing ] || fail "not passing again"
ok "node passing again"

# --- the verifier restarts (upgrade, reboot, crash); the host's root has
# changed the host (a PCR the reference fixes) and stops answering.
kill -TERM "$VPID"; wait "$VPID" 2>/dev/null || true
kill "$APID"; wait "$APID" 2>/dev/null || true
tpm2_pcrextend "0:sha256=$(printf 'rootkit' | sha256sum | cut -d' ' -f1)" >/dev/null
events=$(grep -c '"to":"failed"' "$WORK/hook.events" 2>/dev/null || true)
N=3; start_verifier
wait_log "$WORK/verifier3.log" "verdict FAIL target" 1 30
[ "$(state)" = failed ] || fail "after the restart the silent target's node is $(state)"
"$BUILD_DIR/verifier" list --config "$WORK/verifier.conf" --json | grep -q "did not prove its node" ||
	fail "the node's reason does not say why: $("$BUILD_DIR/verifier" list --config "$WORK/verifier.conf" --json)"
for ((i = 0; i < 50; i++)); do
	[ "$(grep -c '"to":"failed"' "$WORK/hook.events" 2>/dev/null || true)" -gt "$events" ] && break
	sleep 0.1
done
[ "$(grep -c '"to":"failed"' "$WORK/hook.events" 2>/dev/null || true)" -gt "$events" ] || fail "the hook did not hear of it"
ok "after a restart the silent target's node failed at the first round, the hook told"
kill -TERM "$VPID"; wait "$VPID" 2>/dev/null || true

# --- the one-shot driver (verifier attest, e.g. from cron) restores it too:
# back to passing first (the PCR is back to the reference on a fresh boot).
# as a genuine pass would leave it
set_passing() { /usr/bin/python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()' \
	"$WORK/vstate/verifier.db" "UPDATE nodes SET state = 'passing', reason = ''"; }
set_passing
rc=0; "$BUILD_DIR/verifier" attest --config "$WORK/verifier.conf" "127.0.0.1:$APORT" >"$WORK/once.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "verifier attest against the silent target: exit $rc: $(cat "$WORK/once.out")"
[ "$(state)" = failed ] || fail "verifier attest left the silent target's node $(state)"
ok "verifier attest against the silent target: exit 1, the node failed"

# --- a node no target attests any more fails when its window runs out.
set_passing
sed -i "s|^targets = .*|targets = 127.0.0.1:1|" "$WORK/verifier.conf"
N=4; start_verifier
wait_log "$WORK/verifier4.log" "no passing attestation within reattest_window" 1 20
[ "$(state)" = failed ] || fail "a node no target attests is $(state) after its window"
ok "a node no target attests any more failed after reattest_window"

#!/bin/bash
# verifier serve in pull mode: two attestors (two swtpm) kept attested on an
# interval: a full exchange first, then quote rounds with the activated AK;
# both nodes in the database, passing. One attestor goes away: its node turns
# failed with the reason, the other keeps passing; it comes back: a full
# exchange again and its node passes. The other's TPM restarts under its
# attestor: it fails meanwhile, then passes again. SIGTERM stops the verifier
# cleanly.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend openssl python3
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

pki_make "$WORK/pki"
P=$WORK/pki
swtpm_fleet a b

# attestor NAME PORT: (re)start attestor NAME on PORT (0: any); sets PORT_NAME.
attestor() {
	mkdir -p "$WORK/$1"
	cat >"$WORK/$1/attestor.conf" <<CONF
[attestor]
mode = pull
listen = 127.0.0.1:$2
tcti = ${TCTIS[$1]}
state_dir = $WORK/$1
event_log =
ima_log =
$(tls_conf attestor)
verifier_identity = verifier
CONF
	bg "attestor-$1" "$BUILD_DIR/attestor" --config "$WORK/$1/attestor.conf"
	eval "PID_$1=$BG_PID"
	eval "PORT_$1=$(log_port "$WORK/attestor-$1.log")"
}
attestor a 0
attestor b 0

cat >"$WORK/verifier.conf" <<CONF
[verifier]
; swtpm restarts below: a reference that holds across its reboots
pcrs = $REBOOT_PCRS
mode = pull
targets = 127.0.0.1:$PORT_a, 127.0.0.1:$PORT_b
reattest_interval = 1
ek_roots = $WORK/roots
state_dir = $WORK/vstate
log_level = info
$(tls_conf verifier)
[policy]
$REBOOT_REF
CONF
bg verifier "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
VPID=$BG_PID

# wait_count PATTERN N SECONDS: until the verifier log has N matching lines.
wait_count() { wait_log "$WORK/verifier.log" "$@"; }
for t in a b; do
	eval "port=\$PORT_$t"
	wait_count "verdict PASS target 127.0.0.1:$port round 1 (full)" 1 20
	wait_count "verdict PASS target 127.0.0.1:$port round 3 (quote)" 1 20
done
ok "both targets attested: a full exchange, then quote rounds with the activated AK"

"$BUILD_DIR/verifier" list --config "$WORK/verifier.conf" --json >"$WORK/list.json" || fail "verifier list"
python3 - "$WORK/list.json" <<'PY' || fail "verifier list: $(cat "$WORK/list.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["nodes"]) == 2, d
assert all(n["state"] == "passing" and n["passes"] >= 3 for n in d["nodes"]), d
PY
ok "two nodes in the database, both passing with their verdicts"

# Attestor a goes away: its node fails with the reason; b keeps passing.
kill "$PID_a"; wait "$PID_a" 2>/dev/null || true
wait_count "verdict FAIL target 127.0.0.1:$PORT_a" 1 15
b_before=$(grep -c "verdict PASS target 127.0.0.1:$PORT_b" "$WORK/verifier.log")
wait_count "verdict PASS target 127.0.0.1:$PORT_b" $((b_before + 2)) 15
"$BUILD_DIR/verifier" list --config "$WORK/verifier.conf" --json >"$WORK/list2.json"
python3 - "$WORK/list2.json" <<'PY' || fail "after a went away: $(cat "$WORK/list2.json")"
import json, sys
d = json.load(open(sys.argv[1]))
states = sorted(n["state"] for n in d["nodes"])
assert states == ["failed", "passing"], states
failed = [n for n in d["nodes"] if n["state"] == "failed"][0]
assert "transport error" in failed["reason"], failed["reason"]
PY
ok "an unreachable attestor's node is failed with the reason; the other kept passing"

# a comes back on its address: a full exchange again, its node passes.
fulls=$(grep -c "verdict PASS target 127.0.0.1:$PORT_a round .* (full)" "$WORK/verifier.log")
attestor a "$PORT_a"
wait_count "verdict PASS target 127.0.0.1:$PORT_a round .* (full)" $((fulls + 1)) 20
"$BUILD_DIR/verifier" list --config "$WORK/verifier.conf" >"$WORK/list3.out"
grep -q "^2 nodes: 2 passing, 0 failed" "$WORK/list3.out" || fail "after a came back: $(cat "$WORK/list3.out")"
ok "the attestor came back: full exchange, node passing again"

# b's TPM goes away under its running attestor, which fails the rounds it
# is asked meanwhile, and comes back rebooted: the attestor connects to it
# again (its old ESYS context is unusable) and b passes again.
b_fails=$(grep -c "verdict FAIL target 127.0.0.1:$PORT_b" "$WORK/verifier.log" || true)
swtpm_stop
wait_count "verdict FAIL target 127.0.0.1:$PORT_b" $((b_fails + 1)) 15
b_passes=$(grep -c "verdict PASS target 127.0.0.1:$PORT_b" "$WORK/verifier.log")
swtpm_run "$SWTPM_PORT"
wait_count "verdict PASS target 127.0.0.1:$PORT_b" $((b_passes + 1)) 20
grep -q "connection to the TPM was lost: connecting again" "$WORK/attestor-b.log" ||
	fail "attestor b did not connect to its TPM again: $(tail -n 5 "$WORK/attestor-b.log")"
ok "b's TPM restarted under its attestor: $(grep "verdict FAIL target 127.0.0.1:$PORT_b" "$WORK/verifier.log" | tail -n 1 | sed 's/.*verdict/verdict/'), then passing again"

kill -TERM "$VPID"
for ((i = 0; i < 50; i++)); do kill -0 "$VPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$VPID" 2>/dev/null && fail "verifier still running 5 s after SIGTERM"
rc=0; wait "$VPID" || rc=$?
[ "$rc" -eq 0 ] || fail "verifier exited $rc after SIGTERM"
ok "SIGTERM: the verifier stops cleanly"

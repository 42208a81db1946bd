#!/bin/bash
# The verifier's push service (verifier serve, mode = push) against an
# independent client: Python grpcio relaying genuine evidence from a real
# attestor (pull mode over swtpm), bending one rule per scenario. Each
# rejection must carry the status and the reason the push protocol promises
# (verifier/push/service.h); the verifier keeps serving throughout.
. "$SOURCE_DIR/tests/integration/lib.sh"
need openssl swtpm swtpm_setup
py_stubs "$WORK/stubs"
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

swtpm_start tpm
pcr_extend_some
pki_make "$WORK/pki"
P=$WORK/pki
TTL=3

mkdir -p "$WORK/state"
cat >"$WORK/attestor.conf" <<CONF
[attestor]
mode = pull
listen = 127.0.0.1:0
tcti = $TCTI
; swtpm, not this machine's TPM: not this machine's measurement logs either
event_log =
ima_log =
state_dir = $WORK/state
$(tls_conf attestor)
verifier_identity = verifier
CONF
bg attestor "$BUILD_DIR/attestor" --config "$WORK/attestor.conf"
aport=$(log_port "$WORK/attestor.log")

# First without a database: every session activates its AK (a database would
# remember the AK activated by the first one; that path is checked below).
cat >"$WORK/verifier.conf" <<CONF
[verifier]
mode = push
listen = 127.0.0.1:0
ek_roots = $EK_ROOTS
session_ttl = $TTL
reattest_interval = 42
log_level = info
$(tls_conf verifier)
[policy]
$PCR_REF
CONF
bg verifier "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
VERIFIER_PID=$BG_PID
vport=$(log_port "$WORK/verifier.log")

relay() {
	/usr/bin/python3 "$SOURCE_DIR/tests/integration/push_relay.py" --stubs "$WORK/stubs" \
		--verifier "127.0.0.1:$vport" --attestor "127.0.0.1:$aport" --pki "$P" "$@"
}

out=$(relay pass) || fail "a genuine relayed exchange did not pass"
case $out in *"reattest in 42 s"*) ;; *) fail "verdict does not carry reattest_interval: $out" ;; esac
ok "$out"
for s in other-peer out-of-order repeat cross-nonce unknown malformed-id finished bad-quote; do
	out=$(relay "$s") || fail "scenario $s"
	ok "$out"
done
out=$(relay --sleep $((TTL + 1)) expired) || fail "scenario expired"
ok "$out"

# Still serving, and the log holds exactly the verdicts the scenarios produced:
# passes for pass, other-peer (none: it stops at activation), finished; fails
# for cross-nonce (nonce) and bad-quote (signature).
out=$(relay pass) || fail "the verifier stopped passing genuine exchanges"
kill -0 "$VERIFIER_PID" 2>/dev/null || fail "verifier exited"
passes=$(grep -c "verdict PASS" "$WORK/verifier.log" || true)
fails=$(grep -c "verdict FAIL" "$WORK/verifier.log" || true)
[ "$passes" -eq 3 ] || fail "verifier logged $passes passing verdicts, want 3"
[ "$fails" -eq 2 ] || fail "verifier logged $fails failing verdicts, want 2"
grep -q "verdict FAIL .*quote: .*nonce" "$WORK/verifier.log" || fail "no nonce failure logged"
ok "verifier logged 3 passes and 2 failures, each with its reason"

# With a database: the first exchange activates the AK, the next ones reuse it,
# and every passing verdict hands out the next quote request (one call). A
# short nonce_ttl for resume-stale: its quote is made 3 s before it is sent.
# restart_verifier NAME LINES: the verifier again, with LINES added to [verifier].
restart_verifier() {
	kill "$VERIFIER_PID"
	wait "$VERIFIER_PID" 2>/dev/null || true
	sed -i "/^\[verifier\]$/a $2" "$WORK/verifier.conf"
	bg "$1" "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
	VERIFIER_PID=$BG_PID
	vport=$(log_port "$WORK/$1.log")
}
restart_verifier verifier2 "state_dir = $WORK/vstate\nnonce_ttl = 2"
out=$(relay --db pass) || fail "first exchange with a database"
for s in known known-bad known resume resume-used resume-other resume-forged resume-hello; do
	out=$(relay --db "$s") || fail "scenario $s"
	ok "$out"
done
out=$(relay --db --sleep 3 resume-stale) || fail "scenario resume-stale"
ok "$out"
grep -q "known, resumed" "$WORK/verifier2.log" || fail "no verdict of a resumed session logged"
# The database holds one node (every relay used the same TPM): 1 pass with
# activation, 2 known, 2 + 2 + 2 + 1 + 2 + 2 from the resume scenarios.
# known-bad (the node's known AK, a signature that does not verify) proved
# no TPM: a rejected attempt of its identity, not a verdict of the node.
"$BUILD_DIR/verifier" list --config "$WORK/verifier.conf" >"$WORK/list.out" || fail "verifier list"
grep -q "^1 nodes: 1 passing, 0 failed; verdicts recorded: 14 pass, 0 fail$" "$WORK/list.out" ||
	fail "verifier list: $(cat "$WORK/list.out")"
"$BUILD_DIR/verifier" rejected --config "$WORK/verifier.conf" >"$WORK/rejected.out" || fail "verifier rejected"
grep -q "^push attestor  *1  last .* quote: signature verification failed" "$WORK/rejected.out" ||
	fail "verifier rejected: $(cat "$WORK/rejected.out")"
"$BUILD_DIR/verifier" list --config "$WORK/verifier.conf" --json >"$WORK/list.json" || fail "verifier list --json"
ek=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["verdicts"]=={"pass":14,"fail":0}; print(d["nodes"][0]["ek_hash"])' "$WORK/list.json") ||
	fail "verifier list --json: $(cat "$WORK/list.json")"
"$BUILD_DIR/verifier" status --config "$WORK/verifier.conf" "${ek:0:12}" >"$WORK/status.out" || fail "verifier status"
grep -q "^state     passing" "$WORK/status.out" || fail "verifier status: $(cat "$WORK/status.out")"
rc=0; "$BUILD_DIR/verifier" status --config "$WORK/verifier.conf" ffffffffffff >/dev/null 2>"$WORK/status.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "no node" "$WORK/status.err" || fail "status of an unknown node: exit $rc"
ok "verifier list and status agree with the log: $(cat "$WORK/list.out")"

# pre_issued_requests = false: with a database, a pass hands out no next
# quote request (every round a Hello and a fresh nonce).
restart_verifier verifier3 "pre_issued_requests = false"
out=$(relay known-no-next) || fail "pre_issued_requests = false: a pass handed out a next quote request"
ok "pre_issued_requests = false: $out"

# A configuration without listen is refused at start with the reason.
sed '/^listen/d' "$WORK/verifier.conf" >"$WORK/nolisten.conf"
rc=0; "$BUILD_DIR/verifier" serve --config "$WORK/nolisten.conf" 2>"$WORK/nolisten.err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "mode = push needs listen" "$WORK/nolisten.err" ||
	fail "serve without listen: exit $rc: $(cat "$WORK/nolisten.err")"
ok "serve without listen refused: $(cat "$WORK/nolisten.err")"

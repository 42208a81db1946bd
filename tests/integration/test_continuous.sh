#!/bin/bash
# Continuous attestation in push mode, one attestor against one verifier with
# a database and a state-change hook:
#  - re-attestations reuse the activated AK (no new activation), each one
#    call: SubmitQuote answering the quote request the last verdict handed out;
#  - the verifier restarts: nothing lost, the node keeps its enrollment and AK;
#  - kill -9 of the verifier at several points: the database opens cleanly, no
#    half-written verdict, the next attestation passes;
#  - a PCR changes: the node fails with the PCR named, gets no secret, the hook
#    hears passing -> failed with the reason;
#  - swtpm restarted on its state (a reboot) after the attestor met it gone:
#    the attestor connects again, the AK is activated again, PCRs are fresh,
#    the node passes again and the hook hears failed -> passing;
#  - the attestor goes away: the node fails when its reattest_window runs out;
#  - remove, and explicit enrollment with verifier enroll.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend tpm2_createek python3 openssl
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

swtpm_start tpm
pcr_extend_some
pki_make "$WORK/pki"
P=$WORK/pki
vport=$(free_port)
mkdir -p "$WORK/astate" "$WORK/vstate" "$WORK/keys"
(umask 077; openssl rand 32 >"$WORK/keys/aes.key")
cat >"$WORK/hook.sh" <<HOOK
#!/bin/sh
cat >>"$WORK/events.jsonl"
HOOK
chmod +x "$WORK/hook.sh"

attestor_conf "$WORK/attestor.conf" push "127.0.0.1:$vport" "$WORK/astate"
# verifier_conf [EXTRA]: reattest every second; a node silent for 4 s fails.
verifier_conf() {
	cat >"$WORK/verifier.conf" <<CONF
[verifier]
mode = push
listen = 127.0.0.1:$vport
ek_roots = $EK_ROOTS
pcrs = sha256:0-7,16
reattest_interval = 1
reattest_window = 4
state_dir = $WORK/vstate
hook = $WORK/hook.sh
log_level = ${VLOGLEVEL:-info}
${1:-}
$(tls_conf verifier)
[policy]
sha256.16 = $(printf '%064d' 0)
[secret disk-key]
kind = aes256
key = $WORK/keys/aes.key
pcrs = sha256:16
hosts = *
CONF
}

count() { grep -c -- "$2" "$1" 2>/dev/null || true; }
db() { python3 - "$WORK/vstate/verifier.db" "$1" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
for row in con.execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))
PY
}
VLOG=0
start_verifier() {
	VLOG=$((VLOG + 1))
	bg "verifier$VLOG" "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
	VPID=$BG_PID
	wait_port "$vport"
}
stop_verifier() {
	kill "-${1:-TERM}" "$VPID" 2>/dev/null || true
	wait "$VPID" 2>/dev/null || true
}
start_attestor() {
	bg attestor "$BUILD_DIR/attestor" --config "$WORK/attestor.conf"
	APID=$BG_PID
}
stop_attestor() {
	kill -TERM "$APID" 2>/dev/null || true
	wait "$APID" 2>/dev/null || true
}
# events_check N FROM TO PATTERN: the Nth hook event (1-based) went FROM -> TO
# with a reason matching PATTERN, and carries every field.
events_check() {
	python3 - "$WORK/events.jsonl" "$@" <<'PY' || fail "hook event $2: $(cat "$WORK/events.jsonl")"
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
n, frm, to, pat = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ev = json.loads(lines[n - 1])
for k in ("event", "node", "hostname", "from", "to", "reason", "mode", "time", "time_ms"):
    assert k in ev, k
assert ev["event"] == "state_change" and len(ev["node"]) == 64, ev
assert ev["from"] == frm and ev["to"] == to, ev
assert re.search(pat, ev["reason"]), ev
PY
}
events() { [ -f "$WORK/events.jsonl" ] && wc -l <"$WORK/events.jsonl" || echo 0; }
wait_events() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do [ "$(events)" -ge "$1" ] && return 0; sleep 0.1; done
	fail "$1 hook events not seen within $2 s: $(cat "$WORK/events.jsonl" 2>/dev/null)"
}

verifier_conf
start_verifier
start_attestor
V=$WORK/verifier1.log
wait_log "$V" "verdict PASS .*ak activated" 1 20
wait_log "$V" "verdict PASS .*ak known, resumed" 2 10
ok "re-attestation every second with the activated AK: $(count "$V" 'ak known') without a new activation, in one call each"
# A new database says so once, in one line, not a migration per version.
[ "$(grep -c 'new database, schema version' "$V")" = 1 ] && ! grep -q 'migrated' "$V" ||
	fail "a new database's log: $(grep -e 'schema' -e 'migrated' "$V")"
ok "a new database: one line, no migration noise"

wait_events 1 5
events_check 1 attesting passing '^$'
ok "hook: attesting -> passing"
[ "$(db "SELECT count(*) FROM secret_deliveries")" -ge 1 ] || fail "no secret delivered while passing"
# Every passing verdict carries its evidence: nonce, quote, signature, counters.
[ "$(db "SELECT count(*) FROM attestations WHERE pass = 1 AND (length(nonce) != 32 OR quote IS NULL OR
	signature IS NULL OR reset_count IS NULL OR clock IS NULL)")" = 0 ] || fail "a verdict without its evidence"

# --- restart: nothing lost
node=$(db "SELECT ek_hash FROM nodes")
ak=$(db "SELECT hex(ak_name) FROM nodes")
before=$(db "SELECT count(*) FROM attestations")
stop_verifier TERM
start_verifier
V=$WORK/verifier$VLOG.log
wait_log "$V" "verdict PASS .*ak known" 1 15
[ "$(db "SELECT ek_hash FROM nodes")" = "$node" ] || fail "node changed across the restart"
[ "$(db "SELECT hex(ak_name) FROM nodes")" = "$ak" ] || fail "AK changed across the restart"
[ "$(db "SELECT count(*) FROM attestations")" -gt "$before" ] || fail "history lost across the restart"
# The quote request handed out before the restart died with the process: the
# first verdict after it comes from a Hello (the attestor goes back to Hello
# whether its request was refused as unknown or the verifier was down).
grep -m1 "verdict PASS" "$V" | grep -q "ak known, resumed" && fail "a request of the old process was resumed"
wait_log "$V" "verdict PASS .*ak known, resumed" 1 10
ok "verifier restarted: same node ${node:0:16}..., same AK, history kept, no new activation; Hello first, then one call again"

# --- kill -9 at several points of the exchanges
for delay in 0.15 0.4 0.65 0.9 1.2; do
	sleep "$delay"
	stop_verifier KILL
	check=$(db "PRAGMA integrity_check")
	[ "$check" = ok ] || fail "after kill -9 ($delay s): integrity_check: $check"
	# A verdict and its node move together: the node's state is its last verdict's.
	bad=$(db "SELECT count(*) FROM nodes n WHERE n.state != (SELECT CASE a.pass WHEN 1 THEN 'passing' ELSE 'failed' END
		FROM attestations a WHERE a.node_id = n.id ORDER BY a.id DESC LIMIT 1)")
	[ "$bad" = 0 ] || fail "after kill -9 ($delay s): a node disagrees with its last verdict"
	start_verifier
	V=$WORK/verifier$VLOG.log
	wait_log "$V" "verdict PASS" 1 15
done
ok "kill -9 five times mid-run: database intact, node state = last verdict, next attestation passes"
[ "$(db "SELECT count(*) FROM attestations WHERE pass = 0")" = 0 ] || fail "a failing verdict during the kills"

# --- a PCR changes under the running attestor: failed, the PCR named, no
# secret, the hook told; the attestor keeps the verifier's 1 s interval after
# the failing verdict (its own default is 300 s)
tpm2_pcrextend "16:sha256=$(printf 'rogue' | sha256sum | cut -d' ' -f1)" >/dev/null
wait_log "$V" "verdict FAIL" 1 15
grep -q ' warn push: verdict FAIL' "$V" || fail "a failing verdict is not logged at warn: $(grep 'verdict FAIL' "$V" | head -1)"
delivered=$(db "SELECT count(*) FROM secret_deliveries")
state=$(db "SELECT state || ': ' || reason FROM nodes")
case $state in failed:*"PCR 16"*) ;; *) fail "node after the PCR change: $state" ;; esac
ok "PCR 16 changed: node $state, logged at warn"
wait_events 2 5
events_check 2 passing failed 'PCR 16'
ok "hook: passing -> failed, the reason names PCR 16"
wait_log "$V" "verdict FAIL" 3 10
[ "$(db "SELECT count(*) FROM secret_deliveries")" = "$delivered" ] || fail "a failed node got a secret"
ok "still failing every second on the verifier's interval, no secret delivered while failed"

# --- reboot: swtpm restarted on its state (PCRs reset, resetCount + 1) under
# the running attestor, which comes back with the AK it had. The attestor
# tries at least once while the TPM is gone: a TCTI failure leaves its ESYS
# context unusable for good, so it must connect again by itself.
A=$WORK/attestor.log
tpm_errors=$(count "$A" "TPM error")
swtpm_stop
wait_log "$A" "TPM error" $((tpm_errors + 1)) 10
swtpm_run "$SWTPM_PORT"
passes=$(count "$V" "verdict PASS")
wait_log "$V" "verdict PASS" $((passes + 1)) 20
grep -q "activate it again" "$V" || fail "the reboot was not met by a new activation: $(tail -n 20 "$V")"
grep -q "connection to the TPM was lost: connecting again" "$A" || fail "the attestor did not connect to the TPM again"
ok "after the reboot: the known AK activated again, then $(grep 'verdict PASS' "$V" | tail -n 1 | sed 's/.*verdict/verdict/')"
wait_events 3 5
events_check 3 failed passing '^$'
ok "hook: failed -> passing"

# --- the attestor goes silent: failed when its window runs out
stop_attestor
wait_events 4 10
events_check 4 passing failed 'reattest_window'
ok "silent node failed after reattest_window: $(db "SELECT reason FROM nodes")"

# --- operator commands
"$BUILD_DIR/verifier" status --config "$WORK/verifier.conf" "${node:0:12}" >"$WORK/status.txt" && fail "status of a failed node exits 0"
grep -q "reattest_window" "$WORK/status.txt" || fail "status does not say why: $(cat "$WORK/status.txt")"
"$BUILD_DIR/verifier" remove --config "$WORK/verifier.conf" "${node:0:12}" >"$WORK/remove.txt" || fail "remove: $(cat "$WORK/remove.txt")"
[ "$(db "SELECT count(*) FROM nodes")" = 0 ] || fail "node still there after remove"
"$BUILD_DIR/verifier" remove --config "$WORK/verifier.conf" "${node:0:12}" 2>"$WORK/remove2.txt" && fail "removing twice succeeds"
grep -q "no node" "$WORK/remove2.txt" || fail "remove of an unknown node: $(cat "$WORK/remove2.txt")"
ok "remove: $(cat "$WORK/remove.txt")"

stop_verifier TERM
verifier_conf "enrollment = explicit"
start_verifier
V=$WORK/verifier$VLOG.log
start_attestor
wait_log "$V" "rejected attempt 1 of peer 'attestor' .*not enrolled" 1 15
[ "$(db "SELECT count(*) FROM nodes")" = 0 ] || fail "an unknown node was recorded under explicit enrollment"
ok "explicit enrollment: an unknown node is refused, as a rejected attempt ($(grep -m1 -o 'not enrolled[^)]*)' "$V"))"
stop_attestor
tpm2_createek -G rsa -c "$WORK/ek.ctx" -u "$WORK/ek.pub" >/dev/null
tpm2_flushcontext -t >/dev/null
"$BUILD_DIR/verifier" enroll --config "$WORK/verifier.conf" --name db1 --ek-pub "$WORK/ek.pub" >"$WORK/enroll.txt" ||
	fail "enroll: $(cat "$WORK/enroll.txt")"
grep -q "$node" "$WORK/enroll.txt" || fail "enrolled another identity than the attestor's: $(cat "$WORK/enroll.txt") vs $node"
"$BUILD_DIR/verifier" enroll --config "$WORK/verifier.conf" "$node" 2>"$WORK/enroll2.txt" && fail "enrolling twice succeeds"
grep -q "enrolled already" "$WORK/enroll2.txt" || fail "second enroll: $(cat "$WORK/enroll2.txt")"
"$BUILD_DIR/verifier" enroll --config "$WORK/verifier.conf" "not-a-hash" 2>"$WORK/enroll3.txt" && fail "enroll of a bad hash succeeds"
grep -q "64 hex digits" "$WORK/enroll3.txt" || fail "bad hash: $(cat "$WORK/enroll3.txt")"
start_attestor
wait_log "$V" "verdict PASS" 1 15
ok "enrolled by the operator ($(cat "$WORK/enroll.txt")): passes"
stop_attestor
stop_verifier TERM

#!/bin/bash
# Issue #12, item 14 (and the threat model's stolen key, section 4): a peer
# holding a node's TLS identity but not its TPM says Hello as fast as it can
# and never finishes (what the independent review found could hold the
# identity's whole share of push sessions, refuse the genuine attestor and
# let reattest_window fail the node). Now an identity at its share only
# displaces its own sessions that proved nothing, and a pre-issued request
# is not held to the share: the node keeps passing through the flood, the
# flood is counted as rejected attempts of the identity (one row) and the
# log hears of it at powers of two only.
# Then the second review's finding: a node that must say Hello (here its
# attestor restarted) lost every session to such a flood, displaced before
# its ActivateCredential arrived. A session in its grace (2 s) is not
# displaced now: the node is refused with a status that says why
# (RESOURCE_EXHAUSTED) or gets through, never loses a session, and passes
# as soon as the flood stops. And the fourth review's: sessions kept busy
# with steps the verifier refuses stay past their grace (only a demand
# handed out restarts it), so they hold nothing against the node.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend openssl
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"
py_stubs "$WORK/stubs"
pki_make "$WORK/pki"
P=$WORK/pki
mkdir -p "$WORK/roots"
swtpm_start victim
pcr_extend_some
VTCTI=$TCTI
cp "$EK_ROOTS"/* "$WORK/roots/"
swtpm_start other
ATCTI=$TCTI
cp "$EK_ROOTS"/swtpm-localca-rootca-cert.pem "$WORK/roots/other-root.pem"
cp "$EK_ROOTS"/issuercert.pem "$WORK/roots/other-issuer.pem"

verifier_conf "$WORK/verifier.conf" "mode = push
listen = 127.0.0.1:0
ek_roots = $WORK/roots
state_dir = $WORK/vstate
reattest_interval = 2
session_ttl = 5"
bg verifier "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
VERPID=$BG_PID
VPORT=$(log_port "$WORK/verifier.log")

# The flood's well-formed endorsement: any TPM's (here another swtpm's).
TCTI=$ATCTI attestor_conf "$WORK/src.conf" pull 127.0.0.1:0 "$WORK/srcstate"
bg source "$BUILD_DIR/attestor" --config "$WORK/src.conf"
SPORT=$(log_port "$WORK/source.log")

TCTI=$VTCTI attestor_conf "$WORK/victim.conf" push "127.0.0.1:$VPORT" "$WORK/vicstate"
bg victim "$BUILD_DIR/attestor" --config "$WORK/victim.conf"
VICPID=$BG_PID
state() { "$BUILD_DIR/verifier" list --config "$WORK/verifier.conf" --json |
	/usr/bin/python3 -c 'import json,sys; n=json.load(sys.stdin)["nodes"]; print(n[0]["state"] if n else "none")'; }
for ((i = 0; i < 100; i++)); do [ "$(state)" = passing ] && break; sleep 0.2; done
[ "$(state)" = passing ] || fail "the victim never passed: $(tail -n 5 "$WORK/victim.log")"
ok "the node (identity attestor) passes, re-attesting every 2 s (reattest_window 11 s)"

# 20 s of Hellos under the node's identity, never finished: almost twice the window.
passes=$(grep -c "attestation PASS" "$WORK/victim.log" || true)
/usr/bin/python3 "$SOURCE_DIR/tests/integration/starve_sessions.py" --stubs "$WORK/stubs" \
	--verifier "127.0.0.1:$VPORT" --source "127.0.0.1:$SPORT" --pki "$P" --as attestor --seconds 20 \
	>"$WORK/flood.out" || fail "the flood client failed: $(cat "$WORK/flood.out")"
[ "$(state)" = passing ] || fail "the node is $(state) after the flood: $("$BUILD_DIR/verifier" status \
	--config "$WORK/verifier.conf" 2>&1 | tail -n 3)"
during=$(($(grep -c "attestation PASS" "$WORK/victim.log" || true) - passes))
[ "$during" -ge 5 ] || fail "the node passed only $during times during the 20 s flood"
grep -q "RESOURCE_EXHAUSTED" "$WORK/victim.log" && fail "the genuine attestor was refused: $(grep -m1 RESOURCE_EXHAUSTED "$WORK/victim.log")"
ok "through the flood ($(cat "$WORK/flood.out")) the node kept passing: $during passes, never refused"

/usr/bin/python3 - "$WORK/vstate/verifier.db" <<'PY' || fail "the database after the flood"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT mode, identity, count FROM rejected").fetchall()
assert len(rows) == 1 and rows[0][:2] == ("push", "attestor") and rows[0][2] > 100, rows
assert db.execute("SELECT count(*) FROM attestations WHERE pass = 0").fetchone()[0] == 0
assert db.execute("SELECT count(*) FROM nodes").fetchone()[0] == 1
PY
lines=$(grep -c "rejected attempt" "$WORK/verifier.log" || true)
[ "$lines" -le 24 ] || fail "$lines log lines for the flood"
ok "the flood is one rejected-attempts row, no failing verdict, $lines log lines: $(grep "rejected attempt" "$WORK/verifier.log" | tail -n 1 | cut -d' ' -f4-)"

# --- a node that must say Hello, during a flood. A small share (64 / 16 = 4)
# so that one Python client floods as fast as the displacement needs.
kill -TERM "$VICPID"; wait "$VICPID" 2>/dev/null || true
kill -TERM "$VERPID"; wait "$VERPID" 2>/dev/null || true
sed -i "s|^session_ttl = 5|session_ttl = 5\nmax_sessions = 64|" "$WORK/verifier.conf"
grep -q "^max_sessions = 64" "$WORK/verifier.conf" || fail "could not set max_sessions"
bg verifier2 "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
VPORT=$(log_port "$WORK/verifier2.log")
sed -i "s|^verifier = .*|verifier = 127.0.0.1:$VPORT|" "$WORK/victim.conf"
FLOOD=(/usr/bin/python3 "$SOURCE_DIR/tests/integration/starve_sessions.py" --stubs "$WORK/stubs"
	--verifier "127.0.0.1:$VPORT" --source "127.0.0.1:$SPORT" --pki "$P" --as attestor)
bg flood2 "${FLOOD[@]}" --seconds 10
FPID=$BG_PID
sleep 2
bg victim2 "$BUILD_DIR/attestor" --config "$WORK/victim.conf"
VICPID2=$BG_PID
wait "$FPID" || fail "the second flood failed: $(cat "$WORK/flood2.log")"
for ((i = 0; i < 50; i++)); do grep -q "attestation PASS" "$WORK/victim2.log" && break; sleep 0.2; done
grep -q "attestation PASS" "$WORK/victim2.log" || fail "the node did not pass after the flood: $(tail -n 5 "$WORK/victim2.log")"
lost=$(grep -c "unknown or finished session" "$WORK/victim2.log" || true)
[ "$lost" = 0 ] || fail "the flood displaced $lost of the node's sessions: $(grep -m1 "unknown or finished" "$WORK/victim2.log")"
refused=$(grep -c "RESOURCE_EXHAUSTED.*max_sessions_per_identity" "$WORK/victim2.log" || true)
others=$(grep "retrying in" "$WORK/victim2.log" | grep -vc "max_sessions_per_identity" || true)
[ "$others" = 0 ] || fail "the node was refused otherwise: $(grep "retrying in" "$WORK/victim2.log" | grep -v max_sessions_per_identity | head -n 1)"
grep -q "hellos accepted [1-9]" "$WORK/flood2.log" || fail "the flood did not get in: $(cat "$WORK/flood2.log")"
ok "a node saying Hello through a flood ($(tail -n 1 "$WORK/flood2.log")): no session lost, refused $refused times with max_sessions_per_identity, passed after it"

# --- the identity's whole share (4) held by sessions poked every second
# with an Activate the verifier refuses: they never get a demand, so they
# age, and the node's Hello displaces them.
kill -TERM "$VICPID2" 2>/dev/null; wait "$VICPID2" 2>/dev/null || true
bg hold "${FLOOD[@]}" --hold 4 --poke 1 --seconds 20
HPID=$BG_PID
wait_log "$WORK/hold.log" "holding 4 sessions" 1 30
bg victim3 "$BUILD_DIR/attestor" --config "$WORK/victim.conf"
for ((i = 0; i < 75; i++)); do grep -q "attestation PASS" "$WORK/victim3.log" && break; sleep 0.2; done
grep -q "attestation PASS" "$WORK/victim3.log" ||
	fail "the node did not pass past sessions kept busy: $(tail -n 3 "$WORK/victim3.log")"
kill -0 "$HPID" 2>/dev/null || fail "the holder stopped early: $(cat "$WORK/hold.log")"
wait "$HPID" || fail "the holder failed: $(cat "$WORK/hold.log")"
grep -q "pokes [1-9]" "$WORK/hold.log" || fail "the holder poked nothing: $(cat "$WORK/hold.log")"
ok "a node saying Hello past 4 sessions kept busy with refused steps passed ($(tail -n 1 "$WORK/hold.log"))"

#!/bin/bash
# Issue #12, found by the second independent review: in pull mode a target
# is only an address, and a rogue fleet member owns its own. A plain TCP
# forwarder there (tcp_relay.py; the TLS session stays end to end) makes the
# round at the rogue's target prove ANOTHER node's TPM. Before, that moved
# the node to the rogue's target, and the rogue then failed it at will by
# cutting the relay (P1); root on a host that attested earlier orphaned its
# own node after a verifier restart by relaying its address to another node
# (P2): no round failed it any more. Now a node is attested at one target
# and a target answers for one node (record_lookup), so:
#   - a relay at the rogue's target to a node attested elsewhere is a
#     rejected attempt; cutting it fails nobody (P1);
#   - root relaying its own address to another node fails its own node (P2);
#   - an operator binds a node to its target before its first proof
#     (enroll --target): no first-proof race for a relay to win, and moves
#     it while serve runs: it is attested only where it is bound;
#   - a bad --target is refused, the store unchanged; a target has one
#     spelling, and a one-shot check at an address not in `targets` binds
#     nothing and is held to the same rules (third and fourth reviews).
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend tpm2_createek tpm2_flushcontext openssl python3
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

pki_make "$WORK/pki"
P=$WORK/pki
swtpm_fleet V G
TPM2TOOLS_TCTI=${TCTIS[V]} tpm2_createek -G rsa -c "$WORK/v.ctx" -u "$WORK/v.pub" >/dev/null
TPM2TOOLS_TCTI=${TCTIS[V]} tpm2_flushcontext -t >/dev/null

# V's attestor on a port of its own (its address, which root on V owns), G's
# on any; the rogue R's target is a relay to V's attestor.
TVPORT=$(free_port)
TCTI=${TCTIS[V]} attestor_conf "$WORK/v.conf" pull "127.0.0.1:$TVPORT" "$WORK/vstate-a"
bg attestor-V "$BUILD_DIR/attestor" --config "$WORK/v.conf"
VAPID=$BG_PID
wait_port "$TVPORT"
TCTI=${TCTIS[G]} attestor_conf "$WORK/g.conf" pull 127.0.0.1:0 "$WORK/gstate-a"
bg attestor-G "$BUILD_DIR/attestor" --config "$WORK/g.conf"
TG=127.0.0.1:$(log_port "$WORK/attestor-G.log")
TV=127.0.0.1:$TVPORT
touch "$WORK/relay-r.on"
bg relay-r /usr/bin/python3 "$SOURCE_DIR/tests/integration/tcp_relay.py" 0 "$TV" "$WORK/relay-r.on"
TR=127.0.0.1:$(log_port "$WORK/relay-r.log")

# reattest_window 0 (off): what holds below is the binding, not the window.
verifier_conf "$WORK/verifier.conf" "mode = pull
targets = $TR, $TV, $TG
reattest_interval = 1
reattest_window = 0
ek_roots = $WORK/roots
state_dir = $WORK/vstate
hook = cat >> $WORK/hook.events; echo >> $WORK/hook.events"
DB=$WORK/vstate/verifier.db
failed_events() { grep -c '"to":"failed"' "$WORK/hook.events" 2>/dev/null || true; }
node() { db_rows "$DB" "SELECT state, target FROM nodes WHERE name = '$1'"; }

# --- the operator binds V to its target before it ever attests.
out=$("$BUILD_DIR/verifier" enroll --config "$WORK/verifier.conf" --name v --target "$TV" --ek-pub "$WORK/v.pub") ||
	fail "enroll --target: $out"
rc=0; "$BUILD_DIR/verifier" enroll --config "$WORK/verifier.conf" v --target nocolon >"$WORK/bad.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "is not HOST:PORT" "$WORK/bad.out" || fail "enroll --target nocolon: exit $rc: $(cat "$WORK/bad.out")"
[ "$(node v)" = "enrolled|$TV" ] || fail "a bad --target changed the node: $(node v)"
ok "enrolled v at $TV ($out); --target nocolon refused: $(cat "$WORK/bad.out")"

# --- a one-shot check at an address `targets` does not list (here a name for
# v's own address; a relay's would do the same) binds nothing, and the
# target rules hold there too: v is bound to $TV. Spellings of one
# address are one target; a port with a leading zero or a sign is refused.
rc=0; "$BUILD_DIR/verifier" attest --config "$WORK/verifier.conf" "LOCALHOST:$TVPORT" >"$WORK/once.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "attested at another target" "$WORK/once.out" ||
	fail "verifier attest LOCALHOST:$TVPORT: exit $rc: $(cat "$WORK/once.out")"
grep -q "note: localhost:$TVPORT is not one of .*targets: this check binds no node to it" "$WORK/once.out" ||
	fail "no note on the unlisted target: $(cat "$WORK/once.out")"
[ "$(node v)" = "enrolled|$TV" ] || fail "a one-shot at another address changed v: $(node v)"
rc=0; "$BUILD_DIR/verifier" attest --config "$WORK/verifier.conf" "127.000.0.1:$TVPORT" >"$WORK/once.out" 2>&1 || rc=$?
[ "$rc" = 0 ] && ! grep -q "note:" "$WORK/once.out" ||
	fail "verifier attest 127.000.0.1:$TVPORT (v's own target, spelt otherwise): exit $rc: $(cat "$WORK/once.out")"
[ "$(node v)" = "passing|$TV" ] || fail "the one-shot at v's own target: $(node v)"
rc=0; "$BUILD_DIR/verifier" attest --config "$WORK/verifier.conf" "127.0.0.1:0$TVPORT" >"$WORK/once.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "without leading zeros" "$WORK/once.out" || fail "attest 127.0.0.1:0$TVPORT: exit $rc: $(cat "$WORK/once.out")"
rc=0; "$BUILD_DIR/verifier" enroll --config "$WORK/verifier.conf" v --target "127.0.0.1:+$TVPORT" >"$WORK/bad.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "decimal" "$WORK/bad.out" || fail "enroll --target 127.0.0.1:+$TVPORT: exit $rc: $(cat "$WORK/bad.out")"
[ "$(node v)" = "passing|$TV" ] || fail "refused spellings changed v: $(node v)"
ok "a one-shot at localhost:$TVPORT is refused, at 127.000.0.1:$TVPORT ($TV) it passes v; a port's leading zeros and signs refused"

# --- P1: the rogue's target relays V from the first round on (it is listed
# first: its round races V's own).
bg verifier1 "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
VPID=$BG_PID
wait_log "$WORK/verifier1.log" "verdict PASS target $TV" 2 40
wait_log "$WORK/verifier1.log" "verdict PASS target $TG" 1 40
wait_log "$WORK/verifier1.log" "attested at another target" 1 40
[ "$(node v)" = "passing|$TV" ] || fail "v with the relay on: $(node v)"
grep -q "verdict PASS target $TR" "$WORK/verifier1.log" && fail "the relayed round passed: $(grep -m1 "verdict PASS target $TR" "$WORK/verifier1.log")"
G_EK=$(db_rows "$DB" "SELECT ek_hash FROM nodes WHERE target = '$TG'")
[ -n "$G_EK" ] || fail "no node at g's target: $(db_rows "$DB" "SELECT ek_hash, target FROM nodes")"
"$BUILD_DIR/verifier" enroll --config "$WORK/verifier.conf" "$G_EK" --name g >/dev/null || fail "naming g"
ok "P1: the relay at $TR proving v's TPM is refused: $(grep -m1 "attested at another target" "$WORK/verifier1.log" | cut -d' ' -f4-)"

# --- an operator moves v to the relay's address (say v's address changed)
# while serve runs: v is attested there, its old target's session is not
# continued (it would pass v where it is no longer bound); and back.
moved() { # TARGET OTHER: v passes at TARGET only, OTHER's rounds refuse it
	local n
	"$BUILD_DIR/verifier" enroll --config "$WORK/verifier.conf" v --target "$1" >/dev/null || fail "enroll v --target $1"
	n=$(grep -c "verdict PASS target $1" "$WORK/verifier1.log" || true)
	wait_log "$WORK/verifier1.log" "verdict PASS target $1" $((n + 2)) 30
	[ "$(node v)" = "passing|$1" ] || fail "v moved to $1: $(node v)"
	n=$(grep -c "verdict PASS target $2" "$WORK/verifier1.log" || true)
	sleep 2.5
	[ "$(grep -c "verdict PASS target $2" "$WORK/verifier1.log" || true)" = "$n" ] ||
		fail "v still passes at $2 after its move to $1"
	[ "$(node v)" = "passing|$1" ] || fail "v after its move to $1: $(node v)"
}
moved "$TR" "$TV"
grep -q "target $TV answers for another node now: full exchange" "$WORK/verifier1.log" ||
	fail "the old target continued its session"
moved "$TV" "$TR"
ok "an operator moved v to $TR and back while serve ran: attested only where bound"

# The rogue cuts the relay: its target's rounds fail, and fail nobody.
events=$(failed_events)
rm -f "$WORK/relay-r.on"
n=$(grep -c "verdict PASS target $TV" "$WORK/verifier1.log")
wait_log "$WORK/verifier1.log" "verdict PASS target $TV" $((n + 3)) 30
[ "$(node v)" = "passing|$TV" ] || fail "v after the relay was cut: $(node v)"
[ "$(db_rows "$DB" "SELECT count(*) FROM attestations WHERE pass = 0")" = 0 ] ||
	fail "failing verdicts: $(db_rows "$DB" "SELECT reason FROM attestations WHERE pass = 0")"
[ "$(failed_events)" = "$events" ] || fail "the hook heard of a failure: $(tail -n 2 "$WORK/hook.events")"
[ "$(db_rows "$DB" "SELECT count(*) FROM nodes")" = 2 ] || fail "nodes: $(db_rows "$DB" "SELECT * FROM nodes")"
db_rows "$DB" "SELECT reason FROM rejected WHERE mode = 'pull'" | grep -q "attested at another target" ||
	fail "no rejected attempt for the relay: $(db_rows "$DB" "SELECT * FROM rejected")"
ok "P1: the relay cut, v stays passing at $TV: no failing verdict, no hook event"

# --- P2: the verifier restarts; root on V changes the host, stops V's
# attestor and relays V's address to G's attestor.
kill -TERM "$VPID"; wait "$VPID" 2>/dev/null || true
TPM2TOOLS_TCTI=${TCTIS[V]} tpm2_pcrextend "0:sha256=$(printf 'rootkit' | sha256sum | cut -d' ' -f1)" >/dev/null
kill "$VAPID"; wait "$VAPID" 2>/dev/null || true
touch "$WORK/relay-v.on"
bg relay-v /usr/bin/python3 "$SOURCE_DIR/tests/integration/tcp_relay.py" "$TVPORT" "$TG" "$WORK/relay-v.on"
log_port "$WORK/relay-v.log" >/dev/null
events=$(failed_events)
bg verifier2 "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
VPID=$BG_PID
wait_log "$WORK/verifier2.log" "verdict FAIL target $TV" 1 40
[ "$(node v)" = "failed|$TV" ] || fail "v after its address relayed to g: $(node v)"
db_rows "$DB" "SELECT reason FROM nodes WHERE name = 'v'" | grep -q "did not prove its node" ||
	fail "v's reason: $(db_rows "$DB" "SELECT reason FROM nodes WHERE name = 'v'")"
n=$(grep -c "verdict PASS target $TG" "$WORK/verifier2.log")
wait_log "$WORK/verifier2.log" "verdict PASS target $TG" $((n + 2)) 30
[ "$(node g)" = "passing|$TG" ] || fail "g after v's address relayed to it: $(node g)"
grep -q "verdict PASS target $TV" "$WORK/verifier2.log" && fail "the round at v's address passed: $(grep -m1 "verdict PASS target $TV" "$WORK/verifier2.log")"
for ((i = 0; i < 50; i++)); do [ "$(failed_events)" -gt "$events" ] && break; sleep 0.1; done
[ "$(failed_events)" -gt "$events" ] || fail "the hook did not hear of v's failure"
ok "P2: v's address relayed to g fails v ($(db_rows "$DB" "SELECT reason FROM nodes WHERE name = 'v'" | cut -c1-90)...); g stays passing at $TG"

# The operator's view: v's target and why.
"$BUILD_DIR/verifier" status --config "$WORK/verifier.conf" v >"$WORK/status.out" || true
grep -q "^target    $TV" "$WORK/status.out" || fail "status v does not show its target: $(cat "$WORK/status.out")"
ok "status v shows its target"

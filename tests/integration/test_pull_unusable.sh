#!/bin/bash
# Issue #12, found by the third independent review: a pull round that
# proved nothing failed the target's node only when the attestor was
# unreachable or its session was refused; a reply that does not even
# convert (here an EK algorithm above 0xffff: AERR_PARSE) failed nobody.
# So root on a host that attested earlier, after a verifier restart (the
# next round is a full exchange), changed the host and answered garbage:
# its node stayed passing, for good with reattest_window = 0. Now any round
# that ends before a proof fails the target's node and counts a rejected
# attempt of the attestor's identity; the hook hears of it.
# And the fourth review's: a one-shot check at an address `targets` does not
# list (maybe a rogue's relay to the node) binds nothing, so a round cut
# there after the node proved its TPM says nothing of the node: a rejected
# attempt, not a failing verdict. The attestor's own refusal still is one.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend openssl sha256sum python3
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

pki_make "$WORK/pki"
P=$WORK/pki
py_stubs "$WORK/py"
swtpm_fleet a

TCTI=${TCTIS[a]} attestor_conf "$WORK/a.conf" pull 127.0.0.1:0 "$WORK/a-state"
bg attestor "$BUILD_DIR/attestor" --config "$WORK/a.conf"
PA=$(log_port "$WORK/attestor.log")
# V's attestor as root on V runs it: V's certificate, answering as it likes
# (fake_attestor.py relays the genuine attestor until told otherwise).
printf '{}\n' >"$WORK/fake.json"
bg fake /usr/bin/python3 "$SOURCE_DIR/tests/integration/fake_attestor.py" --stubs "$WORK/py" \
	--ca "$P/ca.pem" --cert "$P/attestor.pem" --key "$P/attestor.key" --control "$WORK/fake.json" \
	--record "$WORK/rec" --upstream "127.0.0.1:$PA" --up-cert "$P/verifier.pem" --up-key "$P/verifier.key"
TV=127.0.0.1:$(log_port "$WORK/fake.log")

verifier_conf "$WORK/verifier.conf" "mode = pull
targets = $TV
reattest_interval = 1
reattest_window = 0
ek_roots = $WORK/roots
state_dir = $WORK/vstate
hook = cat >> $WORK/hook.events; echo >> $WORK/hook.events"
DB=$WORK/vstate/verifier.db
node() { db_rows "$DB" "SELECT state, target FROM nodes"; }
failed_events() { grep -c '"to":"failed"' "$WORK/hook.events" 2>/dev/null || true; }

bg verifier1 "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
VPID=$BG_PID
wait_log "$WORK/verifier1.log" "verdict PASS target $TV" 2 40
kill -TERM "$VPID"; wait "$VPID" 2>/dev/null || true
[ "$(node)" = "passing|$TV" ] || fail "V not passing: $(node)"
ok "V passing at $TV; the verifier stops"

# --- checks at an address `targets` does not list: a verifier without targets.
mkdir -p "$WORK/keys"
(umask 077; openssl rand 32 >"$WORK/keys/aes.key")
verifier_conf "$WORK/check.conf" "mode = pull
ek_roots = $WORK/roots
state_dir = $WORK/cstate
hook = cat >> $WORK/check.events; echo >> $WORK/check.events" "$PCR_REF" "[secret disk-key]
kind = aes256
key = $WORK/keys/aes.key
pcrs = sha256:0-7
hosts = *"
CDB=$WORK/cstate/verifier.db
printf '{"deliver": "unavailable"}\n' >"$WORK/fake.json"
rc=0; "$BUILD_DIR/verifier" attest --config "$WORK/check.conf" "$TV" >"$WORK/cut.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "transport error in DeliverSecrets" "$WORK/cut.out" || fail "a check cut after the proof: exit $rc: $(cat "$WORK/cut.out")"
[ "$(db_rows "$CDB" "SELECT count(*) FROM attestations")" = 0 ] ||
	fail "a cut check recorded a verdict: $(db_rows "$CDB" "SELECT pass, reason FROM attestations")"
[ "$(db_rows "$CDB" "SELECT state, target FROM nodes")" = "attesting|" ] || fail "the node after a cut check: $(db_rows "$CDB" "SELECT state, target FROM nodes")"
[ "$(db_rows "$CDB" "SELECT step FROM rejected")" = secrets ] || fail "the cut check's rejected attempt: $(db_rows "$CDB" "SELECT * FROM rejected")"
[ ! -s "$WORK/check.events" ] || fail "the hook heard of a cut check: $(cat "$WORK/check.events")"
printf '{"deliver": "refuse", "refuse_message": "not today"}\n' >"$WORK/fake.json"
rc=0; "$BUILD_DIR/verifier" attest --config "$WORK/check.conf" "$TV" >"$WORK/refuse.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a check the attestor refused: exit $rc: $(cat "$WORK/refuse.out")"
[ "$(db_rows "$CDB" "SELECT pass, step FROM attestations")" = "0|secrets" ] ||
	fail "the attestor's own refusal is no verdict: $(db_rows "$CDB" "SELECT pass, step, reason FROM attestations")"
[ "$(db_rows "$CDB" "SELECT state, target FROM nodes")" = "failed|" ] || fail "the node after a refused check: $(db_rows "$CDB" "SELECT state, target FROM nodes")"
printf '{}\n' >"$WORK/fake.json"
ok "a check at an unlisted address: cut after the proof, a rejected attempt and no verdict; refused by the attestor, a failing verdict; neither binds"

# After a cut at the node's own target (WHAT): the node failed there, the
# last verdict a failure at STEP, and the hook heard more failures than
# $events.
own_cut_failed() {
	[ "$(db_rows "$CDB" "SELECT state, target FROM nodes")" = "failed|$TV" ] ||
		fail "$1 left the node: $(db_rows "$CDB" "SELECT state, target FROM nodes")"
	[ "$(db_rows "$CDB" "SELECT pass, step FROM attestations ORDER BY id DESC LIMIT 1")" = "0|$2" ] ||
		fail "$1: the verdict: $(db_rows "$CDB" "SELECT pass, step, reason FROM attestations ORDER BY id DESC LIMIT 1")"
	[ "$(grep -c '"to":"failed"' "$WORK/check.events")" -gt "$events" ] || fail "the hook did not hear $1"
}

# The fifth review's: an operator may bind the node to an address that
# `targets` does not list (enroll --target) and check it with one-shots
# only. That address is the node's own: a round cut there after the proof
# is the node's failing verdict, not a rejected attempt.
hash=$(db_rows "$CDB" "SELECT ek_hash FROM nodes")
out=$("$BUILD_DIR/verifier" enroll --config "$WORK/check.conf" "${hash:0:16}" --target "$TV" 2>&1) ||
	fail "enroll --target $TV: $out"
rc=0; "$BUILD_DIR/verifier" attest --config "$WORK/check.conf" "$TV" >"$WORK/own.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "a check at the node's own unlisted target: exit $rc: $(cat "$WORK/own.out")"
[ "$(db_rows "$CDB" "SELECT state, target FROM nodes")" = "passing|$TV" ] || fail "the node after its own check: $(db_rows "$CDB" "SELECT state, target FROM nodes")"
events=$(grep -c '"to":"failed"' "$WORK/check.events")
printf '{"deliver": "unavailable"}\n' >"$WORK/fake.json"
rc=0; "$BUILD_DIR/verifier" attest --config "$WORK/check.conf" "$TV" >"$WORK/owncut.out" 2>&1 || rc=$?
printf '{}\n' >"$WORK/fake.json"
[ "$rc" = 1 ] || fail "a cut check at the node's own target: exit $rc: $(cat "$WORK/owncut.out")"
own_cut_failed "a cut at the node's own target" secrets
ok "bound to an unlisted address by the operator: a check cut there after the proof fails the node, the hook heard it"

# The sixth review's: the same holds in the quote rounds of one check
# (--rounds): the second round's quote is cut.
rc=0; "$BUILD_DIR/verifier" attest --config "$WORK/check.conf" "$TV" >"$WORK/own2.out" 2>&1 || rc=$?
[ "$rc" = 0 ] && [ "$(db_rows "$CDB" "SELECT state FROM nodes")" = passing ] || fail "the node's own check again: exit $rc: $(cat "$WORK/own2.out")"
events=$(grep -c '"to":"failed"' "$WORK/check.events")
printf '{"quote_cut_from": %d}\n' $(($(grep -c '^Quote:' "$WORK/fake.log") + 2)) >"$WORK/fake.json"
rc=0; "$BUILD_DIR/verifier" attest --config "$WORK/check.conf" --rounds 2 --interval 0 "$TV" >"$WORK/rounds.out" 2>&1 || rc=$?
printf '{}\n' >"$WORK/fake.json"
[ "$rc" = 1 ] && grep -q "^PASS .* round 1" "$WORK/rounds.out" || fail "two rounds, the second cut: exit $rc: $(cat "$WORK/rounds.out")"
own_cut_failed "a cut in the second round" quote
ok "a quote round cut at the node's own unlisted target fails it too"

# Root on V changes the host and answers GetEndorsement with an EK
# algorithm no TPM has (the genuine endorsement, one field changed).
TPM2TOOLS_TCTI=${TCTIS[a]} tpm2_pcrextend "0:sha256=$(printf 'rootkit' | sha256sum | cut -d' ' -f1)" >/dev/null
/usr/bin/python3 - "$WORK/py" "$WORK/rec/GetEndorsement.bin" "$WORK/bad-ek.bin" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import attest_pb2 as pb
m = pb.Endorsement()
m.ParseFromString(open(sys.argv[2], "rb").read())
m.eks[0].alg = 0x10000
open(sys.argv[3], "wb").write(m.SerializeToString())
PY
printf '{"endorsement": "%s"}\n' "$WORK/bad-ek.bin" >"$WORK/fake.json"
events=$(failed_events)
bg verifier2 "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
wait_log "$WORK/verifier2.log" "verdict FAIL target $TV" 1 40
for ((i = 0; i < 50; i++)); do [ "$(node)" = "failed|$TV" ] && break; sleep 0.1; done
[ "$(node)" = "failed|$TV" ] || fail "V after a round of garbage: $(node)"
reason=$(db_rows "$DB" "SELECT reason FROM nodes")
case $reason in "target $TV did not prove its node this round: malformed structure: "*) ;;
*) fail "V's reason: $reason" ;; esac
for ((i = 0; i < 50; i++)); do [ "$(failed_events)" -gt "$events" ] && break; sleep 0.1; done
[ "$(failed_events)" -gt "$events" ] || fail "the hook did not hear V fail"
[ "$(db_rows "$DB" "SELECT mode, identity, step FROM rejected")" = "pull|attestor|endorsement" ] ||
	fail "the rejected attempt: $(db_rows "$DB" "SELECT * FROM rejected")"
ok "a round of garbage fails V ($reason), the hook heard it, one rejected attempt of 'attestor'"

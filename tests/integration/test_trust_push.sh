#!/bin/bash
# The attacks of issue #12 ("proof before state") on the real push service,
# driven by Python grpcio (trust_attacker.py) relaying two genuine TPMs: A,
# the victim (a pull attestor on swtpm A; TLS identity `attestor`, named db1
# by the operator), and B, a rogue fleet member's own (identity `attestor2`).
# Each check asserts the refusal and that nothing changed: the database (read
# with sqlite3), the hook's events, the victim's pending quote request.
#  #1  failing a node with its public EK: attestor2 says Hello with A's EK and
#      a garbage AK, then A's real AK (refused: A is bound to `attestor`); a
#      stolen `attestor` TLS key without TPM A: A's EK and known AK answered
#      with B's quote, A's EK with B's AK (a credential B cannot open). A's
#      node, its hook events and its pending request are untouched; every
#      attempt is counted per identity; an operator's re-bind moves A to
#      attestor2.
#  #2  secrets by claimed hostname: B claims "db1" and passes as its own node
#      without the secret for name:db1; `hosts = db1` does not start.
#  #12 log and terminal injection through the hostname claim (a newline, a
#      forged log line, ANSI escapes): log, list, status and hook hold it
#      escaped.
#  #14 push sessions: one identity holds max_sessions_per_identity, another
#      is served meanwhile; hundreds of rejected Hellos are one bounded row.
#  #15 golden values: a failed quote's status names the PCR and bank, never
#      the policy's expected value (which the log and the database keep).
# (#7, pre-computed quotes for the one-call re-attestation: test_trust_fresh.)
. "$SOURCE_DIR/tests/integration/lib.sh"
need sha256sum
# TPM A ($TA), the victim; TPM B ($TB), attestor2's own.
. "$SOURCE_DIR/tests/integration/trust.sh"
VICTIM=$(sha256sum "$WORK/tpma.pub" | cut -d' ' -f1)

(umask 077; openssl rand 32 >"$WORK/db.key")
cat >"$WORK/hook.sh" <<HOOK
#!/bin/sh
cat >>"$WORK/events.jsonl"
HOOK
chmod +x "$WORK/hook.sh"
# verifier_conf FILE STATE_DIR POLICY: a push verifier with a database, the
# hook, 64 sessions (4 per identity), the secret db-key for name:db1; log
# level debug, where the most peer text reaches the log (the hostname claim
# of every endorsement accepted, too).
verifier_conf() {
	cat >"$1" <<CONF
[verifier]
mode = push
listen = 127.0.0.1:0
ek_roots = $WORK/roots
state_dir = $2
hook = $WORK/hook.sh
max_sessions = 64
log_level = debug
$(tls_conf verifier)
[policy]
$3
[secret db-key]
kind = aes256
key = $WORK/db.key
pcrs = sha256:0-7
hosts = name:db1
CONF
}
V=$WORK/verifier.conf
DB=$WORK/vstate/verifier.db
VLOG=$WORK/verifier.log
verifier_conf "$V" "$WORK/vstate" "$PCR_REF"
bg verifier "$BUILD_DIR/verifier" serve --config "$V"
VPID=$BG_PID
VADDR=127.0.0.1:$(log_port "$VLOG")

events() { [ -f "$WORK/events.jsonl" ] && wc -l <"$WORK/events.jsonl" || echo 0; }
wait_events() {
	local i
	for ((i = 0; i < 50; i++)); do [ "$(events)" -ge "$1" ] && return 0; sleep 0.1; done
	fail "$1 hook events not seen within 5 s: $(cat "$WORK/events.jsonl" 2>/dev/null)"
}
# node HASH: what may not change of a node: state, hostname, last seen, its
# attestations.
node() {
	db_rows "$DB" "SELECT state, hostname, last_seen, (SELECT count(*) FROM attestations a WHERE a.node_id = n.id)
		FROM nodes n WHERE ek_hash = '$1'"
}

# The operator names the victim db1 before it ever attests.
"$BUILD_DIR/verifier" enroll --config "$V" --name db1 --ek-pub "$WORK/tpma.pub" >"$WORK/enroll.out" ||
	fail "enroll --name db1: $(cat "$WORK/enroll.out")"
grep -q "$VICTIM" "$WORK/enroll.out" || fail "enrolled another EK than TPM A's: $(cat "$WORK/enroll.out")"

# --- the victim passes (and receives db-key), keeping its next quote request
out=$(att --tpm "$TA" --as attestor --hostname victim-a pass --secrets db-key --save "$WORK/victim.next") ||
	fail "the victim's genuine exchange"
ok "victim (TPM A, identity attestor, named db1): $out"
[ "$(db_rows "$DB" "SELECT state, hostname, name, identity FROM nodes WHERE ek_hash = '$VICTIM'")" = \
	"passing|victim-a|db1|attestor" ] || fail "victim's node: $(db_rows "$DB" "SELECT * FROM nodes")"
wait_events 1

# --- #12: B's first exchange claims a hostname with a newline, a forged log
# line and ANSI escapes; it passes (B's TPM is genuine), so the claim reaches
# the log, the node's row, the hook and the CLI.
FORGED="12:00:00.000 info push: verdict PASS host 'db1'"
EVIL=$'\x1b[2Jx\n'"$FORGED"$'\x1b[0m'
out=$(att --tpm "$TB" --as attestor2 --hostname "$EVIL" pass) || fail "B's exchange with an escape-laden hostname"
ok "#12: B claims hostname ESC[2J x NL '$FORGED' ESC[0m: $out"
ROGUE=$(db_rows "$DB" "SELECT ek_hash FROM nodes WHERE ek_hash != '$VICTIM'")
[ "${#ROGUE}" = 64 ] || fail "B's node: $(db_rows "$DB" "SELECT ek_hash, hostname FROM nodes")"
wait_events 2
"$BUILD_DIR/verifier" list --config "$V" >"$WORK/list.out" || fail "verifier list"
"$BUILD_DIR/verifier" status --config "$V" "${ROGUE:0:16}" >"$WORK/status.out" || fail "verifier status"
for f in "$VLOG" "$WORK/list.out" "$WORK/status.out"; do
	if grep -q $'\x1b' "$f"; then fail "$(basename "$f") holds a raw ESC byte"; fi
	if awk -v f="$FORGED" 'index($0, f) == 1 { found = 1 } END { exit !found }' "$f"; then
		fail "$(basename "$f") has a line starting with the forged text: $(grep -F "$FORGED" "$f")"
	fi
	grep -qF '\x1b' "$f" || fail "$(basename "$f") does not show the claim escaped (\\x1b): $(cat "$f")"
done
/usr/bin/python3 - "$WORK/events.jsonl" "$ROGUE" <<'PY' || fail "hook events: $(cat "$WORK/events.jsonl")"
import json, sys
evs = [json.loads(line) for line in open(sys.argv[1]).read().splitlines()]  # each line one valid event
ev = [e for e in evs if e["node"] == sys.argv[2]][0]
h = ev["hostname"]
assert "\x1b" not in h and "\n" not in h and "\\x1b" in h, h
PY
ok "#12: log, verifier list, status and hook JSON hold it escaped: $(grep -o "host '[^']*' peer 'attestor2'" "$VLOG" | head -n 1)"

# --- #2: B (its own genuine TPM) claims the victim's name as its hostname:
# it passes as its own node, without the secret that selects name:db1.
out=$(att --tpm "$TB" --as attestor2 --hostname db1 pass) || fail "B claiming hostname db1"
ok "#2: B claims hostname db1: $out"
[ "$(db_rows "$DB" "SELECT state, hostname, name FROM nodes WHERE ek_hash = '$ROGUE'")" = "passing|db1|" ] ||
	fail "B's node: $(db_rows "$DB" "SELECT state, hostname, name FROM nodes WHERE ek_hash = '$ROGUE'")"
[ "$(db_rows "$DB" "SELECT DISTINCT n.ek_hash FROM secret_deliveries s JOIN nodes n ON n.id = s.node_id")" = "$VICTIM" ] ||
	fail "secret deliveries not only to the victim: $(db_rows "$DB" "SELECT * FROM secret_deliveries")"
ok "#2: secret_deliveries has rows for the victim only"
sed 's/^hosts = name:db1$/hosts = db1/; s|^state_dir = .*|state_dir = '"$WORK"'/hosts-state|' "$V" >"$WORK/hosts.conf"
rc=0; timeout 10 "$BUILD_DIR/verifier" serve --config "$WORK/hosts.conf" >"$WORK/hosts.err" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "hosts: host 'db1' would match the attestor's own hostname claim" "$WORK/hosts.err" ||
	fail "serve with hosts = db1: exit $rc: $(cat "$WORK/hosts.err")"
ok "#2: hosts = db1 refused at start: $(head -n 1 "$WORK/hosts.err")"
# What an operator assigns never lands on a node by its own hostname claim
# (found by the independent review): "db1" names the victim (its operator
# name), not B (which claims it); a claim alone names nothing to enroll.
"$BUILD_DIR/verifier" enroll --config "$V" db1 --group dbs >/dev/null || fail "enroll db1 --group dbs"
[ "$(db_rows "$DB" "SELECT n.ek_hash FROM node_groups g JOIN nodes n ON n.id = g.node_id WHERE g.grp = 'dbs'")" = "$VICTIM" ] ||
	fail "group dbs went to: $(db_rows "$DB" "SELECT n.ek_hash, n.hostname FROM node_groups g JOIN nodes n ON n.id = g.node_id")"
"$BUILD_DIR/verifier" enroll --config "$V" db1 --no-groups >/dev/null || fail "enroll db1 --no-groups"
out=$(att --tpm "$TB" --as attestor2 --hostname web7 pass) || fail "B claiming hostname web7"
rc=0; "$BUILD_DIR/verifier" enroll --config "$V" web7 --group dbs 2>"$WORK/web7.err" || rc=$?
[ "$rc" = 2 ] && grep -q "a hostname is the node's own claim" "$WORK/web7.err" ||
	fail "enroll by a claimed hostname: exit $rc: $(cat "$WORK/web7.err")"
[ "$(db_rows "$DB" "SELECT count(*) FROM node_groups")" = 0 ] || fail "a group was assigned by a hostname claim"
ok "#2: enroll db1 assigns to the node an operator named db1, never by a claim: $(cat "$WORK/web7.err")"

# --- #1: attacks on the victim with its public EK
before=$(node "$VICTIM")
atts=$(db_rows "$DB" "SELECT count(*) FROM attestations")
nev=$(events)
for ak in garbage real; do
	out=$(att --tpm "$TA" --as attestor2 --hostname hijacked foreign-ek --ak "$ak") ||
		fail "attestor2 with the victim's EK and its $ak AK"
	ok "#1: attestor2, the victim's EK and a $ak AK: $out"
done
out=$(att --tpm "$TA" --other-tpm "$TB" --as attestor --hostname hijacked stolen-quote) ||
	fail "the victim's identity without its TPM: B's quote"
ok "#1: identity attestor without TPM A, the victim's EK and known AK, B's quote: $out"
out=$(att --tpm "$TA" --other-tpm "$TB" --as attestor --hostname hijacked stolen-activate) ||
	fail "the victim's identity without its TPM: B's AK"
ok "#1: identity attestor without TPM A, the victim's EK and B's AK: $out"
sleep 0.5 # a hook event would be posted before the refusal; give the hook time to run
[ "$(node "$VICTIM")" = "$before" ] || fail "the victim's node changed: $before -> $(node "$VICTIM")"
[ "$(db_rows "$DB" "SELECT identity, name FROM nodes WHERE ek_hash = '$VICTIM'")" = "attestor|db1" ] ||
	fail "the victim's binding changed: $(db_rows "$DB" "SELECT identity, name FROM nodes WHERE ek_hash = '$VICTIM'")"
[ "$(db_rows "$DB" "SELECT count(*) FROM attestations")" = "$atts" ] || fail "an attack added an attestation row"
[ "$(db_rows "$DB" "SELECT count(*) FROM nodes WHERE hostname = 'hijacked'")" = 0 ] || fail "a node took the hostname hijacked"
[ "$(events)" = "$nev" ] || fail "the hook heard of an attack: $(tail -n 1 "$WORK/events.jsonl")"
ok "#1: the victim's row is as it was ($before), bound to attestor, no attestation row, no hook event"
"$BUILD_DIR/verifier" rejected --config "$V" --json >"$WORK/rejected.json" || fail "verifier rejected --json"
/usr/bin/python3 - "$WORK/rejected.json" "$VICTIM" <<'PY' || fail "verifier rejected: $(cat "$WORK/rejected.json")"
import json, sys
rows = {r["identity"]: r for r in json.load(open(sys.argv[1]))["rejected"]}
for ident, step in (("attestor2", "endorsement"), ("attestor", "activation")):
    r = rows[ident]
    assert r["mode"] == "push" and r["count"] == 2 and r["claimed_ek_hash"] == sys.argv[2] and r["step"] == step, r
PY
for who in attestor2 attestor; do
	for n in 1 2; do
		grep -q "rejected attempt $n of peer '$who' (push, EK claimed ${VICTIM:0:16}...)" "$VLOG" ||
			fail "no log line for rejected attempt $n of $who"
	done
done
ok "#1: verifier rejected counts 2 attempts of attestor2 and 2 of attestor, each logged"
out=$(att --tpm "$TA" --as attestor answer --load "$WORK/victim.next" --secrets db-key) ||
	fail "the victim's pending quote request after the attacks"
ok "#1: the victim's pending quote request still answerable: $out"
[ "$(db_rows "$DB" "SELECT state, (SELECT count(*) FROM attestations a WHERE a.node_id = n.id) FROM nodes n
	WHERE ek_hash = '$VICTIM'")" = "passing|$((${before##*|} + 1))" ] || fail "victim after its answer: $(node "$VICTIM")"

# --- #14: attestor2 holds Hellos it never finishes (B's evidence): at its
# share of the 64 sessions (4) a new one waits while they are in their grace
# (2 s), then displaces its oldest that proved nothing; attestor is served
# meanwhile. (Sessions that proved their TPM keep
# their place: below, after the re-bind.)
out=$(att --tpm "$TB" --as attestor2 --other-tpm "$TA" --other-as attestor --secrets db-key hog --count 4) ||
	fail "sessions of one identity"
ok "#14: $out"
# Hundreds of rejected Hellos of one identity (`verifier`, new here): one row.
rows=$(db_rows "$DB" "SELECT count(*) FROM rejected")
atts=$(db_rows "$DB" "SELECT count(*) FROM attestations")
out=$(att --tpm "$TA" --as verifier flood --count 300) || fail "garbage Hellos"
[ "$(db_rows "$DB" "SELECT count(*) FROM rejected")" = $((rows + 1)) ] || fail "rejected rows: $(db_rows "$DB" "SELECT * FROM rejected")"
[ "$(db_rows "$DB" "SELECT count, step FROM rejected WHERE identity = 'verifier'")" = "300|endorsement" ] ||
	fail "the flood's row: $(db_rows "$DB" "SELECT * FROM rejected WHERE identity = 'verifier'")"
[ "$(db_rows "$DB" "SELECT count(*) FROM attestations")" = "$atts" ] || fail "the flood added attestation rows"
logged=$(grep -c "rejected attempt [0-9]* of peer 'verifier'" "$VLOG" || true)
[ "$logged" = 9 ] || fail "the flood's 300 attempts logged $logged times, want 9 (1, 2, 4 ... 256)"
ok "#14: $out: one rejected row (count 300), no attestation row, 9 log lines"

# --- #1: the operator re-binds the victim to attestor2
"$BUILD_DIR/verifier" enroll --config "$V" db1 --identity attestor2 >"$WORK/rebind.out" ||
	fail "enroll db1 --identity attestor2: $(cat "$WORK/rebind.out")"
out=$(att --tpm "$TA" --as attestor2 pass --secrets db-key) || fail "attestor2 relaying TPM A after the re-bind"
ok "#1: re-bound ($(cat "$WORK/rebind.out")): attestor2 relaying TPM A: $out"
out=$(att --tpm "$TA" --as attestor refused --needle "bound to another TLS identity") ||
	fail "attestor after the re-bind"
ok "#1: attestor relaying TPM A after the re-bind: $out"
[ "$(db_rows "$DB" "SELECT state, identity FROM nodes WHERE ek_hash = '$VICTIM'")" = "passing|attestor2" ] ||
	fail "the victim after the re-bind: $(db_rows "$DB" "SELECT state, identity FROM nodes WHERE ek_hash = '$VICTIM'")"
# --- #14: sessions that proved their TPM keep their place: the victim's,
# held at its secret, make its identity's next Hello wait (they expire).
out=$(att --tpm "$TA" --as attestor2 --secrets db-key hog-proven --count 4) || fail "proven sessions of one identity"
ok "#14: $out"
kill -0 "$VPID" 2>/dev/null || fail "the verifier exited"

# --- #15: a verifier whose policy expects another PCR 7: the peer learns
# which PCR and bank, the operator also the values.
WRONG=$(openssl rand -hex 32)
GOOD7=$(printf '%s\n' "$PCR_REF" | sed -n 's/^sha256\.7 = //p')
[ "${#GOOD7}" = 64 ] || fail "no sha256.7 in the reference: $PCR_REF"
verifier_conf "$WORK/golden.conf" "$WORK/gstate" "$(printf '%s\n' "$PCR_REF" | sed "s/^sha256\.7 = .*/sha256.7 = $WRONG/")"
bg golden "$BUILD_DIR/verifier" serve --config "$WORK/golden.conf"
VADDR=127.0.0.1:$(log_port "$WORK/golden.log")
out=$(att --tpm "$TB" --as attestor2 golden --expected "$WRONG" --pcr 7 --bank sha256) ||
	fail "a quote against a wrong expected PCR 7"
ok "#15: $out"
grep -q "verdict FAIL .*PCR 7 bank sha256 differs from the policy; quoted $GOOD7, policy expects $WRONG" \
	"$WORK/golden.log" || fail "the verifier's log does not carry both values: $(grep "verdict" "$WORK/golden.log")"
reason=$(db_rows "$WORK/gstate/verifier.db" "SELECT a.reason FROM attestations a WHERE a.pass = 0")
case $reason in *"quoted $GOOD7, policy expects $WRONG"*) ;; *) fail "the database reason: $reason" ;; esac
ok "#15: the verifier's log and the database reason carry quoted and expected values"

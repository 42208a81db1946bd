#!/bin/bash
# Reviews of stored evidence (issue #15), through the real push service, two
# swtpm nodes in different PCR states (B's PCR 7 extended once more) and the
# real database:
#  - dry run: `policy test` of a candidate (B's values) over the stored
#    evidence says A would fail on PCR 7 and B pass; the candidate applied,
#    the next verdicts are exactly those, reason for reason;
#  - learn: `policy learn B` proposes nothing until B's next verified quote,
#    then `policy proposal` shows B's quoted values and B is still judged
#    by what judged it; `policy approve` makes it B's policy: B passes, and
#    fails once its PCR 7 moves;
#  - audit: every verdict of A is supported by its evidence; a quote altered
#    in the database, a failing row turned into a pass, and a row's counters
#    moved back are each reported, and audit exits 1;
#  - learn_first_use: a fresh verifier never learns from B's failing first
#    quote; A's passing one becomes its policy, logged as such, and judges
#    A's next quotes;
#  - bad input: a malformed candidate, an unknown node, approve without a
#    request: clear errors, nothing changed.
# cli: local admin
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend tpm2_pcrread openssl
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"
V=$(verifier_cli)

swtpm_fleet a b
TPM2TOOLS_TCTI=${TCTIS[b]} tpm2_pcrextend "7:sha256=$(printf 'bb%.0s' {1..32}),sha1=$(printf 'bb%.0s' {1..20})"
REF_A=$(TPM2TOOLS_TCTI=${TCTIS[a]} pcr_policy)
REF_B=$(TPM2TOOLS_TCTI=${TCTIS[b]} pcr_policy)
pki_make "$WORK/pki"
P=$WORK/pki
policy_json "$WORK/pb.json" "$REF_B"

vport=$(free_port)
mkdir -p "$WORK/vstate"
verifier_conf "$WORK/v.conf" "mode = push
listen = 127.0.0.1:$vport
ek_roots = $WORK/roots
state_dir = $WORK/vstate" "$REF_A"
DB=$WORK/vstate/verifier.db
bg verifier "$V" serve --config "$WORK/v.conf"
wait_port "$vport"
for n in a b; do
	TCTI=${TCTIS[$n]} attestor_conf "$WORK/$n.conf" push "127.0.0.1:$vport" "$WORK/$n-state"
done
attest() { attest_once "$WORK/$1.conf" "$2"; }
last() { last_verdict "$DB" "${NODES[$1]}"; }
run() { RC=0; "$V" "$@" >"$WORK/out" 2>"$WORK/err" || RC=$?; }

declare -A NODES
attest a pass
NODES[a]=$(db_rows "$DB" "SELECT ek_hash FROM nodes")
attest b fail
NODES[b]=$(db_rows "$DB" "SELECT ek_hash FROM nodes WHERE ek_hash <> '${NODES[a]}'")
kept=$(db_rows "$DB" "SELECT count(*) FROM attestations WHERE ak_digest IS NOT NULL AND values_digest IS NOT NULL
	AND verified = 1")
[ "$kept" = 2 ] || fail "the two verdicts keep their evidence: $kept rows"
ok "both verdicts keep their AK and PCR values (verified quotes) in the evidence table"

# ---- dry run, then the candidate applied
run policy test --config "$WORK/v.conf" --json "$WORK/pb.json"
[ "$RC" -eq 1 ] || fail "policy test: exit $RC (one node would fail): $(cat "$WORK/err")"
cp "$WORK/out" "$WORK/dry.json"
run policy create pb --config "$WORK/v.conf" --file "$WORK/pb.json"
for n in a b; do
	run policy assign pb --config "$WORK/v.conf" --node "${NODES[$n]:0:16}"
	[ "$RC" -eq 0 ] || fail "assign: $(cat "$WORK/err")"
done
attest a fail
attest b pass
/usr/bin/python3 - "$WORK/dry.json" "$(last a)" "$(last b)" "${NODES[a]}" "${NODES[b]}" <<'PY' || fail "the dry run did not predict the verdicts"
import json, sys
dry = {n["node"]: n for n in json.load(open(sys.argv[1]))["nodes"]}
for got, ek in ((sys.argv[2], sys.argv[4]), (sys.argv[3], sys.argv[5])):
    passed, name, version, reason = got.split("|", 3)
    want = dry[ek]
    assert (want["result"] == "PASS") == (passed == "1"), (want, got)
    assert want["reason"] == reason, (want["reason"], reason)
    assert name == "pb" and version == "1", got
print("dry run", {k[:8]: (v["result"], v["reason"][:60]) for k, v in dry.items()})
PY
grep -q '"result": "FAIL", "reason": "PCR value differs from policy: PCR 7' "$WORK/dry.json" || fail "dry run reason: $(cat "$WORK/dry.json")"
run policy test --config "$WORK/v.conf" "$WORK/pb.json" "${NODES[b]:0:16}"
[ "$RC" -eq 0 ] && grep -q "^1 nodes: 1 would pass, 0 would fail" "$WORK/out" || fail "test of B alone: $RC $(cat "$WORK/out")"
ok "policy test predicted A FAIL (PCR 7) and B PASS; applied, the verdicts are those, reason for reason"

# ---- learn and approve
run policy proposal --config "$WORK/v.conf" "${NODES[b]:0:16}"
[ "$RC" -eq 1 ] && grep -q "no learn request" "$WORK/err" || fail "proposal without a request: $RC $(cat "$WORK/err")"
run policy approve --config "$WORK/v.conf" "${NODES[b]:0:16}"
[ "$RC" -eq 1 ] && grep -q "no learn request" "$WORK/err" || fail "approve without a request: $RC $(cat "$WORK/err")"
run policy learn --config "$WORK/v.conf" "${NODES[b]:0:16}"
[ "$RC" -eq 0 ] || fail "learn: $(cat "$WORK/err")"
run policy proposal --config "$WORK/v.conf" "${NODES[b]:0:16}"
[ "$RC" -eq 1 ] && grep -q "no verified quote yet" "$WORK/out" || fail "proposal before a quote: $RC $(cat "$WORK/out")"
# B's PCR 16 is not quoted; PCR 7 moves before the quote that answers.
TPM2TOOLS_TCTI=${TCTIS[b]} tpm2_pcrextend "7:sha256=$(printf 'cc%.0s' {1..32}),sha1=$(printf 'cc%.0s' {1..20})"
attest b fail
run policy proposal --config "$WORK/v.conf" "${NODES[b]:0:16}"
[ "$RC" -eq 0 ] || fail "proposal: $(cat "$WORK/err")"
TPM2TOOLS_TCTI=${TCTIS[b]} pcr_policy >"$WORK/b-now"
/usr/bin/python3 - "$WORK/out" "$WORK/b-now" <<'PY' || fail "the proposal is not B's quoted PCRs"
import json, sys
p = json.load(open(sys.argv[1]))
want = dict(l.split(" = ") for l in open(sys.argv[2]).read().splitlines())
got = {k: v for k, v in p["pcrs"].items() if k.startswith("sha256.") and int(k.split(".")[1]) <= 7}
assert got == want, (got, want)
assert set(p) == {"pcrs"}, p.keys()
PY
[ "$(last b | cut -d'|' -f2)" = pb ] || fail "B is judged by pb until approved: $(last b)"
attest b fail
ok "learn: nothing to propose before a quote; the proposal is B's quoted PCRs (tpm2_pcrread); B still judged by pb"
run policy approve --config "$WORK/v.conf" --name b-golden "${NODES[b]:0:16}"
[ "$RC" -eq 0 ] && grep -q "^policy b-golden version 1, learned from attestation" "$WORK/out" || fail "approve: $(cat "$WORK/out")"
attest b pass
[[ $(last b) == "1|b-golden|1|" ]] || fail "B after approve: $(last b)"
TPM2TOOLS_TCTI=${TCTIS[b]} tpm2_pcrextend "7:sha256=$(printf 'dd%.0s' {1..32}),sha1=$(printf 'dd%.0s' {1..20})"
attest b fail
[[ $(last b) == "0|b-golden|1|"*"PCR 7"* ]] || fail "B after PCR 7 moved: $(last b)"
run policy proposal --config "$WORK/v.conf" "${NODES[b]:0:16}"
[ "$RC" -eq 1 ] || fail "the request is closed once approved: $RC"
ok "approve: b-golden 1 judges B: it passes, and fails once PCR 7 moves"

# ---- audit: offline, from the database alone (the verifier stopped, its
# WAL checkpointed into the file)
kill "$BG_PID" 2>/dev/null; wait "$BG_PID" 2>/dev/null || true
[ ! -s "$DB-wal" ] || fail "the stopped verifier left a WAL"
run audit --config "$WORK/v.conf" "${NODES[b]:0:16}"
[ "$RC" -eq 0 ] && grep -q " 0 unsupported$" "$WORK/out" || fail "audit of B: $RC $(cat "$WORK/out" "$WORK/err")"
grep -q "passes supported by their evidence" "$WORK/out" || fail "audit summary: $(cat "$WORK/out")"
cp "$DB" "$WORK/clean.db"
tamper() { # SQL-ish python on the database: a change an attacker with the file makes
	cp "$WORK/clean.db" "$DB"; rm -f "$DB-wal" "$DB-shm"
	/usr/bin/python3 - "$DB" "$1" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
exec(sys.argv[2])
con.commit()
PY
}
PASSROW=$(db_rows "$DB" "SELECT a.id FROM attestations a JOIN nodes n ON n.id = a.node_id
	WHERE n.ek_hash = '${NODES[b]}' AND a.pass = 1 ORDER BY a.id DESC LIMIT 1")
FAILROW=$(db_rows "$DB" "SELECT a.id FROM attestations a JOIN nodes n ON n.id = a.node_id
	WHERE n.ek_hash = '${NODES[b]}' AND a.pass = 0 ORDER BY a.id DESC LIMIT 1")
tamper "
q = bytearray(con.execute('SELECT quote FROM attestations WHERE id = $PASSROW').fetchone()[0])
q[-3] ^= 1
con.execute('UPDATE attestations SET quote = ? WHERE id = $PASSROW', (bytes(q),))"
run audit --config "$WORK/v.conf" "${NODES[b]:0:16}"
[ "$RC" -eq 1 ] && grep -q "^UNSUPPORTED attestation $PASSROW (.*pass): the quote does not verify: " "$WORK/out" ||
	fail "audit of an altered quote: $RC $(cat "$WORK/out")"
tamper "con.execute(\"UPDATE attestations SET pass = 1, reason = '' WHERE id = $FAILROW\")"
run audit --config "$WORK/v.conf" "${NODES[b]:0:16}"
[ "$RC" -eq 1 ] && grep -q "^UNSUPPORTED attestation $FAILROW (.*pass): the evidence fails b-golden 1: PCR value differs from policy" \
	"$WORK/out" || fail "audit of a failure made a pass: $RC $(cat "$WORK/out")"
tamper "con.execute('UPDATE attestations SET clock = clock + 1 WHERE id = $PASSROW')"
run audit --config "$WORK/v.conf" "${NODES[b]:0:16}"
[ "$RC" -eq 1 ] && grep -q "^UNSUPPORTED attestation $PASSROW .*the row's counters are not the quote's" "$WORK/out" ||
	fail "audit of moved counters: $RC $(cat "$WORK/out")"
tamper "
v = bytearray(con.execute('SELECT e.body FROM evidence e JOIN attestations a ON a.values_digest = e.digest WHERE a.id = $PASSROW').fetchone()[0])
v[0] ^= 1
con.execute('UPDATE evidence SET body = ? WHERE digest = (SELECT values_digest FROM attestations WHERE id = $PASSROW)', (bytes(v),))"
run audit --config "$WORK/v.conf" "${NODES[b]:0:16}"
[ "$RC" -eq 1 ] && grep -q "^UNSUPPORTED attestation $PASSROW .*quote does not verify: .*PCR digest" "$WORK/out" ||
	fail "audit of altered PCR values: $RC $(cat "$WORK/out")"
tamper "
cols = [c[1] for c in con.execute('PRAGMA table_info(attestations)') if c[1] != 'id']
con.execute('INSERT INTO attestations (%s) SELECT %s FROM attestations WHERE id = $PASSROW' % (','.join(cols), ','.join(cols)))"
run audit --config "$WORK/v.conf" "${NODES[b]:0:16}"
[ "$RC" -eq 1 ] && grep -q "^UNSUPPORTED attestation [0-9]* .*its nonce is attestation $PASSROW's: a replayed quote" "$WORK/out" ||
	fail "audit of a replayed quote: $RC $(cat "$WORK/out")"
tamper "con.execute('UPDATE attestations SET ak_digest = NULL, values_digest = NULL WHERE id = $PASSROW')"
run audit --config "$WORK/v.conf" "${NODES[b]:0:16}"
[ "$RC" -eq 1 ] && grep -q "^UNSUPPORTED attestation $PASSROW .*its evidence was removed from the database" "$WORK/out" ||
	fail "audit of removed evidence: $RC $(cat "$WORK/out")"
cp "$WORK/clean.db" "$DB"; rm -f "$DB-wal" "$DB-shm"
run audit --config "$WORK/v.conf" "${NODES[b]:0:16}"
[ "$RC" -eq 0 ] || fail "audit of the clean copy: $(cat "$WORK/out")"
ok "audit: a clean database passes; an altered quote, a failure turned pass, moved counters, altered PCR values, a replayed quote, removed evidence: each reported"

# ---- bad input
run policy test --config "$WORK/v.conf" "$WORK/nope.json"
[ "$RC" -eq 2 ] && grep -q "nope.json" "$WORK/err" || fail "missing candidate: $RC $(cat "$WORK/err")"
printf '{"pcrs": {"sha256.7": 1}}' >"$WORK/bad.json"
run policy test --config "$WORK/v.conf" "$WORK/bad.json"
[ "$RC" -eq 2 ] && grep -q "pcrs \"sha256.7\" must be a string of hex" "$WORK/err" || fail "bad candidate: $RC $(cat "$WORK/err")"
run policy test --config "$WORK/v.conf" "$WORK/pb.json" feedbeef
[ "$RC" -eq 1 ] && grep -q "feedbeef" "$WORK/err" || fail "unknown node: $RC $(cat "$WORK/err")"
run policy learn --config "$WORK/v.conf" feedbeef
[ "$RC" -eq 1 ] && grep -q "feedbeef" "$WORK/err" || fail "learn of an unknown node: $RC $(cat "$WORK/err")"
run audit --config "$WORK/v.conf" --since yesterday "${NODES[b]:0:16}"
[ "$RC" -eq 2 ] && grep -q "\-\-since yesterday" "$WORK/err" || fail "bad --since: $RC $(cat "$WORK/err")"
run audit --config "$WORK/v.conf" --since 1m "${NODES[b]:0:16}"
[ "$RC" -eq 0 ] || fail "audit --since 1m: $(cat "$WORK/out")"
ok "bad input: a missing or malformed candidate, unknown nodes, a bad --since: each refused, naming it"

# ---- learn_first_use on a fresh verifier: a node's first quote becomes its
# policy only when its evidence held together and passed what judged it
vport2=$(free_port)
mkdir -p "$WORK/vstate2"
verifier_conf "$WORK/v2.conf" "mode = push
listen = 127.0.0.1:$vport2
ek_roots = $WORK/roots
learn_first_use = true
state_dir = $WORK/vstate2" "$REF_A"
DB2=$WORK/vstate2/verifier.db
bg verifier2 "$V" serve --config "$WORK/v2.conf"
wait_port "$vport2"
for n in a b; do
	TCTI=${TCTIS[$n]} attestor_conf "$WORK/${n}2.conf" push "127.0.0.1:$vport2" "$WORK/${n}2-state"
done
attest2() { attest_once "$WORK/${1}2.conf" "$2"; } # NODE WANT, at the first-use verifier
attest2 b fail
attest2 b fail
[ "$(db_rows "$DB2" "SELECT count(*) FROM policies")" = 0 ] || fail "a failing first quote became a policy"
! grep -q "first use" "$WORK/verifier2.log" || fail "first use of a failing quote: $(grep "first use" "$WORK/verifier2.log")"
attest2 a pass
wait_log "$WORK/verifier2.log" "first use (learn_first_use): its quote in attestation 3 is its policy learned-${NODES[a]:0:16} version 1 now, unreviewed" 1 10
attest2 a pass
[ "$(db_rows "$DB2" "SELECT policy_name FROM attestations ORDER BY id DESC LIMIT 1")" = "learned-${NODES[a]:0:16}" ] ||
	fail "A's second verdict is not judged by what it learned"
TPM2TOOLS_TCTI=${TCTIS[a]} tpm2_pcrextend "0:sha256=$(printf 'ee%.0s' {1..32}),sha1=$(printf 'ee%.0s' {1..20})"
attest2 a fail
ok "learn_first_use: B's failing first quote is learned from never; A's passing one is its policy (logged), which then fails A's moved PCR 0"

#!/bin/bash
# The Admin service (issue #16) from Python grpcio (admin_api.py), against
# a running push verifier with two swtpm nodes (A passes, B fails on PCR 7)
# and its real database:
#  - every method with the operator's certificate: nodes (list, filters,
#    status with the reference and the quoted values, history with the
#    quote, whose extraData Python reads as the nonce), enrollment and
#    assignment, fleet counts, rejected attempts, policies (create, update,
#    get, list, assign, dry run, delete), group rules, learning a policy
#    for B from its next quote and approving it, after which B passes,
#    removal; bad input gets INVALID_ARGUMENT / NOT_FOUND /
#    FAILED_PRECONDITION and changes nothing;
#  - every method with an attestor's certificate (a valid fleet member),
#    another attestor's and the verifier's own: PERMISSION_DENIED naming
#    why; with no client certificate and with one of another CA: no TLS
#    session; nothing changed by any of them;
#  - WatchEvents (Python, every node and one node; verifier watch --json):
#    the state changes PCR moves and a learned policy cause, in order;
#    refused for an attestor; the CLI's stream ends when the verifier stops;
#  - paging over 250 more nodes than one page;
#  - pull mode: Reattest attests the node now, hours before its interval;
#  - the example examples/admin.py lists the failing node;
#  - a config with [admin] and no operators, or with insecure TLS, is refused;
#  - [admin] ca: operators by a CA of their own; the fleet CA's certificate
#    of the same identity gets no TLS session.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend tpm2_pcrread openssl
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"
V=$BUILD_DIR/verifier
pass_fail_fleet
policy_json "$WORK/web.json" "$REF_A"

vport=$(free_port)
aport=$(free_port)
mkdir -p "$WORK/vstate"
DB=$WORK/vstate/verifier.db
verifier_conf "$WORK/v.conf" "mode = push
listen = 127.0.0.1:$vport
ek_roots = $WORK/roots
state_dir = $WORK/vstate" "$REF_A" "[admin]
listen = 127.0.0.1:$aport
operators = operator, alice"
bg verifier "$V" serve --config "$WORK/v.conf"
VPID=$BG_PID
wait_port "$vport"
wait_port "$aport"
for n in a b; do
	TCTI=${TCTIS[$n]} attestor_conf "$WORK/$n.conf" push "127.0.0.1:$vport" "$WORK/$n-state"
done
attest_once "$WORK/a.conf" pass
attest_once "$WORK/b.conf" fail
# attestor2 on A's TPM: a claim on A's EK that proves nothing (A is bound to attestor).
TCTI=${TCTIS[a]} attestor_conf "$WORK/a2.conf" push "127.0.0.1:$vport" "$WORK/a2-state"
sed -i "s|$P/attestor\.|$P/attestor2.|g" "$WORK/a2.conf"
attest_once "$WORK/a2.conf" fail
A=$(db_rows "$DB" "SELECT ek_hash FROM nodes ORDER BY id LIMIT 1")
B=$(db_rows "$DB" "SELECT ek_hash FROM nodes ORDER BY id LIMIT 1 OFFSET 1")
api() { /usr/bin/python3 "$SOURCE_DIR/tests/integration/admin_api.py" "$WORK/stubs" "127.0.0.1:$aport" "$P" "$@" ||
	fail "admin_api.py $1"; }

api refusals "$A"
api nodes "$A" "$B"
wait_log "$WORK/verifier.log" "operator operator: EnrollNode done" 1 10
api policies "$A" "$B" "$WORK/web.json"
attest_once "$WORK/b.conf" fail
api learned "$B"
attest_once "$WORK/b.conf" pass
api passing "$B"

# The example lists the failing nodes: none now; after A's PCR 7 moves, A.
PYTHONPATH=$WORK/stubs /usr/bin/python3 "$SOURCE_DIR/examples/admin.py" --server "127.0.0.1:$aport" \
	--ca "$P/ca.pem" --cert "$P/operator.pem" --key "$P/operator.key" --server-name verifier >"$WORK/ex.out" ||
	fail "admin.py with every node passing: exit $?: $(cat "$WORK/ex.out")"
grep -q "^0 failing nodes$" "$WORK/ex.out" || fail "admin.py: $(cat "$WORK/ex.out")"
TPM2TOOLS_TCTI=${TCTIS[a]} tpm2_pcrextend "7:sha256=$(printf 'aa%.0s' {1..32})"
attest_once "$WORK/a.conf" fail
RC=0
PYTHONPATH=$WORK/stubs /usr/bin/python3 "$SOURCE_DIR/examples/admin.py" --server "127.0.0.1:$aport" \
	--ca "$P/ca.pem" --cert "$P/operator.pem" --key "$P/operator.key" --server-name verifier >"$WORK/ex.out" || RC=$?
[ "$RC" -eq 1 ] && grep -q "^${A:0:16}  web1 .* judged by the config file's policy: .*PCR 7" "$WORK/ex.out" &&
	grep -q "^1 failing nodes$" "$WORK/ex.out" || fail "admin.py with A failing: exit $RC: $(cat "$WORK/ex.out")"
ok "examples/admin.py lists the failing node: $(head -n 1 "$WORK/ex.out" | cut -c1-100)"
PYTHONPATH=$WORK/stubs /usr/bin/python3 "$SOURCE_DIR/examples/admin.py" --server "127.0.0.1:$aport" \
	--ca "$P/ca.pem" --cert "$P/attestor.pem" --key "$P/attestor.key" --server-name verifier >/dev/null \
	2>"$WORK/ex.err" && fail "admin.py with an attestor's certificate answered"
grep -q "PERMISSION_DENIED: TLS identity 'attestor' is not an operator" "$WORK/ex.err" ||
	fail "admin.py as attestor: $(cat "$WORK/ex.err")"
ok "examples/admin.py with an attestor's certificate: $(cat "$WORK/ex.err")"

# The CLI: the same output through the service as on the database itself
# (the same state: each pair runs back to back), and none for an attestor.
REMOTE=(--server "127.0.0.1:$aport" --ca "$P/ca.pem" --cert "$P/operator.pem" --key "$P/operator.key")
n=0
for c in "list" "list --json" "status" "status --json" "status ${A:0:12}" "status --json ${B:0:12}" "rejected" \
	"rejected --json" "policy list" "policy show learned-b" "policy show --json learned-b" "group rules" \
	"history ${A:0:16}" "history --json ${B:0:16}" "policy test $WORK/web.json" "policy test --json $WORK/web.json"; do
	read -r -a words <<<"$c"
	head=1
	[ "${words[0]}" = policy ] || [ "${words[0]}" = group ] && head=2
	lrc=0 rrc=0
	"$V" "${words[@]:0:$head}" --config "$WORK/v.conf" "${words[@]:$head}" >"$WORK/local.out" 2>&1 || lrc=$?
	"$V" "${words[@]:0:$head}" "${REMOTE[@]}" "${words[@]:$head}" >"$WORK/remote.out" 2>&1 || rrc=$?
	[ "$lrc" = "$rrc" ] && cmp -s "$WORK/local.out" "$WORK/remote.out" ||
		fail "verifier $c: exit $lrc on the database, $rrc through the service: $(diff "$WORK/local.out" "$WORK/remote.out" | head -n 8)"
	[ -s "$WORK/local.out" ] || fail "verifier $c printed nothing"
	n=$((n + 1))
done
ok "$n CLI commands print the same through the Admin service as on the database (exit status too)"
RC=0
"$V" list --server "127.0.0.1:$aport" --ca "$P/ca.pem" --cert "$P/attestor.pem" --key "$P/attestor.key" \
	>"$WORK/list.out" 2>&1 || RC=$?
[ "$RC" -eq 1 ] && grep -q "^verifier: 127.0.0.1:$aport: PERMISSION_DENIED: TLS identity 'attestor' is not an operator" \
	"$WORK/list.out" || fail "verifier list with an attestor's certificate: exit $RC: $(cat "$WORK/list.out")"
ok "verifier list with an attestor's certificate: $(cat "$WORK/list.out")"

# WatchEvents: the changes two PCR moves and a learned policy cause, in
# the order recorded, to two Python watchers (every node; B only) and to
# `verifier watch --json`; the CLI's stream ends when the verifier stops.
api_bg() { bg "$1" /usr/bin/python3 "$SOURCE_DIR/tests/integration/admin_api.py" "$WORK/stubs" "127.0.0.1:$aport" \
	"$P" "${@:2}"; }
api_bg watch-all watch - "${B:0:16}:passing:failed,${A:0:16}:failed:passing,${A:0:16}:passing:failed"
WALL=$BG_PID
api_bg watch-b watch "${B:0:16}" "${B:0:16}:passing:failed"
WB=$BG_PID
"$V" watch --json "${REMOTE[@]}" >"$WORK/watch-cli.out" 2>"$WORK/watch-cli.err" &
WCLI=$!
wait_log "$WORK/watch-all.log" "^READY" 1 20
wait_log "$WORK/watch-b.log" "^READY" 1 20
wait_log "$WORK/watch-cli.err" "watching the state changes of every node at 127.0.0.1:$aport" 1 20
TPM2TOOLS_TCTI=${TCTIS[b]} tpm2_pcrextend "7:sha256=$(printf 'cc%.0s' {1..32})"
attest_once "$WORK/b.conf" fail
"$V" policy learn "${REMOTE[@]}" "${A:0:16}" >/dev/null || fail "policy learn A through the service"
attest_once "$WORK/a.conf" fail
"$V" policy approve "${REMOTE[@]}" --name learned-a "${A:0:16}" >/dev/null || fail "policy approve A"
attest_once "$WORK/a.conf" pass
TPM2TOOLS_TCTI=${TCTIS[a]} tpm2_pcrextend "7:sha256=$(printf 'dd%.0s' {1..32})"
attest_once "$WORK/a.conf" fail
wait "$WALL" || fail "watching every node: $(cat "$WORK/watch-all.log")"
wait "$WB" || fail "watching B: $(cat "$WORK/watch-b.log")"
grep "^PASS" "$WORK/watch-all.log" "$WORK/watch-b.log" | sed 's/^[^:]*:/    /'
wait_log "$WORK/watch-cli.out" '"event": "state_change"' 3 20
/usr/bin/python3 - "$WORK/watch-cli.out" "${B}:passing:failed,${A}:failed:passing,${A}:passing:failed" <<'PY' ||
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])][:3]
want = [w.split(":") for w in sys.argv[2].split(",")]
assert [[g["node"], g["from"], g["to"]] for g in got] == want, got
assert got[0]["seq"] < got[1]["seq"] < got[2]["seq"] and all(g["attestation_id"] for g in got), got
assert "PCR 7" in got[0]["reason"] and got[1]["reason"] == "", got
PY
	fail "verifier watch --json: $(head -n 3 "$WORK/watch-cli.out")"
ok "verifier watch --json printed the same three changes in order: $(head -c 160 "$WORK/watch-cli.out")"
RC=0
"$V" watch "${REMOTE[@]/operator/attestor}" >/dev/null 2>"$WORK/watch-att.err" || RC=$?
[ "$RC" -eq 1 ] && grep -q "PERMISSION_DENIED: TLS identity 'attestor' is not an operator" "$WORK/watch-att.err" ||
	fail "verifier watch with an attestor's certificate: exit $RC: $(cat "$WORK/watch-att.err")"
RC=0
"$V" watch --config "$WORK/v.conf" >/dev/null 2>"$WORK/watch-local.err" || RC=$?
[ "$RC" -ne 0 ] && grep -q "watch follows a running verifier" "$WORK/watch-local.err" ||
	fail "verifier watch without a server: exit $RC: $(cat "$WORK/watch-local.err")"
ok "verifier watch: refused for an attestor; without a server it says what it needs"

api paging 250

# The operators a config names; an Admin service without TLS is refused.
for bad in "operators =" "insecure"; do
	cp "$WORK/v.conf" "$WORK/bad.conf"
	if [ "$bad" = insecure ]; then
		sed -i 's/^\[tls\]$/[tls]\ninsecure = true/' "$WORK/bad.conf"
	else
		sed -i '/^operators = /d' "$WORK/bad.conf"
	fi
	RC=0
	"$V" serve --config "$WORK/bad.conf" >/dev/null 2>"$WORK/bad.err" || RC=$?
	[ "$RC" -eq 2 ] && grep -q "\[admin\] listen needs" "$WORK/bad.err" ||
		fail "a config with [admin] and $bad: exit $RC: $(cat "$WORK/bad.err")"
done
ok "[admin] without operators, and with [tls] insecure: refused ($(head -c 90 "$WORK/bad.err"))"

# [admin] ca: operators by a CA of their own. rogue.pem (other-ca) carries
# the identity "attestor"; with other-ca as [admin] ca and "attestor" an
# operator, it calls the Admin service, while the fleet's attestor.pem,
# the same identity from the attestors' CA, gets no TLS session at all.
cp "$WORK/v.conf" "$WORK/ca.conf"
sed -i "s|^operators = .*|operators = attestor\nca = $P/other-ca.pem|" "$WORK/ca.conf"
kill "$VPID"
wait "$VPID" 2>/dev/null || true
bg verifier-ca "$V" serve --config "$WORK/ca.conf"
VPID=$BG_PID
wait_port "$aport"
"$V" list --server "127.0.0.1:$aport" --ca "$P/ca.pem" --cert "$P/rogue.pem" --key "$P/rogue.key" \
	>"$WORK/ca-op.out" 2>&1 || fail "[admin] ca: its operator refused: $(cat "$WORK/ca-op.out")"
RC=0
"$V" list --server "127.0.0.1:$aport" --ca "$P/ca.pem" --cert "$P/attestor.pem" --key "$P/attestor.key" \
	>"$WORK/ca-att.out" 2>&1 || RC=$?
[ "$RC" -eq 1 ] && grep -q "UNAVAILABLE" "$WORK/ca-att.out" && ! grep -q "NODE" "$WORK/ca-att.out" ||
	fail "[admin] ca: the attestors' CA's 'attestor' answered: exit $RC: $(cat "$WORK/ca-att.out")"
grep -q "\[admin\] ca is not set" "$WORK/verifier.log" && ! grep -q "\[admin\] ca is not set" "$WORK/verifier-ca.log" ||
	fail "[admin] ca: the log does not say which CA checks operators"
ok "[admin] ca: the operator CA's certificate lists $(($(wc -l <"$WORK/ca-op.out") - 1)) nodes; the fleet CA's, of the same identity, gets no TLS session"

# Pull mode: Reattest ends the target's wait (its interval is an hour).
# The verifier stopping ends the CLI's stream, with the reason.
kill "$VPID"
wait "$VPID" 2>/dev/null || true
RC=0
wait "$WCLI" || RC=$?
[ "$RC" -eq 1 ] && grep -q "UNAVAILABLE: the stream ends: the verifier stops" "$WORK/watch-cli.err" ||
	fail "verifier watch when the verifier stopped: exit $RC: $(cat "$WORK/watch-cli.err")"
ok "verifier watch ends when the verifier stops: $(tail -n 1 "$WORK/watch-cli.err")"
lport=$(free_port)
aport=$(free_port)
mkdir -p "$WORK/pstate"
TCTI=${TCTIS[a]} attestor_conf "$WORK/pa.conf" pull "127.0.0.1:$lport" "$WORK/pa-state"
bg attestor "$BUILD_DIR/attestor" --config "$WORK/pa.conf"
wait_port "$lport"
verifier_conf "$WORK/p.conf" "mode = pull
targets = 127.0.0.1:$lport
reattest_interval = 3600
ek_roots = $WORK/roots
state_dir = $WORK/pstate" "$REF_A" "[admin]
listen = 127.0.0.1:$aport
operators = operator"
bg pverifier "$V" serve --config "$WORK/p.conf"
wait_port "$aport"
wait_log "$WORK/pverifier.log" "verdict .* target 127.0.0.1:$lport round 1" 1 30
PA=$(db_rows "$WORK/pstate/verifier.db" "SELECT ek_hash FROM nodes")
api reattest "$PA"
wait_log "$WORK/pverifier.log" "verdict .* target 127.0.0.1:$lport round 2" 1 30
grep -q "target 127.0.0.1:$lport: attested now, as an operator asked" "$WORK/pverifier.log" ||
	fail "round 2 came, but not as asked"
n=$(db_rows "$WORK/pstate/verifier.db" "SELECT count(*) FROM attestations")
[ "$n" -eq 2 ] || fail "pull Reattest: $n verdicts, want 2"
ok "pull mode: Reattest attested the node at once (round 2 of an hourly interval)"

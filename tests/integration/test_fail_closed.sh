#!/bin/bash
# Fail closed (issue #12, item 11), push mode, the store made unusable from
# outside while `attestor --once` attests a known node:
#  - another process holds the database's write lock (BEGIN IMMEDIATE on the
#    WAL database) longer than the store's 5 s busy timeout while
#    `attestor --once --wait 30` attests (with a new AK: the proven node
#    cannot be recorded): UNAVAILABLE, the attestor tries again, PASS only
#    after the lock is released;
#  - the nodes table renamed away under the running verifier: the lookup at
#    Hello fails, the session ends without a verdict (UNAVAILABLE, no rejected
#    attempt, nothing written) until the table is back, then the node passes;
#  - the same lock while a running attestor re-attests every second (one
#    SubmitQuote: the verdict is the only write): its passing verdict cannot
#    be recorded, so it is not given: the verifier logs it, the attestor is
#    told UNAVAILABLE and tries again, no PASS while the lock is held, PASS
#    again after;
#  - a PCR changes under the held lock: the failing verdict the store cannot
#    take still reaches the hook (passing -> failed) before the release;
#  - the database then holds exactly the passes the attestors were given.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend tpm2_pcrread sha256sum
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

swtpm_start tpm
pcr_extend_some
pki_make "$WORK/pki"
P=$WORK/pki
DB=$WORK/vstate/verifier.db
cat >"$WORK/hook.sh" <<HOOK
#!/bin/sh
{ cat; echo; } >>"$WORK/events.jsonl"
HOOK
chmod +x "$WORK/hook.sh"
verifier_conf "$WORK/verifier.conf" "mode = push
listen = 127.0.0.1:0
reattest_interval = 1
ek_roots = $EK_ROOTS
state_dir = $WORK/vstate
hook = $WORK/hook.sh"
bg verifier "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
VLOG=$WORK/verifier.log
attestor_conf "$WORK/attestor.conf" push "127.0.0.1:$(log_port "$VLOG")" "$WORK/astate"

# attest NAME: `attestor --once` to the end; RC, output in $WORK/NAME.{out,err}.
attest() {
	RC=0
	"$BUILD_DIR/attestor" --config "$WORK/attestor.conf" --once --wait 30 >"$WORK/$1.out" 2>"$WORK/$1.err" || RC=$?
}
# hold: another process takes the database's write lock and holds it until
# unhold (at most 20 s: $WORK/released then exists before unhold). Longer
# than the store's 5 s busy timeout: each phase waits until the verifier met
# the lock and gave up, then releases.
cat >"$WORK/lock.py" <<'PY'
import os, sqlite3, sys, time
db, work = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db, isolation_level=None, timeout=30)
con.execute("BEGIN IMMEDIATE")
open(os.path.join(work, "locked"), "w").close()
log = os.path.join(work, "running.log")
passes = lambda: open(log).read().count("attestation PASS") if os.path.exists(log) else 0
# The running attestor's passes, counted while the lock is surely held, and
# again just before it is given up: none can be given in between.
time.sleep(0.5)
n0 = passes()
deadline = time.monotonic() + 20
while not os.path.exists(os.path.join(work, "release")) and time.monotonic() < deadline:
    time.sleep(0.05)
open(os.path.join(work, "released"), "w").write("%d %d\n" % (n0, passes()))
con.execute("ROLLBACK")
PY
hold() {
	rm -f "$WORK/locked" "$WORK/release" "$WORK/released"
	bg locker /usr/bin/python3 "$WORK/lock.py" "$DB" "$WORK"
	LOCKER=$BG_PID
	for ((i = 0; i < 100; i++)); do [ -e "$WORK/locked" ] && sleep 0.5 && return 0; sleep 0.05; done
	fail "the database lock was not taken: $(cat "$WORK/locker.log")"
}
# unhold: give the lock up; sets N0, N1 (see lock.py).
unhold() {
	[ ! -e "$WORK/released" ] || fail "the lock was given up before the test said so: what follows proves nothing"
	touch "$WORK/release"
	wait "$LOCKER" || fail "the lock holder failed: $(cat "$WORK/locker.log")"
	read -r N0 N1 <"$WORK/released"
}
passes() { db_rows "$DB" "SELECT count(*) FROM attestations WHERE pass = 1"; }
verdicts() { db_rows "$DB" "SELECT count(*) FROM attestations"; }
# recorded N: the database holds N verdicts, all passing, and no rejected attempt.
recorded() {
	[ "$(passes)|$(verdicts)" = "$1|$1" ] && [ -z "$(db_rows "$DB" "SELECT * FROM rejected")" ] ||
		fail "$(passes) passes, $(verdicts) verdicts recorded, $1 passes given; rejected: $(db_rows "$DB" "SELECT * FROM rejected")"
}

attest first
[ "$RC" -eq 0 ] && grep -q "^PASS " "$WORK/first.out" || fail "first attestation: exit $RC: $(cat "$WORK/first.err")"
recorded 1
ok "the node attested and passed once"

# --- attestor --once under the lock: no pass until the node can be recorded.
hold
bg once "$BUILD_DIR/attestor" --config "$WORK/attestor.conf" --once --wait 30
ONCE=$BG_PID
wait_log "$WORK/once.log" "UNAVAILABLE: recording the proven node: .*database is locked: try again; retrying in" 1 20
if grep -q "^PASS" "$WORK/once.log"; then fail "attestor --once passed while the database was locked"; fi
unhold
rc=0; wait "$ONCE" || rc=$?
[ "$rc" -eq 0 ] && grep -q "^PASS " "$WORK/once.log" || fail "attestor --once after the lock: exit $rc: $(tail -n 5 "$WORK/once.log")"
recorded 2
ok "item 11: attestor --once under a held write lock: UNAVAILABLE (the proven node not recorded), PASS only after the release"

# --- the lookup at Hello fails: no verdict, nothing written, until the table is back.
rename() { /usr/bin/python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1], isolation_level=None).execute("ALTER TABLE %s RENAME TO %s" % (sys.argv[2], sys.argv[3]))' "$DB" "$1" "$2"; }
rename nodes nodes_away
bg away "$BUILD_DIR/attestor" --config "$WORK/attestor.conf" --once --wait 30
AWAY=$BG_PID
wait_log "$WORK/away.log" "UNAVAILABLE: looking the node up: .*try again; retrying in" 3 20
grep -q "error record: looking the node up: " "$VLOG" || fail "the verifier did not log the failed lookup"
if grep -q "^PASS" "$WORK/away.log"; then fail "the attestor passed while the nodes table was away"; fi
recorded 2
rename nodes_away nodes
rc=0; wait "$AWAY" || rc=$?
[ "$rc" -eq 0 ] && grep -q "^PASS " "$WORK/away.log" || fail "after the table came back: exit $rc: $(tail -n 5 "$WORK/away.log")"
recorded 3
ok "item 11: store unreadable at Hello: $(grep -c 'retrying in' "$WORK/away.log") x UNAVAILABLE, no verdict, no rejected attempt; PASS once the table was back"

# --- a running attestor: its passing verdict under the lock is not given.
bg running "$BUILD_DIR/attestor" --config "$WORK/attestor.conf"
RUNNING=$BG_PID
wait_log "$WORK/running.log" "attestation PASS" 2 20
hold
wait_log "$WORK/running.log" "SubmitQuote: UNAVAILABLE: recording a verdict: .*database is locked: try again" 1 20
grep -q "error record: recording a verdict: .*database is locked" "$VLOG" ||
	fail "the verifier did not log the verdict it could not record"
unhold
[ "$N0" = "$N1" ] || fail "the running attestor had $((N1 - N0)) PASS while the database was locked"
wait_log "$WORK/running.log" "attestation PASS" $((N1 + 1)) 20
ok "item 11: under a held write lock the running attestor got UNAVAILABLE and no PASS (still $N1), then PASS again"

# --- a PCR changes under the lock: the unrecorded failure still reaches the hook.
events=$(grep -c . "$WORK/events.jsonl" || true)
hold
tpm2_pcrextend "1:sha256=$(printf 'rootkit' | sha256sum | cut -d' ' -f1)" >/dev/null
wait_log "$WORK/running.log" "attestation FAILED: .*PCR 1 bank sha256 differs from the policy" 1 20
for ((i = 0; i < 50; i++)); do [ "$(grep -c . "$WORK/events.jsonl")" -gt "$events" ] && break; sleep 0.1; done
tail -n 2 "$WORK/events.jsonl" | grep -q '"from":"passing","to":"failed".*PCR 1 bank sha256' ||
	fail "the hook did not hear the unrecorded failure: $(tail -n 2 "$WORK/events.jsonl")"
unhold
kill -TERM "$RUNNING"
wait "$RUNNING" || true
given=$((3 + $(grep -c "attestation PASS" "$WORK/running.log")))
[ "$(passes)" = "$given" ] || fail "$(passes) passes recorded, $given given"
ok "item 11: a failing verdict the locked store could not take reached the hook (passing -> failed); $given passes given, $given recorded"

#!/bin/bash
# Proof before state in pull mode (issue #12), driven as an attacker would:
# a fake attestor (tests/integration/fake_attestor.py, Python grpcio) stands
# at a target address and first relays a real attestor (A, swtpm A), so that
# node A is proven there, then answers with what an attacker holds: A's
# public EK, EK certificate and AK public, but not A's TPM.
#  item 1 (pull analogue), `verifier attest`, identity 'attestor' (a stolen TLS
#    key): A's EK + A's AK with a forged quote (right nonce and PCR values,
#    wrong key), A's EK + A's AK with A's genuine earlier quote replayed, A's
#    EK + an AK of its own with a forged activation answer: each refused, A's
#    node row, its verdicts and the hook exactly as before (no hostname
#    overwritten), each counted by `verifier rejected`;
#  item 1, binding: identity 'attestor2' (another fleet member) with its own
#    genuine TPM B presenting A's EK, and relaying A's genuine TPM whole:
#    refused by the binding (AERR_IDENTITY), A's row unchanged;
#  item 9: a secret the attestor refuses (a PCR policy its TPM does not
#    meet) and a wrong proof of receipt: A's node fails in the database with
#    the reason, the hook hears passing -> failed;
#  item 1, `verifier serve`: the fake turns rogue at target T1 under a running
#    serve: A's node fails only as documented ("target T1 did not prove its
#    node this round"), keeps its hostname, identity, EK and AK; node B at T2
#    keeps passing;
#  item 12 (pull part): the fake relays A with a hostname and a refusal
#    message holding "\n", a forged "verdict PASS" line and ANSI escapes:
#    the verifier's log, `verifier attest`, list, status and --json show
#    them escaped;
#  item 16: with a reference, a PCR extended under the running serve fails
#    the node and no further secret is delivered (push: test_continuous).
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend openssl sha256sum
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

pki_make "$WORK/pki"
P=$WORK/pki
py_stubs "$WORK/py"
mkdir -p "$WORK/victim" "$WORK/keys"
swtpm_fleet a b
(umask 077; openssl rand 32 >"$WORK/keys/aes.key")
cat >"$WORK/hook.sh" <<HOOK
#!/bin/sh
{ cat; echo; } >>"\$1"
HOOK
chmod +x "$WORK/hook.sh"

# attestor NAME TPM CERT: a real pull attestor on TPM (a|b) with the demo
# certificate CERT; sets PORT_NAME.
attestor() {
	TCTI=${TCTIS[$2]}
	attestor_conf "$WORK/$1.conf" pull 127.0.0.1:0 "$WORK/$1-state"
	sed -i "s|/attestor\.\(pem\|key\)$|/$3.\1|" "$WORK/$1.conf"
	bg "$1" "$BUILD_DIR/attestor" --config "$WORK/$1.conf"
	eval "PORT_$1=$(log_port "$WORK/$1.log")"
}
# fake NAME CERT UPSTREAM_PORT: a fake attestor with the demo certificate
# CERT relaying the real attestor at UPSTREAM_PORT; its control file is
# $WORK/NAME.json (see control), its records in $WORK/NAME-rec; sets PORT_NAME.
fake() {
	bg "$1" /usr/bin/python3 "$SOURCE_DIR/tests/integration/fake_attestor.py" --stubs "$WORK/py" \
		--ca "$P/ca.pem" --cert "$P/$2.pem" --key "$P/$2.key" --control "$WORK/$1.json" \
		--record "$WORK/$1-rec" --upstream "127.0.0.1:$3" --up-cert "$P/verifier.pem" --up-key "$P/verifier.key"
	eval "PORT_$1=$(log_port "$WORK/$1.log")"
}
# control NAME JSON: what fake NAME does from its next call on.
control() {
	printf '%s\n' "$2" >"$WORK/$1.json.tmp"
	mv "$WORK/$1.json.tmp" "$WORK/$1.json"
}
# vconf FILE STATE [EXTRA [TAIL]]: a pull verifier with a reference, a
# database in $WORK/STATE and a hook appending to $WORK/STATE.events.
vconf() {
	verifier_conf "$1" "mode = pull
ek_roots = $WORK/roots
state_dir = $WORK/$2
hook = $WORK/hook.sh $WORK/$2.events
${3:-}" "$PCR_REF" "${4:-}"
}
SECRET="[secret disk-key]
kind = aes256
key = $WORK/keys/aes.key
pcrs = sha256:0-7
hosts = *"
# attest NAME CONF PORT: `verifier attest` once; RC, output in $WORK/NAME.{out,err}.
attest() {
	RC=0
	"$BUILD_DIR/verifier" attest --config "$2" "127.0.0.1:$3" >"$WORK/$1.out" 2>"$WORK/$1.err" || RC=$?
}
# refused NAME CONF PORT PATTERN: attest exits 1, stderr matching PATTERN.
refused() {
	attest "$1" "$2" "$3"
	[ "$RC" -eq 1 ] && grep -q -- "$4" "$WORK/$1.err" ||
		fail "$1: exit $RC, want 1 with '$4': $(cat "$WORK/$1.out" "$WORK/$1.err")"
}
rejected() { db_rows "$WORK/$1/verifier.db" "SELECT count FROM rejected WHERE mode = 'pull' AND identity = '$2'"; }
events() { grep -c . "$WORK/$1.events" 2>/dev/null || true; }
# last_event STATE: "from -> to: reason" of the hook's last event.
last_event() {
	/usr/bin/python3 -c '
import json, sys
e = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]
print("%s -> %s: %s" % (e["from"], e["to"], e["reason"]))' "$WORK/$1.events"
}
node() { db_rows "$WORK/$1/verifier.db" "SELECT $2 FROM nodes WHERE ek_hash = '$VICTIM'"; }

attestor att_a a attestor
attestor att_b b attestor2
fake fake1 attestor "$PORT_att_a"
control fake1 '{"hostname": "victim-a"}'
# A's target is one of `targets`: a one-shot `verifier attest` there binds
# A to it (elsewhere it would only check).
vconf "$WORK/v1.conf" v1 "targets = 127.0.0.1:$PORT_fake1"

# --- A proven through the relay: the victim's node, and what an attacker can copy of it.
attest pass1 "$WORK/v1.conf" "$PORT_fake1"
[ "$RC" -eq 0 ] || fail "relayed attestation of A: exit $RC: $(cat "$WORK/pass1.err")"
cp "$WORK"/fake1-rec/{GetEndorsement,GetAttestationKey,Quote}.bin "$WORK/victim/"
VICTIM=$(db_rows "$WORK/v1/verifier.db" "SELECT ek_hash FROM nodes")
[ "$(node v1 "hostname || '|' || identity || '|' || state")" = "victim-a|attestor|passing" ] ||
	fail "node A after its first attestation: $(node v1 "hostname, identity, state")"
ok "A proven through the relay at 127.0.0.1:$PORT_fake1: node ${VICTIM:0:16}, identity 'attestor', passing"
EVENTS=$(events v1)
VE=$WORK/victim/GetEndorsement.bin
VA=$WORK/victim/GetAttestationKey.bin

# stable: what the attacks must not touch of A (its identity, claims, keys,
# binding, target) and its verdicts. A round at A's target that does not prove
# A fails it without contact ("did not prove its node": the target's absence
# of proof, not the attacker's claim), so state, reason and those rows are left out.
stable() {
	local db=$WORK/v1/verifier.db
	db_rows "$db" "SELECT id, ek_hash, ek_pub, ek_cert, hostname, ak_pub, ak_name, identity, name, target
		FROM nodes ORDER BY id"
	db_rows "$db" "SELECT * FROM attestations WHERE reason NOT LIKE 'target % did not prove its node%' ORDER BY id"
	db_rows "$db" "SELECT count(*) FROM secret_deliveries"
}
STABLE=$(stable)
# unchanged NAME [MISSED]: A as before; with MISSED (an attack at A's own
# target) failed without contact, the hook told once.
unchanged() {
	[ "$(stable)" = "$STABLE" ] || fail "$1 changed the database: $(diff <(echo "$STABLE") <(stable))"
	if [ -n "${2:-}" ]; then
		[ "$(node v1 "state || '|' || (reason LIKE 'target % did not prove its node%')")" = "failed|1" ] ||
			fail "$1: A is not failed without contact: $(node v1 "state, reason")"
		[ "$(events v1)" = $((EVENTS + 1)) ] || fail "$1: hook events $(events v1), want $((EVENTS + 1))"
	else
		[ "$(events v1)" = "$EVENTS" ] || fail "$1 fired the hook: $(tail -n 1 "$WORK/v1.events")"
	fi
}
n=0
for case in \
	"forged-quote|{\"endorsement\": \"$VE\", \"ak\": \"$VA\", \"quote\": \"forge\", \"hostname\": \"rogue-renamed\"}|^FAIL quote: signature verification failed: ECDSA signature does not verify" \
	"replayed-quote|{\"endorsement\": \"$VE\", \"ak\": \"$VA\", \"quote\": \"$WORK/victim/Quote.bin\", \"hostname\": \"rogue-renamed\"}|^FAIL quote: nonce mismatch" \
	"own-ak|{\"endorsement\": \"$VE\", \"ak\": \"software\", \"activate\": \"forge\", \"hostname\": \"rogue-renamed\"}|^FAIL activation: credential activation failed"; do
	IFS='|' read -r name ctl pattern <<<"$case"
	control fake1 "$ctl"
	refused "$name" "$WORK/v1.conf" "$PORT_fake1" "$pattern"
	unchanged "$name" missed
	n=$((n + 1))
	[ "$(rejected v1 attestor)" = "$n" ] || fail "$name: rejected attempts of 'attestor': $(rejected v1 attestor), want $n"
	ok "item 1, stolen TLS key without the TPM, $name: $(grep -m1 '^FAIL' "$WORK/$name.err"); A's keys, claims and verdicts unchanged, failed without contact, rejected attempt $n"
done
"$BUILD_DIR/verifier" rejected --config "$WORK/v1.conf" --json >"$WORK/rejected.json"
/usr/bin/python3 - "$WORK/rejected.json" "$VICTIM" <<'PY' || fail "verifier rejected: $(cat "$WORK/rejected.json")"
import json, sys
r = [e for e in json.load(open(sys.argv[1]))["rejected"] if e["identity"] == "attestor"]
assert len(r) == 1 and r[0]["mode"] == "pull" and r[0]["count"] == 3 and r[0]["claimed_ek_hash"] == sys.argv[2], r
assert r[0]["step"] == "activation", r
PY
ok "verifier rejected: 3 attempts of 'attestor' (pull), the last at activation, presenting A's EK"

# --- another identity presenting A's EK: its own TPM B behind it, or A's whole.
fake fake2 attestor2 "$PORT_att_b"
fake fake3 attestor2 "$PORT_att_a"
control fake2 "{\"endorsement\": \"$VE\", \"hostname\": \"rogue-b\"}"
for f in fake2 fake3; do
	eval "port=\$PORT_$f"
	refused "bind-$f" "$WORK/v1.conf" "$port" \
		"^FAIL endorsement: peer not allowed for this node (its TLS identity or pull target): this TPM's node is bound to another TLS identity"
	unchanged "bind-$f" missed
done
[ "$(rejected v1 attestor2)" = 2 ] || fail "rejected attempts of 'attestor2': $(rejected v1 attestor2), want 2"
ok "item 1, binding: 'attestor2' with TPM B presenting A's EK, and relaying A's own TPM: refused, A's row unchanged"

# --- item 9: a delivery that fails fails the node, and the hook hears it.
vconf "$WORK/v1s.conf" v1 "targets = 127.0.0.1:$PORT_fake1" "$SECRET"
control fake1 '{"hostname": "victim-a"}'
attest secret-ok "$WORK/v1s.conf" "$PORT_fake1"
[ "$RC" -eq 0 ] && grep -q "^PASS .* secrets 1 " "$WORK/secret-ok.out" ||
	fail "secret delivery: exit $RC: $(cat "$WORK/secret-ok.out" "$WORK/secret-ok.err")"
# failed_by NAME PATTERN: A's node failed with PATTERN (its last verdict at
# the secrets or receipt step), the hook heard passing -> failed.
failed_by() {
	[ "$(node v1 state)" = failed ] && node v1 reason | grep -q -- "$2" ||
		fail "$1: node A is $(node v1 "state, reason"), want failed with '$2'"
	db_rows "$WORK/v1/verifier.db" "SELECT pass, step FROM attestations ORDER BY id DESC LIMIT 1" | grep -Eq '^0\|(secrets|receipt)$' ||
		fail "$1: the last verdict: $(db_rows "$WORK/v1/verifier.db" "SELECT pass, step, reason FROM attestations ORDER BY id DESC LIMIT 1")"
	last_event v1 | grep -q -- "^passing -> failed: .*$2" || fail "$1: the hook's last event: $(last_event v1)"
	ok "item 9, $1: $(grep -m1 '^FAIL' "$WORK/$1.err"); node failed, hook: $(last_event v1 | cut -c1-80)"
}
control fake1 '{"hostname": "victim-a", "deliver": "wrong-proof"}'
refused wrong-proof "$WORK/v1s.conf" "$PORT_fake1" "^FAIL secrets: proof of receipt does not verify"
failed_by wrong-proof "proof of receipt does not verify"
control fake1 '{"hostname": "victim-a"}'
attest secret-ok2 "$WORK/v1s.conf" "$PORT_fake1"
[ "$RC" -eq 0 ] && [ "$(node v1 state)" = passing ] || fail "passing again: exit $RC: $(cat "$WORK/secret-ok2.err")"
vconf "$WORK/v1w.conf" v1 "targets = 127.0.0.1:$PORT_fake1" "[secret wrong-pcr]
kind = aes256
key = $WORK/keys/aes.key
sha256.0 = $(printf '%064d' 0)
hosts = *"
refused wrong-pcr "$WORK/v1w.conf" "$PORT_fake1" "^FAIL secrets: the attestor refused DeliverSecrets: .*PCR policy is no longer met"
failed_by wrong-pcr "the attestor refused DeliverSecrets: .*PCR policy is no longer met"

# --- item 12, `verifier attest`: an attestor-controlled refusal is printed escaped.
EVIL=$'evil\nverdict PASS target 6.6.6.6:1 round 1 (full)\e[2J\e[31m'
control fake1 "$(/usr/bin/python3 -c 'import json, sys; print(json.dumps({"hostname": sys.argv[1], "deliver": "refuse", "refuse_message": sys.argv[1]}))' "$EVIL")"
refused evil-attest "$WORK/v1s.conf" "$PORT_fake1" "^FAIL secrets: the attestor refused DeliverSecrets: PERMISSION_DENIED: evil"
# no_raw WHAT FILE: no ESC or other control byte, no line that starts like a verdict.
no_raw() {
	if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$2"; then fail "$1: a raw control byte: $(cat -v "$2" | head -n 5)"; fi
	if grep -q '^verdict PASS target 6\.6\.6\.6' "$2"; then fail "$1: a forged line: $(grep 'verdict PASS target 6.6.6.6' "$2")"; fi
}
no_raw "verifier attest (stderr)" "$WORK/evil-attest.err"
no_raw "verifier attest (stdout)" "$WORK/evil-attest.out"
ok "item 12, verifier attest: the attestor's refusal printed escaped: $(grep -m1 '^FAIL' "$WORK/evil-attest.err" | cut -c1-120)"

# --- `verifier serve`: A through fake4 at T1, B directly at T2 (identity attestor2).
fake fake4 attestor "$PORT_att_a"
control fake4 '{"hostname": "victim-a"}'
T1=127.0.0.1:$PORT_fake4
T2=127.0.0.1:$PORT_att_b
vconf "$WORK/v2.conf" v2 "targets = $T1, $T2
reattest_interval = 1" "$SECRET"
bg serve "$BUILD_DIR/verifier" serve --config "$WORK/v2.conf"
VLOG=$WORK/serve.log
# served PATTERN N SECONDS: until the serve log has N lines matching PATTERN.
served() { wait_log "$VLOG" "$@"; }
count() { grep -c -- "$1" "$VLOG" 2>/dev/null || true; }
for t in "$T1" "$T2"; do served "verdict PASS target $t round 2 (quote)" 1 20; done
[ "$(db_rows "$WORK/v2/verifier.db" "SELECT count(*) FROM secret_deliveries")" = 2 ] ||
	fail "serve: deliveries: $(db_rows "$WORK/v2/verifier.db" "SELECT * FROM secret_deliveries")"
ROW="hostname || '|' || identity || '|' || hex(ek_pub) || '|' || hex(ak_pub)"
A_ROW=$(node v2 "$ROW")
ok "serve: A at $T1 and B at $T2 passing, a secret delivered to each"

cp "$WORK"/fake4-rec/{GetEndorsement,GetAttestationKey}.bin "$WORK/victim/"
control fake4 "{\"endorsement\": \"$VE\", \"ak\": \"$VA\", \"quote\": \"forge\", \"hostname\": \"rogue-renamed\"}"
b_passes=$(count "verdict PASS target $T2")
served "rejected attempt .* of peer 'attestor' (pull, EK claimed ${VICTIM:0:16}...): quote: signature verification failed" 1 15
# The round's failure of A is written just after its rejected attempt is logged.
for ((i = 0; i < 50; i++)); do
	[ "$(node v2 state)" = failed ] && node v2 reason | grep -q "^target $T1 did not prove its node this round: signature verification failed" && break
	sleep 0.1
done
[ "$i" -lt 50 ] || fail "serve: A after the rogue round: $(node v2 "state, reason")"
[ "$(node v2 "$ROW")" = "$A_ROW" ] || fail "serve: the rogue changed A's node: $(node v2 "$ROW") (was $A_ROW)"
served "verdict PASS target $T2" $((b_passes + 2)) 15
[ "$(db_rows "$WORK/v2/verifier.db" "SELECT state FROM nodes WHERE ek_hash != '$VICTIM'")" = passing ] || fail "serve: node B is not passing"
last_event v2 | grep -q "^passing -> failed: " || fail "serve: the hook's last event: $(last_event v2)"
[ "$(grep -c '"to":"failed"' "$WORK/v2.events")" = 1 ] || fail "serve: the hook heard A fail more than once: $(cat "$WORK/v2.events")"
[ "$(rejected v2 attestor)" -ge 1 ] || fail "serve: the rogue's rounds were not counted as rejected attempts"
ok "item 1, serve: the rogue at $T1 refused; A failed only as documented ($(node v2 reason | cut -c1-70)...), hostname, identity, EK, AK kept; B kept passing"

# --- item 12: hostname and refusal message with a newline, a forged verdict line, ANSI escapes.
control fake4 "$(/usr/bin/python3 -c 'import json, sys; print(json.dumps({"hostname": sys.argv[1], "deliver": "refuse", "refuse_message": sys.argv[1]}))' "$EVIL")"
served "verdict FAIL target $T1 round [0-9]*: secrets: the attestor refused DeliverSecrets: PERMISSION_DENIED: evil" 1 15
no_raw "the verifier's log" "$VLOG"
"$BUILD_DIR/verifier" list --config "$WORK/v2.conf" >"$WORK/list.out" || true
"$BUILD_DIR/verifier" status --config "$WORK/v2.conf" "${VICTIM:0:16}" >"$WORK/status.out" || true
"$BUILD_DIR/verifier" list --config "$WORK/v2.conf" --json >"$WORK/list.json" || true
"$BUILD_DIR/verifier" status --config "$WORK/v2.conf" --json "${VICTIM:0:16}" >"$WORK/status.json" || true
for f in list.out status.out list.json status.json; do no_raw "verifier ${f%.*} (${f#*.})" "$WORK/$f"; done
grep -q '^hostname  evil\\x0averdict\\x20PASS' "$WORK/status.out" || fail "status: the hostname is not shown escaped: $(cat "$WORK/status.out")"
/usr/bin/python3 - "$WORK/list.json" "$WORK/status.json" "$VICTIM" <<'PY' || fail "--json: $(cat "$WORK/list.json" "$WORK/status.json")"
import json, sys
nodes = json.load(open(sys.argv[1]))["nodes"]
a = [n for n in nodes if n["ek_hash"] == sys.argv[3]][0]
s = json.load(open(sys.argv[2]))
for n in (a, s):
    assert n["hostname"].startswith("evil\\x0averdict\\x20PASS"), n["hostname"]
    assert n["state"] == "failed" and "PERMISSION_DENIED: evil" in n["reason"], n
PY
ok "item 12, serve: hostname and refusal shown escaped in the log, list and status; --json valid: $(grep '^hostname' "$WORK/status.out")"

# --- item 16: a PCR extended under the running serve fails A; no further secret.
control fake4 '{"hostname": "victim-a"}'
fulls=$(count "verdict PASS target $T1 round .* (full)")
served "verdict PASS target $T1 round .* (full)" $((fulls + 1)) 15
delivered=$(db_rows "$WORK/v2/verifier.db" "SELECT count(*) FROM secret_deliveries s JOIN nodes n ON n.id = s.node_id WHERE n.ek_hash = '$VICTIM'")
TPM2TOOLS_TCTI=${TCTIS[a]} tpm2_pcrextend "1:sha256=$(printf 'rootkit' | sha256sum | cut -d' ' -f1)" >/dev/null
served "verdict FAIL target $T1 round [0-9]*: quote: .*PCR 1 bank sha256 differs from the policy" 3 20
[ "$(db_rows "$WORK/v2/verifier.db" "SELECT count(*) FROM secret_deliveries s JOIN nodes n ON n.id = s.node_id WHERE n.ek_hash = '$VICTIM'")" = "$delivered" ] ||
	fail "serve: a secret was delivered to A after its PCR changed"
[ "$(node v2 state)" = failed ] && node v2 reason | grep -q "PCR 1 bank sha256 differs" || fail "serve: A after the PCR change: $(node v2 "state, reason")"
last_event v2 | grep -q "^passing -> failed: .*PCR 1 bank sha256" || fail "serve: the hook's last event: $(last_event v2)"
ok "item 16, serve: PCR 1 extended under it: A failed ($(node v2 reason | cut -c1-60)), $delivered deliveries before, none after 3 rounds"

#!/bin/bash
# A peer certificate refused by this side's own TLS checks is a configuration
# error (exit 2, the message says what to change), not a transport failure
# retried forever (issue #14), and `attestor --once --wait S` gives up after
# S seconds even when the verifier never answers:
#  - push, --once: server_name the verifier's certificate does not carry;
#    a CA file that did not sign it; a verifier without TLS: exit 2 at once
#  - push, the service (no --once): the same refusal is retried at error
#    level, never an exit (whoever answers at the address chooses what it
#    presents: a plaintext listener there at boot is waited out)
#  - pull, `verifier attest`: a server_name the attestor's certificate does
#    not carry: exit 2, "FAIL configuration"
#  - --once --wait 3 at a port that accepts TCP and never speaks: exit 1
#    within the wait, where one call alone may take timeout_ms (30 s)
#  - --once --wait 0: one try, no retry
#  - --once --wait 20 at a verifier that comes up 2 s later: passes
# Nothing is recorded for the node by a refused or unanswered exchange.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend openssl bc
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

swtpm_start tpm
pcr_extend_some
pki_make "$WORK/pki"
P=$WORK/pki
bash "$SOURCE_DIR/certs/mkpki.sh" "$WORK/other" >/dev/null
vport=$(free_port)
verifier_conf "$WORK/verifier.conf" "mode = push
listen = 127.0.0.1:$vport
ek_roots = $EK_ROOTS
state_dir = $WORK/vstate"
mkdir -p "$WORK/vstate"
bg verifier "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
wait_port "$vport"

# attestor_once NAME ADDRESS WAIT [CONF_SED]: --once --wait WAIT at ADDRESS
# with attestor_conf's config, edited by CONF_SED; sets RC, SECS (elapsed).
attestor_once() {
	local t0
	attestor_conf "$WORK/$1.conf" push "$2" "$WORK/state"
	[ -n "${4:-}" ] && sed -i "$4" "$WORK/$1.conf"
	t0=$(date +%s.%N)
	RC=0
	timeout 60 "$BUILD_DIR/attestor" --config "$WORK/$1.conf" --once --wait "$3" \
		>"$WORK/$1.out" 2>"$WORK/$1.err" || RC=$?
	SECS=$(echo "$(date +%s.%N) - $t0" | bc)
}
# refused NAME WANT: exit 2 within 10 s, stderr names WANT, and no retry.
refused() {
	[ "$RC" -eq 2 ] && grep -q "^FAIL configuration: .*$2" "$WORK/$1.err" ||
		fail "$1: exit $RC, want 2 with '$2': $(cat "$WORK/$1.err")"
	[ "$(echo "$SECS < 10" | bc)" = 1 ] || fail "$1: took $SECS s"
	! grep -q "retrying in" "$WORK/$1.err" || fail "$1: retried a configuration error"
	ok "$1: exit 2 after $SECS s: $(grep '^FAIL' "$WORK/$1.err")"
}
# Every verdict the verifier recorded, and every exchange it rejected.
records() { db_rows "$WORK/vstate/verifier.db" "SELECT (SELECT count(*) FROM attestations), (SELECT count(*) FROM rejected)"; }

# The controls first: the right name passes, so the refusals below are the
# setting's doing.
attestor_once good "127.0.0.1:$vport" 30
[ "$RC" -eq 0 ] || fail "control: exit $RC: $(cat "$WORK/good.err")"
ok "control: server_name = verifier passes"
before=$(records)

attestor_once wrong-name "127.0.0.1:$vport" 30 's/^server_name = .*/server_name = verifier.example.org/'
refused wrong-name "the verifier's certificate does not carry the name 'verifier.example.org'"
attestor_once wrong-ca "127.0.0.1:$vport" 30 "s|^ca = .*|ca = $WORK/other/ca.pem|"
refused wrong-ca "certificate is not signed by the CA in $WORK/other/ca.pem"
[ "$(records)" = "$before" ] || fail "a refused exchange was recorded: $before, then $(records)"

# A verifier without TLS.
pport=$(free_port)
cat >"$WORK/plain.conf" <<CONF
[verifier]
mode = push
listen = 127.0.0.1:$pport
ek_roots = $EK_ROOTS
[tls]
insecure = true
[policy]
$PCR_REF
CONF
bg plain "$BUILD_DIR/verifier" serve --config "$WORK/plain.conf"
wait_port "$pport"
attestor_once no-tls "127.0.0.1:$pport" 30
refused no-tls "does not speak TLS"

# The service never stops on a refusal: whatever answers at the verifier's
# address presents the certificate, and an exit the units do not restart
# into (2) would hand anyone there at boot a permanent stop. A wrong
# server_name is retried, said at error level with what to change.
attestor_conf "$WORK/svc.conf" push "127.0.0.1:$vport" "$WORK/state"
sed -i 's/^server_name = .*/server_name = verifier.example.org/' "$WORK/svc.conf"
bg svc "$BUILD_DIR/attestor" --config "$WORK/svc.conf"
SVC=$BG_PID
wait_log "$WORK/svc.log" "error .*does not carry the name 'verifier.example.org'.*check \[tls\].*retrying in" 3 20
kill -0 "$SVC" 2>/dev/null || fail "service stopped on a refused certificate: $(tail -n 3 "$WORK/svc.log")"
kill "$SVC"
ok "service: a refused certificate is retried at error level: $(grep -m1 'does not carry' "$WORK/svc.log" | cut -c1-150)"

# Attack: at boot, something without TLS (or with any certificate) answers
# at the verifier's address first. The service waits it out and attests
# once the verifier is there.
bport=$(free_port)
sed "s/^listen = .*/listen = 127.0.0.1:$bport/" "$WORK/plain.conf" >"$WORK/boot-plain.conf"
bg boot-plain "$BUILD_DIR/verifier" serve --config "$WORK/boot-plain.conf"
BP=$BG_PID
wait_port "$bport"
attestor_conf "$WORK/boot.conf" push "127.0.0.1:$bport" "$WORK/state"
bg boot "$BUILD_DIR/attestor" --config "$WORK/boot.conf"
BOOT=$BG_PID
wait_log "$WORK/boot.log" "error .*does not speak TLS.*retrying in" 2 20
kill "$BP"; wait "$BP" 2>/dev/null || true
verifier_conf "$WORK/boot-real.conf" "mode = push
listen = 127.0.0.1:$bport
ek_roots = $EK_ROOTS"
bg boot-real "$BUILD_DIR/verifier" serve --config "$WORK/boot-real.conf"
wait_log "$WORK/boot.log" "attestation PASS" 1 30
kill -0 "$BOOT" 2>/dev/null || fail "the service stopped"
kill "$BOOT"
ok "a plaintext listener at the verifier's address at boot: retried, then the verifier reached and passed"

# Pull: the verifier refuses the attestor's certificate by name.
pull_tpm pulled
verifier_conf "$WORK/pull.conf" "mode = pull
targets = $TPM_ADDR
ek_roots = $WORK/roots
timeout_ms = 5000"
RC=0
"$BUILD_DIR/verifier" attest --config "$WORK/pull.conf" "$TPM_ADDR" >/dev/null 2>"$WORK/pull-good.err" || RC=$?
[ "$RC" -eq 0 ] || fail "pull control: exit $RC: $(cat "$WORK/pull-good.err")"
sed -i "/^\[tls\]$/a server_name = attestor.example.org" "$WORK/pull.conf"
RC=0
timeout 30 "$BUILD_DIR/verifier" attest --config "$WORK/pull.conf" "$TPM_ADDR" >/dev/null 2>"$WORK/pull.err" || RC=$?
[ "$RC" -eq 2 ] && grep -q "^FAIL configuration: .*the attestor's certificate does not carry the name 'attestor.example.org'" \
	"$WORK/pull.err" || fail "pull: exit $RC, want 2: $(cat "$WORK/pull.err")"
ok "pull: exit 2: $(cat "$WORK/pull.err")"

# --wait is honoured: a port that completes TCP and never answers (a hung
# host, a firewall's tarpit). The call's own timeout_ms is 30 s.
sport=$(free_port)
bg silent python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $sport)); s.listen(16)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
"
wait_port "$sport"
attestor_once silent "127.0.0.1:$sport" 3
[ "$RC" -eq 1 ] && grep -q "^FAIL transport" "$WORK/silent.err" || fail "silent: exit $RC: $(cat "$WORK/silent.err")"
[ "$(echo "$SECS >= 2.9 && $SECS < 6" | bc)" = 1 ] || fail "--wait 3 at a silent port took $SECS s"
ok "--once --wait 3 at a silent port: exit 1 after $SECS s"

# --wait 0: one try.
dport=$(free_port)
attestor_once once "127.0.0.1:$dport" 0
[ "$RC" -eq 1 ] && grep -q "^FAIL transport" "$WORK/once.err" || fail "--wait 0: exit $RC: $(cat "$WORK/once.err")"
! grep -q "retrying in" "$WORK/once.err" || fail "--wait 0 retried"
ok "--once --wait 0 at a closed port: one try, exit 1 after $SECS s"

# And within the wait, a verifier that comes up late is still reached.
lport=$(free_port)
verifier_conf "$WORK/late-verifier.conf" "mode = push
listen = 127.0.0.1:$lport
ek_roots = $EK_ROOTS"
(sleep 2; exec "$BUILD_DIR/verifier" serve --config "$WORK/late-verifier.conf") >"$WORK/late.log" 2>&1 &
_PIDS+=("$!")
attestor_once late "127.0.0.1:$lport" 20
[ "$RC" -eq 0 ] && grep -q "retrying in" "$WORK/late.err" || fail "late verifier: exit $RC: $(cat "$WORK/late.err")"
ok "--once --wait 20: passed once the verifier came up, after $SECS s"

# Attack: a server holding a valid verifier certificate answers with the
# words of a TLS refusal. Its answer is not our refusal: retried until the
# wait runs out (exit 1), never the configuration stop (exit 2) that would
# keep a unit down for good.
for lie in "Peer name verifier is not in peer certificate" "certificate verify failed" "wrong version number"; do
	bg liar /usr/bin/python3 "$SOURCE_DIR/tests/integration/lying_verifier.py" --ca "$P/ca.pem" \
		--cert "$P/verifier.pem" --key "$P/verifier.key" --message "$lie"
	LIAR=$BG_PID
	lport=$(log_port "$WORK/liar.log")
	attestor_once lied "127.0.0.1:$lport" 2
	kill "$LIAR"
	[ "$RC" -eq 1 ] && grep -q "^FAIL transport" "$WORK/lied.err" && grep -q "retrying in" "$WORK/lied.err" ||
		fail "a verifier answering '$lie': exit $RC, want 1 after retries: $(cat "$WORK/lied.err")"
	# ... and reported as what the verifier said, not as our refusal.
	! grep -q "check \[tls\]" "$WORK/lied.err" && grep -q "UNAVAILABLE: $lie" "$WORK/lied.err" ||
		fail "a verifier answering '$lie' was taken for our own refusal: $(tail -n 2 "$WORK/lied.err")"
	ok "a verifier answering '$lie' is retried: exit 1 after $SECS s"
done

# A refusal after this run already reached the verifier: the certificate on
# the other end changed (a rotation, or someone on the path holding a fleet
# certificate). The service says so at error level and keeps retrying,
# and attests again once the verifier's own certificate is back.
rport=$(free_port)
verifier_conf "$WORK/rot.conf" "mode = push
listen = 127.0.0.1:$rport
ek_roots = $EK_ROOTS
reattest_interval = 1
state_dir = $WORK/rstate"
mkdir -p "$WORK/rstate"
sed "s|$P/verifier\.|$P/attestor.|g" "$WORK/rot.conf" >"$WORK/rot-other.conf"
bg rot-v "$BUILD_DIR/verifier" serve --config "$WORK/rot.conf"
RV=$BG_PID
wait_port "$rport"
attestor_conf "$WORK/rot-att.conf" push "127.0.0.1:$rport" "$WORK/state"
bg rot-att "$BUILD_DIR/attestor" --config "$WORK/rot-att.conf"
RA=$BG_PID
wait_log "$WORK/rot-att.log" "attestation PASS" 1 20
kill "$RV"; wait "$RV" 2>/dev/null || true
bg rot-other "$BUILD_DIR/verifier" serve --config "$WORK/rot-other.conf"
RO=$BG_PID
wait_port "$rport"
wait_log "$WORK/rot-att.log" "error .*does not carry the name 'verifier'.*retrying in" 3 20
kill -0 "$RA" 2>/dev/null || fail "the service stopped on a certificate that changed after it had passed: $(tail -n 3 "$WORK/rot-att.log")"
ok "a changed certificate after a pass: retried at error level: $(grep -m1 'does not carry' "$WORK/rot-att.log" | cut -c1-160)"
kill "$RO"; wait "$RO" 2>/dev/null || true
passes=$(grep -c "attestation PASS" "$WORK/rot-att.log")
bg rot-v2 "$BUILD_DIR/verifier" serve --config "$WORK/rot.conf"
wait_log "$WORK/rot-att.log" "attestation PASS" $((passes + 1)) 20
ok "the verifier's certificate back: the service attests again"

#!/bin/bash
# Attack #7 of issue #12 ("proof before state"): pre-computed quotes for the
# one-call re-attestation. A passing verdict hands out the node's next quote
# request; root on the host answers it with a quote that is not fresh:
#  (a) TPM A's clock moved an hour forward (tpm2_setclock; swtpm's owner auth
#      is empty) before it quotes the pre-issued nonce: the TPM clock ran
#      ahead of the verifier's, so the answer is a fresh quote request, not a
#      verdict; the fresh quote passes;
#  (b) TPM B quotes the pre-issued nonce 17 s after the request and sends it
#      3 s later (nonce_ttl 2): the quote may be 3 s old, more than nonce_ttl
#      (the 15% slack of the wait that let it pass before is gone): a fresh
#      quote request, then PASS.
# Driven by Python grpcio (trust_attacker.py) relaying pull attestors; (b)
# runs in the background while (a) runs.
. "$SOURCE_DIR/tests/integration/lib.sh"
need tpm2_readclock tpm2_setclock
. "$SOURCE_DIR/tests/integration/trust.sh"
cat >"$WORK/verifier.conf" <<CONF
[verifier]
mode = push
listen = 127.0.0.1:0
ek_roots = $WORK/roots
state_dir = $WORK/vstate
nonce_ttl = 2
log_level = info
$(tls_conf verifier)
[policy]
$PCR_REF
CONF
VLOG=$WORK/verifier.log
bg verifier "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
VADDR=127.0.0.1:$(log_port "$VLOG")

# (b) in the background: 17 + 3 s of waiting.
bg stale att --tpm "$TB" --as attestor2 stale --before 17 --after 3
STALE_PID=$BG_PID

# (a)
out=$(att --tpm "$TA" pass --save "$WORK/a.next") || fail "TPM A's first exchange"
ok "(a) TPM A passes, its next quote request kept: $out"
clock=$(tpm2_readclock | awk '$1 == "clock:" { print $2 }')
[ -n "$clock" ] || fail "tpm2_readclock: no clock"
tpm2_setclock $((clock + 3600000)) || fail "tpm2_setclock"
out=$(att --tpm "$TA" answer --load "$WORK/a.next" --requote) ||
	fail "a quote for the pre-issued nonce after the TPM clock moved an hour forward"
ok "(a) TPM clock +1 h, the pre-issued nonce quoted and sent at once: $out"
grep -q "TPM clock of EK .* ran [0-9]* ms ahead of the verifier's" "$VLOG" ||
	fail "the verifier did not log the clock running ahead: $(grep -i clock "$VLOG")"
ok "(a) the verifier's log: $(grep -o "TPM clock of EK .* ran [0-9]* ms ahead[^(]*" "$VLOG" | head -n 1)"

# (b)
wait "$STALE_PID" || fail "(b) a stale quote for a pre-issued nonce: $(cat "$WORK/stale.log")"
ok "(b) $(cat "$WORK/stale.log")"
grep -q "the quote for the pre-issued nonce may have been made [0-9]* ms before it came .* more than nonce_ttl" \
	"$VLOG" || fail "the verifier did not log the quote's age: $(grep -i "pre-issued" "$VLOG")"
ok "(b) the verifier's log: $(grep -o "the quote for the pre-issued nonce may have been made [0-9]* ms[^(]*" "$VLOG")"

# Neither answer was a verdict: every verdict recorded passed, 2 per TPM.
[ "$(db_rows "$WORK/vstate/verifier.db" "SELECT count(*), sum(pass) FROM attestations")" = "4|4" ] ||
	fail "verdicts: $(db_rows "$WORK/vstate/verifier.db" "SELECT node_id, pass, step, reason FROM attestations")"
ok "4 verdicts recorded, all passing: the stale answers were asked again, not judged"

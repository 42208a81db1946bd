#!/bin/bash
# Push mode as a boot service: the attestor starts first and waits (backoff)
# for a verifier that comes up 2 s later; the first attestation passes; the
# attestor comes back every reattest_interval the verdict names; after a TPM
# reset (swtpm restarted on its state: a power cycle) it attests with a new AK;
# SIGTERM stops it cleanly.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend openssl
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

swtpm_start tpm
pcr_extend_some
pki_make "$WORK/pki"
P=$WORK/pki
vport=$(free_port)
mkdir -p "$WORK/state"
# The attestor retries every 100-500 ms until the verifier is up.
attestor_conf "$WORK/attestor.conf" push "127.0.0.1:$vport" "$WORK/state" "reattest_interval = 60"
cat >"$WORK/verifier.conf" <<CONF
[verifier]
; swtpm restarts below: a reference that holds across its reboots
pcrs = $REBOOT_PCRS
mode = push
listen = 127.0.0.1:$vport
ek_roots = $EK_ROOTS
reattest_interval = 2
log_level = info
$(tls_conf verifier)
[policy]
$REBOOT_REF
CONF

bg attestor "$BUILD_DIR/attestor" --config "$WORK/attestor.conf"
APID=$BG_PID
sleep 2
wait_log "$WORK/attestor.log" "retrying in" 2 5
ok "attestor waits for the verifier: $(grep -m1 'retrying in' "$WORK/attestor.log")"
bg verifier "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
wait_log "$WORK/verifier.log" "verdict PASS" 1 20
ok "push on boot: the first attestation passed once the verifier came up"
wait_log "$WORK/attestor.log" "attestation PASS .*next in 2 s" 1 5
ok "the attestor follows the verifier's reattest_interval"
wait_log "$WORK/verifier.log" "verdict PASS" 2 10
ok "re-attested on the interval"

# Power cycle: the saved EK/AK contexts die with the TPM reset; resetCount changes.
ak_lines=$(grep -c "new AK" "$WORK/attestor.log" || true)
swtpm_stop
swtpm_run "$SWTPM_PORT"
passes=$(grep -c "verdict PASS" "$WORK/verifier.log")
wait_log "$WORK/attestor.log" "resetCount .* -> " 1 15
wait_log "$WORK/verifier.log" "verdict PASS" $((passes + 1)) 15
n=$(grep -c "new AK" "$WORK/attestor.log" || true)
[ "$n" -gt "${ak_lines:-0}" ] || fail "no new AK after the TPM reset: $(tail -n 20 "$WORK/attestor.log")"
ok "after a TPM reset: $(grep -m1 'resetCount .* -> ' "$WORK/attestor.log" | sed 's/.*push: //')"
ok "new AK made and activated: $(grep 'verdict PASS' "$WORK/verifier.log" | tail -n 1 | sed 's/.*verdict/verdict/')"

kill -TERM "$APID"
for ((i = 0; i < 50; i++)); do kill -0 "$APID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$APID" 2>/dev/null && fail "attestor still running 5 s after SIGTERM"
rc=0; wait "$APID" || rc=$?
[ "$rc" -eq 0 ] || fail "attestor exited $rc after SIGTERM"
ok "SIGTERM: the attestor stops cleanly"

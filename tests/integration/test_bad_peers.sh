#!/bin/bash
# One bad peer must not stop the others. A verifier in push mode and an
# attestor in pull mode (kept attested by `verifier serve` in pull mode) are
# attacked at once, while the real attestor and verifier re-attest every second:
#  (a) TCP connections that connect and send nothing;
#  (b) TLS connections (openssl s_client, a valid client certificate, ALPN h2)
#      that complete the handshake and then stall;
#  (c) gRPC calls with valid mTLS: garbage bytes as each method's request,
#      no request at all, a request over 4 MiB, unknown methods, a Hello with a
#      bogus endorsement: each gets its own status and message (bad_peer.py);
#  (d) gRPC calls whose headers go out but whose request never does (no
#      message, no half-close): each server cancels them at its stall limit.
# The real nodes keep passing throughout (at most one round short of what
# their own pace before the attack predicts), no real verdict fails, both
# servers' fd counts return to their baselines and both stay up.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup openssl
PY=/usr/bin/python3
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"
BAD=("$PY" "$SOURCE_DIR/tests/integration/bad_peer.py")
# The servers cancel a call whose request does not come after 5 s
# (common/rpc/rpc_server.c; swept once a second).
STALL_S=5

pki_make "$WORK/pki"
P=$WORK/pki
py_stubs "$WORK/stubs"

# The push pair: verifier V, attestor on TPM "tpmpush".
swtpm_start tpmpush
mkdir -p "$WORK/apush" "$WORK/roots"
cp "$EK_ROOTS"/*.pem "$WORK/roots/"
cat >"$WORK/verifier-push.conf" <<CONF
[verifier]
mode = push
listen = 127.0.0.1:0
ek_roots = $EK_ROOTS
reattest_interval = 1
state_dir = $WORK/vpush
; debug: the per-call status line runs for every bad call too
log_level = debug
$(tls_conf verifier)
[policy]
$PCR_REF
CONF
bg verifier-push "$BUILD_DIR/verifier" serve --config "$WORK/verifier-push.conf"
VPID=$BG_PID
vport=$(log_port "$WORK/verifier-push.log")
attestor_conf "$WORK/apush/attestor.conf" push "127.0.0.1:$vport" "$WORK/apush" "reattest_interval = 1"
bg attestor-push "$BUILD_DIR/attestor" --config "$WORK/apush/attestor.conf"

# The pull pair: attestor on TPM "tpmpull" serving, `verifier serve` pulling.
swtpm_start tpmpull
mkdir -p "$WORK/apull"
attestor_conf "$WORK/apull/attestor.conf" pull 127.0.0.1:0 "$WORK/apull"
bg attestor-pull "$BUILD_DIR/attestor" --config "$WORK/apull/attestor.conf"
APID=$BG_PID
aport=$(log_port "$WORK/attestor-pull.log")
cat >"$WORK/verifier-pull.conf" <<CONF
[verifier]
mode = pull
targets = 127.0.0.1:$aport
reattest_interval = 1
ek_roots = $EK_ROOTS
state_dir = $WORK/vpull
log_level = info
$(tls_conf verifier)
[policy]
$PCR_REF
CONF
bg verifier-pull "$BUILD_DIR/verifier" serve --config "$WORK/verifier-pull.conf"

PUSH_PASS="verdict PASS host "
PULL_PASS="verdict PASS target 127.0.0.1:$aport "
count() { grep -c -- "$2" "$WORK/$1.log" 2>/dev/null || true; }
# wait_count LOG PATTERN N SECONDS
wait_count() {
	local i n=0
	for ((i = 0; i < $4 * 20; i++)); do
		n=$(count "$1" "$2")
		[ "${n:-0}" -ge "$3" ] && return 0
		sleep 0.05
	done
	fail "$1: $3 x '$2' not seen within $4 s (saw ${n:-0})"
}
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# pace LOG PATTERN: mean ms between the last 5 matching log lines (their timestamps).
pace() {
	grep -a -- "$2" "$WORK/$1.log" | tail -n 5 | awk '{
		split($1, t, "[:.]"); ms = ((t[1] * 60 + t[2]) * 60 + t[3]) * 1000 + t[4]
		if (NR > 1) { d = ms - last; if (d < 0) d += 86400000; sum += d }
		last = ms } END { printf "%d\n", sum / (NR - 1) }'
}
# The pace before the attack, over 4 rounds of each pair.
wait_count verifier-push "$PUSH_PASS" 5 40
wait_count verifier-pull "$PULL_PASS" 5 40
push_ms=$(pace verifier-push "$PUSH_PASS")
pull_ms=$(pace verifier-pull "$PULL_PASS")
vfd0=$(fds "$VPID")
afd0=$(fds "$APID")
ok "before the attack: push verdict every ${push_ms} ms, pull every ${pull_ms} ms; fds verifier $vfd0, attestor $afd0"

# ---- the attack, on both servers at once
t0=$(now_ms)
push0=$(count verifier-push "$PUSH_PASS")
pull0=$(count verifier-pull "$PULL_PASS")
# (d) first: it lasts the longest (the stall limit).
bg stall-v "${BAD[@]}" stall --target "127.0.0.1:$vport" --pki "$P" --service verifier --count 8 \
	--min $((STALL_S - 1)) --limit $((STALL_S + 8))
STALLV=$BG_PID
bg stall-a "${BAD[@]}" stall --target "127.0.0.1:$aport" --pki "$P" --service attestor --count 4 \
	--min $((STALL_S - 1)) --limit $((STALL_S + 8))
STALLA=$BG_PID
# (a) held until the stalled calls are over.
bg idle-v "${BAD[@]}" idle --target "127.0.0.1:$vport" --count 20 --seconds $((STALL_S + 2))
IDLEV=$BG_PID
bg idle-a "${BAD[@]}" idle --target "127.0.0.1:$aport" --count 10 --seconds $((STALL_S + 2))
IDLEA=$BG_PID
# (b) -ign_eof: s_client keeps the connection when its stdin (/dev/null) ends.
tls_pids=()
for ((i = 1; i <= 10; i++)); do
	bg "tls-v$i" openssl s_client -connect "127.0.0.1:$vport" -alpn h2 -CAfile "$P/ca.pem" \
		-cert "$P/attestor.pem" -key "$P/attestor.key" -verify_return_error -ign_eof
	tls_pids+=("$BG_PID")
done
for ((i = 1; i <= 5; i++)); do
	bg "tls-a$i" openssl s_client -connect "127.0.0.1:$aport" -alpn h2 -CAfile "$P/ca.pem" \
		-cert "$P/verifier.pem" -key "$P/verifier.key" -verify_return_error -ign_eof
	tls_pids+=("$BG_PID")
done

# (c) one by one, while (a), (b) and (d) hold their connections.
"${BAD[@]}" calls --stubs "$WORK/stubs" --target "127.0.0.1:$vport" --pki "$P" --service verifier \
	--bogus-needle "endorsement: malformed structure: EK public" >"$WORK/calls-v.out" 2>&1 ||
	fail "verifier: $(cat "$WORK/calls-v.out")"
"${BAD[@]}" calls --stubs "$WORK/stubs" --target "127.0.0.1:$aport" --pki "$P" --service attestor \
	>"$WORK/calls-a.out" 2>&1 || fail "attestor: $(cat "$WORK/calls-a.out")"
nv=$(grep -c '^ok ' "$WORK/calls-v.out"); na=$(grep -c '^ok ' "$WORK/calls-a.out")
# 4 methods x (4 garbage + no message) + oversized + 4 unknown + 3 Hellos; 5 methods for the attestor.
[ "$nv" -eq 28 ] || fail "verifier: $nv of 28 bad calls checked: $(cat "$WORK/calls-v.out")"
[ "$na" -eq 30 ] || fail "attestor: $na of 30 bad calls checked: $(cat "$WORK/calls-a.out")"
ok "verifier: $nv bad calls, each with its status and message, e.g. $(grep -m1 oversized "$WORK/calls-v.out")"
ok "attestor: $na bad calls, each with its status and message"

for ((i = 1; i <= 10; i++)); do wait_count "tls-v$i" "ALPN protocol: h2" 1 10; done
for ((i = 1; i <= 5; i++)); do wait_count "tls-a$i" "ALPN protocol: h2" 1 10; done
grep -L "Verify return code: 0 (ok)" "$WORK"/tls-*.log | grep -q . && fail "an s_client did not verify its server"
vfd_peak=$(fds "$VPID"); afd_peak=$(fds "$APID")
# 20 idle + 10 TLS + 8 stalled channels; 10 + 5 + 4 on the attestor.
[ "$vfd_peak" -ge $((vfd0 + 38)) ] || fail "verifier holds $vfd_peak fds during the attack (baseline $vfd0): the bad peers are not connected"
[ "$afd_peak" -ge $((afd0 + 19)) ] || fail "attestor holds $afd_peak fds during the attack (baseline $afd0): the bad peers are not connected"
ok "15 TLS handshakes completed (ALPN h2) and stalled; fds under attack: verifier $vfd_peak, attestor $afd_peak"

rc=0; wait "$STALLV" || rc=$?
[ "$rc" -eq 0 ] || fail "verifier stall: $(cat "$WORK/stall-v.log")"
rc=0; wait "$STALLA" || rc=$?
[ "$rc" -eq 0 ] || fail "attestor stall: $(cat "$WORK/stall-a.log")"
ok "verifier: $(tail -n 1 "$WORK/stall-v.log" | sed 's/^ok stall: //')"
ok "attestor: $(tail -n 1 "$WORK/stall-a.log" | sed 's/^ok stall: //')"
grep -q "stalled for ${STALL_S}000 ms: cancelling the call" "$WORK/verifier-push.log" ||
	fail "verifier: no stall cancellation logged"
for p in "${tls_pids[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "$IDLEV" "$IDLEA"; do wait "$p" || fail "an idle TCP peer could not connect"; done
t1=$(now_ms)
push1=$(count verifier-push "$PUSH_PASS")
pull1=$(count verifier-pull "$PULL_PASS")
# ---- the attack is over

span=$((t1 - t0))
want_push=$((span / push_ms - 1))
want_pull=$((span / pull_ms - 1))
got_push=$((push1 - push0))
got_pull=$((pull1 - pull0))
[ "$got_push" -ge "$want_push" ] ||
	fail "push: $got_push verdicts in the ${span} ms attack, want at least $want_push (one every ${push_ms} ms before)"
[ "$got_pull" -ge "$want_pull" ] ||
	fail "pull: $got_pull verdicts in the ${span} ms attack, want at least $want_pull (one every ${pull_ms} ms before)"
# Bad Hellos fail with no host; a real node's failure names its host or target.
real_fails=$(grep -c "verdict FAIL host '[^']" "$WORK/verifier-push.log" || true)
[ "$real_fails" -eq 0 ] || fail "push: $real_fails failing verdicts of the real attestor"
[ "$(count verifier-pull "verdict FAIL")" -eq 0 ] || fail "pull: failing verdicts: $(grep "verdict FAIL" "$WORK/verifier-pull.log")"
ok "during the ${span} ms attack: push $got_push passing verdicts (want >= $want_push), pull $got_pull (want >= $want_pull), no real one failing"

# fd counts back to their baselines once the bad peers are gone.
for ((i = 0; i < 200; i++)); do
	vfd=$(fds "$VPID"); afd=$(fds "$APID")
	[ "$vfd" -le "$vfd0" ] && [ "$afd" -le "$afd0" ] && break
	sleep 0.05
done
[ "$vfd" -le "$vfd0" ] || fail "verifier: $vfd fds 10 s after the bad peers left, baseline $vfd0: $(ls -l "/proc/$VPID/fd")"
[ "$afd" -le "$afd0" ] || fail "attestor: $afd fds 10 s after the bad peers left, baseline $afd0: $(ls -l "/proc/$APID/fd")"
ok "fds back to baseline: verifier $vfd (was $vfd0, $vfd_peak under attack), attestor $afd (was $afd0, $afd_peak)"

# Both servers alive and still serving.
kill -0 "$VPID" 2>/dev/null || fail "the push verifier died"
kill -0 "$APID" 2>/dev/null || fail "the pull attestor died"
wait_count verifier-push "$PUSH_PASS" $((push1 + 2)) 10
wait_count verifier-pull "$PULL_PASS" $((pull1 + 2)) 10
"$BUILD_DIR/verifier" list --config "$WORK/verifier-push.conf" >"$WORK/list.out" || fail "verifier list"
grep -q "^1 nodes: 1 passing, 0 failed" "$WORK/list.out" || fail "verifier list: $(cat "$WORK/list.out")"
ok "both servers alive and serving after the attack; the push database holds the one real node, passing"

#!/bin/bash
# Push mode under load: 20 attestors, each with its own swtpm, push to one
# verifier at once; every one passes and the verifier records exactly 20
# passing verdicts (and no failing one), in its log and in its database.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup openssl
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"
N=${PUSH_LOAD_N:-20}

pki_make "$WORK/pki"
P=$WORK/pki
mkdir -p "$WORK/roots"
for ((i = 1; i <= N; i++)); do
	swtpm_start "tpm$i"
	mkdir -p "$WORK/a$i"
	attestor_conf "$WORK/a$i/attestor.conf" push 127.0.0.1:VPORT "$WORK/a$i"
done
# Every swtpm has its own local CA: trust them all.
for ((i = 1; i <= N; i++)); do
	cp "$WORK/tpm$i/ek-roots/swtpm-localca-rootca-cert.pem" "$WORK/roots/root$i.pem"
	cp "$WORK/tpm$i/ek-roots/issuercert.pem" "$WORK/roots/issuer$i.pem"
done
cat >"$WORK/verifier.conf" <<CONF
[verifier]
mode = push
listen = 127.0.0.1:0
ek_roots = $WORK/roots
max_sessions = 64
state_dir = $WORK/vstate
log_level = info
$(tls_conf verifier)
[policy]
$PCR_REF
CONF
bg verifier "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
vport=$(log_port "$WORK/verifier.log")
sed -i "s|^verifier = 127.0.0.1:VPORT$|verifier = 127.0.0.1:$vport|" "$WORK"/a*/attestor.conf

start=$(date +%s%N)
pids=()
for ((i = 1; i <= N; i++)); do
	"$BUILD_DIR/attestor" --config "$WORK/a$i/attestor.conf" --once --wait 60 \
		>"$WORK/a$i/out" 2>"$WORK/a$i/err" &
	pids+=("$!")
done
failed=0
for ((i = 1; i <= N; i++)); do
	rc=0; wait "${pids[$((i - 1))]}" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "attestor $i: exit $rc: $(cat "$WORK/a$i/out" "$WORK/a$i/err")" >&2
		failed=$((failed + 1))
	fi
done
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$failed" -eq 0 ] || fail "$failed of $N attestors did not pass"
passes=$(grep -c "verdict PASS" "$WORK/verifier.log" || true)
fails=$(grep -c "verdict FAIL" "$WORK/verifier.log" || true)
[ "$passes" -eq "$N" ] || fail "verifier recorded $passes passing verdicts, want $N"
[ "$fails" -eq 0 ] || fail "verifier recorded $fails failing verdicts"
# The durable record agrees: N distinct TPMs, each passing once.
"$BUILD_DIR/verifier" list --config "$WORK/verifier.conf" >"$WORK/list.out" || fail "verifier list"
grep -q "^$N nodes: $N passing, 0 failed; verdicts recorded: $N pass, 0 fail$" "$WORK/list.out" ||
	fail "verifier list: $(tail -n 1 "$WORK/list.out")"
ok "$N attestors pushed at once: $N passing verdicts, none failing (${elapsed} ms wall, AK creation and swtpm included)"

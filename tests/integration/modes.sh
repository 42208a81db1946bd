# One attestation, run the way $MODE does it, so a test is written once and
# covers both directions. Source after lib.sh. A script with the line
#   # modes: pull push
# is registered by tests/CMakeLists.txt once per mode (MODE=pull, MODE=push).
#
#   pull: attestor serves (mode = pull); `verifier attest` drives, then exits
#   push: verifier serves (mode = push); `attestor --once` drives, then exits
#
# Both ways the driving program exits 0 on pass with a "PASS ..." line on
# stdout, 1 on a failed attestation with "FAIL <step>: <reason>" on stderr,
# 2 on a usage or configuration error. Knobs (change them between calls):
#   A_EK, A_AK        rsa | ecc (default rsa, ecc)
#   A_ROOTS           the verifier's ek_roots (default $EK_ROOTS)
#   A_VCERT, A_ACERT  certificate names in $PKI (default verifier, attestor)
#   A_VEXTRA          more [verifier] lines;  A_AEXTRA  more [attestor] lines
#   A_POLICY          [policy] lines (default: sha256 PCRs 0-7 as the TPM has them
#                     when the configurations are written, pcr_policy; A_NOREF=1: none,
#                     so the verifier has no reference);  A_VTAIL  more verifier
#                     sections ([secret NAME] ...)
#   A_WAIT            push: seconds the attestor waits for a verdict (default 20)
#   A_PCRS            the verifier's pcrs (default sha256:0-7+sha1:0-7)
#   A_EVENTLOG, A_IMALOG  files the attestor sends as its boot event log and
#                     IMA list (default none, whatever this machine has)
MODE=${MODE:-pull}
case $MODE in pull | push) ;; *) fail "MODE must be pull or push, not '$MODE'" ;; esac
PKI=${PKI:-$WORK/pki}
A_EK=rsa A_AK=ecc A_ROOTS=${EK_ROOTS:-} A_VCERT=verifier A_ACERT=attestor A_VEXTRA="" A_AEXTRA="" A_POLICY="" A_NOREF=0 A_VTAIL="" A_WAIT=20 A_PCRS=sha256:0-7+sha1:0-7 A_EVENTLOG="" A_IMALOG=""

# _mode_confs DIR PORT: the two configuration files for this mode.
_mode_confs() {
	local dir=$1 port=$2 aside vside="" atls="" policy=$A_POLICY
	if [ -z "$policy" ] && [ "$A_NOREF" != 1 ]; then policy=$(pcr_policy); fi
	if [ "$MODE" = pull ]; then
		aside="listen = 127.0.0.1:$port"
		atls="verifier_identity = verifier"
	else
		aside="verifier = 127.0.0.1:$port
retry_initial_ms = 100
retry_max_ms = 1000"
		atls="server_name = verifier"
		vside="listen = 127.0.0.1:$port"
	fi
	mkdir -p "$dir/state"
	cat >"$dir/attestor.conf" <<CONF
[attestor]
mode = $MODE
$aside
tcti = $TCTI
ak_alg = $A_AK
ek_alg = $A_EK
state_dir = $dir/state
event_log = $A_EVENTLOG
ima_log = $A_IMALOG
log_level = info
$A_AEXTRA
[tls]
ca = $PKI/ca.pem
cert = $PKI/$A_ACERT.pem
key = $PKI/$A_ACERT.key
$atls
CONF
	cat >"$dir/verifier.conf" <<CONF
[verifier]
mode = $MODE
$vside
ek_roots = $A_ROOTS
ek_alg = $A_EK
ak_alg = $A_AK
pcrs = $A_PCRS
nonce_ttl = 30
timeout_ms = 20000
state_dir = $dir/vstate
log_level = info
$A_VEXTRA
[tls]
ca = $PKI/ca.pem
cert = $PKI/$A_VCERT.pem
key = $PKI/$A_VCERT.key
[policy]
$policy
$A_VTAIL
CONF
}

# attest_once NAME: one attestation with fresh configurations in $WORK/NAME.
# Sets RC; the driver's output is in $WORK/NAME/out and $WORK/NAME/err, the
# server's log in $WORK/NAME-server.log.
attest_once() {
	local name=$1 dir=$WORK/$1 port spid
	# The server binds port 0 and logs the port it got; the client is told.
	_mode_confs "$dir" 0
	RC=0
	if [ "$MODE" = pull ]; then
		bg "$name-server" "$BUILD_DIR/attestor" --config "$dir/attestor.conf"
		spid=$BG_PID
		port=$(log_port "$WORK/$name-server.log")
		"$BUILD_DIR/verifier" attest --config "$dir/verifier.conf" "127.0.0.1:$port" \
			>"$dir/out" 2>"$dir/err" || RC=$?
	else
		bg "$name-server" "$BUILD_DIR/verifier" serve --config "$dir/verifier.conf"
		spid=$BG_PID
		port=$(log_port "$WORK/$name-server.log")
		sed -i "s|^verifier = 127.0.0.1:0$|verifier = 127.0.0.1:$port|" "$dir/attestor.conf"
		"$BUILD_DIR/attestor" --config "$dir/attestor.conf" --once --wait "$A_WAIT" \
			>"$dir/out" 2>"$dir/err" || RC=$?
	fi
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
}

# expect_pass NAME: attest_once, and it must pass.
expect_pass() {
	attest_once "$1"
	[ "$RC" -eq 0 ] || fail "$1 ($MODE): exit $RC: $(cat "$WORK/$1/out" "$WORK/$1/err")"
	grep -q "^PASS " "$WORK/$1/out" || fail "$1 ($MODE): no PASS line: $(cat "$WORK/$1/out")"
}

# expect_fail NAME EXIT PATTERN: attest_once exits EXIT and stderr matches PATTERN.
expect_fail() {
	local name=$1 want=$2 pattern=$3
	attest_once "$name"
	[ "$RC" -eq "$want" ] || fail "$name ($MODE): exit $RC, want $want: $(cat "$WORK/$name/out" "$WORK/$name/err")"
	grep -q -- "$pattern" "$WORK/$name/err" ||
		fail "$name ($MODE): stderr does not say '$pattern': $(cat "$WORK/$name/err")"
	ok "$name ($MODE): $(grep -- "$pattern" "$WORK/$name/err" | head -n 1)"
}

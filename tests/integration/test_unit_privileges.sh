#!/bin/bash
# The attestor with exactly its unit's privileges reads the kernel's
# measurement logs and its key, and nothing it should not:
#  - the user, group, supplementary groups, capabilities (ambient and
#    bounding set) and no_new_privs are read from the configured unit
#    (systemd/tpm-attestor.service.in) and given to the attestor by setpriv;
#  - its boot event log and IMA list are 0440 root:root, as securityfs has
#    them; swtpm's PCRs were extended from them (tests/tools/log_extend);
#  - its TLS key is root:tss 0640, as the unit's comment and the man page say.
# It serves in pull mode; `verifier attest` requires both logs and passes.
# The same attestor without the unit's capability fails on the logs
# (Permission denied): the capability is what makes it work. Its key at 0644,
# or root:root 0600 without the capability, a configuration its group could
# change, or a world-writable directory above its key, stops it at start
# with exit 2 and a message naming the owner and mode to give it, before it
# opens the TPM (its TCTI points at a port where nothing listens, which
# would fail otherwise). With the key right,
# that TCTI failure names the TCTI and hints at swtpm.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend setpriv getent
[ "$(id -u)" -eq 0 ] || fail "must run as root: it runs the attestor as the unit's user with setpriv"
UNIT=$BUILD_DIR/systemd/tpm-attestor.service
[ -f "$UNIT" ] || fail "$UNIT not configured"
LE=$BUILD_DIR/tests/tools/log_extend
BOOTLOG=$TESTDATA_DIR/eventlog/tpm2tools-event-gce-ubuntu-2104-log.bin
IMALIST=$TESTDATA_DIR/ima/acs-imasig.bin
[ -x "$LE" ] && [ -f "$BOOTLOG" ] && [ -f "$IMALIST" ] || fail "log_extend or test data missing"

unit_setpriv "$UNIT"
AS_UNIT=("${UNIT_SETPRIV[@]}")
# The same without any capability: the control.
NO_CAPS=(setpriv --reuid="$U_USER" --regid="$U_GROUP" --init-groups --bounding-set=-all --inh-caps=-all
	--ambient-caps=-all --no-new-privs)
[ "$U_AMBIENT" = CAP_DAC_READ_SEARCH ] || fail "unit's AmbientCapabilities='$U_AMBIENT', want CAP_DAC_READ_SEARCH"
ok "unit: User=$U_USER Group=$U_GROUP, ambient '$U_AMBIENT', bounding '$U_BOUNDING', NoNewPrivileges=$U_NNP"

swtpm_start tpm
"$LE" eventlog "$BOOTLOG" >"$WORK/boot.extends" 2>/dev/null || fail "log_extend eventlog"
extend_from "$WORK/boot.extends"
"$LE" ima-head "$IMALIST" 200 >"$WORK/ima.bin" || fail "log_extend ima-head"
"$LE" ima "$WORK/ima.bin" >"$WORK/ima.extends" || fail "log_extend ima"
extend_from "$WORK/ima.extends"

# Everything the attestor reads, as a host has it. $WORK (0700) lets the
# unit's user pass through, no more.
chmod 0711 "$WORK"
S=$WORK/securityfs
mkdir -p "$S/tpm0" "$S/ima"
cp "$BOOTLOG" "$S/tpm0/binary_bios_measurements"
cp "$WORK/ima.bin" "$S/ima/binary_runtime_measurements"
chown root:root "$S"/*/binary_*
chmod 0440 "$S"/*/binary_*
chmod 0555 "$S" "$S/tpm0" "$S/ima"
pki_make "$WORK/pki"
E=$WORK/etc
mkdir -p "$E" "$WORK/state"
cp "$WORK/pki/ca.pem" "$WORK/pki/attestor.pem" "$WORK/pki/attestor.key" "$E/"
chown root:"$U_GROUP" "$E/attestor.key"
chmod 0640 "$E/attestor.key"
chown "$U_USER:$U_GROUP" "$WORK/state"
chmod 0700 "$WORK/state"
# attestor_conf_at FILE TCTI: the pull attestor's configuration, logs from $S.
attestor_conf_at() {
	cat >"$1" <<CONF
[attestor]
mode = pull
listen = 127.0.0.1:0
tcti = $2
event_log = $S/tpm0/binary_bios_measurements
ima_log = $S/ima/binary_runtime_measurements
state_dir = $WORK/state
log_level = info
[tls]
ca = $E/ca.pem
cert = $E/attestor.pem
key = $E/attestor.key
verifier_identity = verifier
CONF
	chmod 0644 "$1"
}
attestor_conf_at "$E/attestor.conf" "$TCTI"
# The logs really are closed to the unit's user without the capability.
"${NO_CAPS[@]}" cat "$S/tpm0/binary_bios_measurements" >/dev/null 2>&1 &&
	fail "$U_USER reads the 0440 root:root log without a capability: the test would prove nothing"

P=$WORK/pki
verifier_conf "$WORK/verifier.conf" "mode = pull
ek_roots = $EK_ROOTS
pcrs = sha256:0-10,14+sha1:0-10,14
require_event_log = true
require_ima = true" "$(pcr_policy)"

# run_attestor NAME SETPRIV...: the attestor as SETPRIV makes it; sets ADDR.
run_attestor() {
	local name=$1
	shift
	bg "$name" "$@" "$BUILD_DIR/attestor" --config "$E/attestor.conf"
	APID=$BG_PID
	ADDR=127.0.0.1:$(log_port "$WORK/$name.log")
	[ "$(awk '/^Uid:/ { print $2 }' "/proc/$APID/status")" = "$(id -u "$U_USER")" ] ||
		fail "$name does not run as $U_USER"
}

run_attestor attestor "${AS_UNIT[@]}"
grep -q "^CapAmb:.*0000000000000004$" "/proc/$APID/status" ||
	fail "attestor's ambient capabilities: $(grep ^Cap "/proc/$APID/status" | tr '\n' ' ')"
"$BUILD_DIR/verifier" attest --config "$WORK/verifier.conf" "$ADDR" >"$WORK/attest.out" 2>&1 ||
	fail "attestation with the unit's privileges: $(cat "$WORK/attest.out")"
grep -q "^PASS .* eventlog ok ima 200 entries" "$WORK/attest.out" ||
	fail "no pass with both logs: $(cat "$WORK/attest.out")"
ok "as $U_USER with the unit's capability: the 0440 root:root logs are read, PASS with eventlog and 200 IMA entries"
kill "$APID"
wait "$APID" 2>/dev/null || true

run_attestor attestor-nocaps "${NO_CAPS[@]}"
rc=0
"$BUILD_DIR/verifier" attest --config "$WORK/verifier.conf" "$ADDR" >"$WORK/nocaps.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "without the capability: exit $rc, want 1: $(cat "$WORK/nocaps.out")"
grep -q "binary_bios_measurements: Permission denied" "$WORK/attestor-nocaps.log" "$WORK/nocaps.out" ||
	fail "without the capability the failure does not name the log: $(cat "$WORK/nocaps.out")"
ok "control: the same user without the capability fails on the log (Permission denied)"
kill "$APID"
wait "$APID" 2>/dev/null || true

# The key rule, checked before the TPM is opened: the TCTI points at a port
# nobody listens on, so getting that far would fail on the TPM instead.
attestor_conf_at "$E/attestor.conf" "swtpm:host=127.0.0.1,port=$(free_port)"
# key_refused MODE OWNER WANT SETPRIV...: the attestor started by SETPRIV
# stops with exit 2 naming WANT.
key_refused() {
	chown "$2" "$E/attestor.key"
	chmod "$1" "$E/attestor.key"
	rc=0
	"${@:4}" "$BUILD_DIR/attestor" --config "$E/attestor.conf" >"$WORK/key.out" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || fail "key $2 $1: exit $rc, want 2: $(cat "$WORK/key.out")"
	grep -q "TLS key $E/attestor.key is $2 $1[: ].*$3.*make it root:$U_GROUP 0640" "$WORK/key.out" ||
		fail "key $2 $1: $(cat "$WORK/key.out")"
	if grep -qi "tcti\|tpm" "$WORK/key.out"; then fail "key $2 $1: the TPM was opened: $(cat "$WORK/key.out")"; fi
	ok "key $2 $1 refused before the TPM: $(cat "$WORK/key.out")"
}
key_refused 0644 "root:$U_GROUP" "other users can read" "${AS_UNIT[@]}"
# Unreadable to the user: root:root 0600 without a capability (the unit's
# CAP_DAC_READ_SEARCH would read it, and the rule then lets it pass).
key_refused 0600 root:root "runs as $U_USER: Permission denied" "${NO_CAPS[@]}"
chown "root:$U_GROUP" "$E/attestor.key"
chmod 0640 "$E/attestor.key"
# The files it trusts (common/filerule.h), also before the TPM: a
# configuration its group could change, a directory others could write
# (they could swap the key or the CA in it).
trust_refused() { # WANT
	rc=0
	"${AS_UNIT[@]}" "$BUILD_DIR/attestor" --config "$E/attestor.conf" >"$WORK/trust.out" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] && grep -q "$1" "$WORK/trust.out" || fail "exit $rc, want 2 with '$1': $(cat "$WORK/trust.out")"
	if grep -qi "tcti\|tpm" "$WORK/trust.out"; then fail "the TPM was opened: $(cat "$WORK/trust.out")"; fi
	ok "refused before the TPM: $(cat "$WORK/trust.out")"
}
chmod 0664 "$E/attestor.conf"
trust_refused "configuration $E/attestor.conf is root:[a-z]* 0664: its group can change it"
chmod 0644 "$E/attestor.conf"
chmod 0777 "$E"
trust_refused "configuration $E/attestor.conf: directory $E is root:root 0777: other users can change it"
chmod 0755 "$E"
# With the key right, it gets as far as the TPM: the failure names the TCTI
# and says what to look at.
rc=0
"${AS_UNIT[@]}" "$BUILD_DIR/attestor" --config "$E/attestor.conf" >"$WORK/tcti.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "no TPM at the TCTI: exit $rc: $(cat "$WORK/tcti.out")"
grep -q "TCTI 'swtpm:host=127.0.0.1,port=[0-9]*': .*is the software TPM running and listening there" "$WORK/tcti.out" ||
	fail "the TCTI failure does not name the TCTI with a hint: $(cat "$WORK/tcti.out")"
ok "key root:$U_GROUP 0640 accepted; no TPM at the TCTI: $(tail -n 1 "$WORK/tcti.out")"

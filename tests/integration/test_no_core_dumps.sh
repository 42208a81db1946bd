#!/bin/bash
# Neither daemon can leave its memory in a core file or open it to another
# process of its own user (common/harden.c, first thing in both mains). Each
# runs as an unprivileged user (setpriv to uid/gid 65534 when the test runs
# as root, else as the test's own user), next to a plain process started the
# same way (sleep) as the control:
#  - /proc/PID/limits: core file size 0 soft and hard (the control: not 0 hard)
#  - non-dumpable: the kernel owns the process's /proc/PID files by root, not
#    by its uid (the control: by its uid), and another process of the same uid
#    cannot read its /proc/PID/environ (the control: it can)
#  - umask 0077 (the control: the test's own)
# The verifier runs `serve` (push mode, mutual TLS), the attestor serves in
# pull mode on swtpm.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup stat
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"

swtpm_start tpm
pki_make "$WORK/pki"
P=$WORK/pki
# "${AS_USER[@]}" CMD...: CMD as the unprivileged user (setpriv execs CMD, so
# a background job's PID is CMD's).
if [ "$(id -u)" -eq 0 ]; then
	need setpriv
	RUN_UID=65534
	AS_USER=(setpriv --reuid="$RUN_UID" --regid="$RUN_UID" --clear-groups)
else
	RUN_UID=$(id -u)
	AS_USER=()
fi
# What the daemons read and write, readable and owned by that user.
D=$WORK/user
mkdir -p "$D/roots" "$D/astate" "$D/vstate"
cp "$P/ca.pem" "$P"/verifier.* "$P"/attestor.* "$D/"
cp "$EK_ROOTS"/* "$D/roots/"
P=$D
cat >"$D/verifier.conf" <<CONF
[verifier]
mode = push
listen = 127.0.0.1:0
ek_roots = $D/roots
state_dir = $D/vstate
log_level = info
$(tls_conf verifier)
CONF
attestor_conf "$D/attestor.conf" pull 127.0.0.1:0 "$D/astate"
if [ "$(id -u)" -eq 0 ]; then
	chown -R "$RUN_UID:$RUN_UID" "$D"
	chmod 0711 "$WORK"
fi

bg verifier "${AS_USER[@]}" "$BUILD_DIR/verifier" serve --config "$D/verifier.conf"
VPID=$BG_PID
log_port "$WORK/verifier.log" >/dev/null
bg attestor "${AS_USER[@]}" "$BUILD_DIR/attestor" --config "$D/attestor.conf"
APID=$BG_PID
log_port "$WORK/attestor.log" >/dev/null
bg control "${AS_USER[@]}" sleep 60
CPID=$BG_PID
sleep 0.2

# uid_of PID: the real uid the process runs as.
uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$1/status"; }
core_limit() { grep '^Max core file size' "/proc/$1/limits" | awk '{ print $5 " " $6 }'; }
reads_environ() { "${AS_USER[@]}" cat "/proc/$1/environ" >/dev/null 2>&1; }

[ "$(uid_of "$CPID")" = "$RUN_UID" ] || fail "control runs as uid $(uid_of "$CPID"), not $RUN_UID"
[ "$(stat -c %u "/proc/$CPID/environ")" = "$RUN_UID" ] || fail "control: /proc/PID/environ not owned by $RUN_UID"
reads_environ "$CPID" || fail "control: its user cannot read its environ: the check would prove nothing"
[ "$(core_limit "$CPID" | cut -d' ' -f2)" != 0 ] || fail "control: hard core limit already 0 here"
[ "$(awk '/^Umask:/ { print $2 }' "/proc/$CPID/status")" != 0077 ] || fail "control: umask already 0077 here"
ok "control (sleep as uid $RUN_UID): core limit '$(core_limit "$CPID")', /proc files owned by $RUN_UID, environ readable"

for d in verifier:$VPID attestor:$APID; do
	name=${d%%:*} pid=${d#*:}
	[ "$(uid_of "$pid")" = "$RUN_UID" ] || fail "$name runs as uid $(uid_of "$pid"), not $RUN_UID"
	[ "$(core_limit "$pid")" = "0 0" ] || fail "$name: core file size limit '$(core_limit "$pid")', want 0 0"
	for f in environ mem maps; do
		[ "$(stat -c %u "/proc/$pid/$f")" = 0 ] ||
			fail "$name: /proc/$pid/$f owned by uid $(stat -c %u "/proc/$pid/$f"): the process is dumpable"
	done
	reads_environ "$pid" && fail "$name: another process of uid $RUN_UID reads its /proc/PID/environ"
	[ "$(awk '/^Umask:/ { print $2 }' "/proc/$pid/status")" = 0077 ] ||
		fail "$name: umask $(awk '/^Umask:/ { print $2 }' "/proc/$pid/status"), want 0077"
	ok "$name (uid $RUN_UID): core file size 0 0, non-dumpable (/proc files owned by root, environ unreadable to its user), umask 0077"
done

# Still working: both serve after hardening.
grep -q "serving attest.v1.Verifier" "$WORK/verifier.log" || fail "verifier: $(cat "$WORK/verifier.log")"
grep -q "serving attest.v1.Attestor" "$WORK/attestor.log" || fail "attestor: $(cat "$WORK/attestor.log")"
kill -TERM "$APID" "$VPID"
wait "$APID" || fail "attestor exited with an error after SIGTERM"
wait "$VPID" || fail "verifier exited with an error after SIGTERM"
ok "both daemons served as uid $RUN_UID and stopped cleanly"

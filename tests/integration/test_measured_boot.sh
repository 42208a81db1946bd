#!/bin/bash
# modes: pull push
# Measured boot end to end in $MODE: swtpm's PCRs are brought into the state a
# real machine's logs describe (tests/tools/log_extend: a GCE Ubuntu boot event
# log for PCRs 0-9 and 14, the first 500 entries of a real IMA list for PCR 10),
# the attestor sends those logs with its quote, the verifier replays them
# against the quoted PCRs and passes. One altered digest byte in the boot log,
# or one altered template hash in the IMA list, fails naming what differs.
# Policies: a boot policy on the Secure Boot state and an IMA allowlist (made
# by an independent reader of the list) pass; requiring Secure Boot, or an
# allowlist missing one file, fails naming it.
# Pull mode also quotes a second round with the same AK after 500 more IMA
# entries were measured: the verifier asks only for the new entries.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend openssl python3
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"
LE=$BUILD_DIR/tests/tools/log_extend
[ -x "$LE" ] || fail "$LE not built"
BOOTLOG=$TESTDATA_DIR/eventlog/tpm2tools-event-gce-ubuntu-2104-log.bin
IMALIST=$TESTDATA_DIR/ima/acs-imasig.bin
[ -f "$BOOTLOG" ] && [ -f "$IMALIST" ] || fail "test data missing"

swtpm_start tpm
pki_make "$WORK/pki"
. "$SOURCE_DIR/tests/integration/modes.sh"

"$LE" eventlog "$BOOTLOG" >"$WORK/boot.extends" 2>/dev/null || fail "log_extend eventlog"
extend_from "$WORK/boot.extends"
"$LE" ima-head "$IMALIST" 500 >"$WORK/ima500.bin" || fail "log_extend ima-head"
"$LE" ima-head "$IMALIST" 1000 >"$WORK/ima1000.bin" || fail "log_extend ima-head"
"$LE" ima "$WORK/ima1000.bin" >"$WORK/ima1000.extends" || fail "log_extend ima"
head -n 500 "$WORK/ima1000.extends" >"$WORK/ima-first.extends"
tail -n +501 "$WORK/ima1000.extends" >"$WORK/ima-second.extends"
extend_from "$WORK/ima-first.extends"
cp "$WORK/ima500.bin" "$WORK/ima.bin"
ok "swtpm extended from $(wc -l <"$WORK/boot.extends") boot events and 500 IMA entries"

A_PCRS="sha256:0-10,14+sha1:0-10,14"
A_VEXTRA="require_event_log = true
require_ima = true"
A_EVENTLOG=$BOOTLOG
A_IMALOG=$WORK/ima.bin
expect_pass measured
if [ "$MODE" = pull ]; then
	grep -q "^PASS .* eventlog ok ima 500 entries" "$WORK/measured/out" ||
		fail "verdict without the logs: $(cat "$WORK/measured/out")"
else
	grep -q "verdict PASS .* eventlog ok ima 500 " "$WORK/measured-server.log" ||
		fail "verdict without the logs: $(grep verdict "$WORK/measured-server.log")"
fi
ok "$MODE: boot event log and 500 IMA entries replay to the quoted PCRs"

# Policies over the replayed measurements. The IMA allowlist is made here, by
# a reader of the binary list independent of ours; DROP names a path to leave out.
allowlist() { # LIST OUT [DROP]
	python3 - "$@" <<'PY'
import json, struct, sys
data, allow = open(sys.argv[1], "rb").read(), {}
drop = sys.argv[3] if len(sys.argv) > 3 else None
off = 0
while off < len(data):
    pcr, th, nlen = struct.unpack_from("<I20sI", data, off); off += 28
    name = data[off:off + nlen].decode(); off += nlen
    dlen, = struct.unpack_from("<I", data, off); off += 4
    tdata = data[off:off + dlen]; off += dlen
    if name != "ima-sig":
        sys.exit("unexpected template " + name)
    fields, t = [], 0
    while t < len(tdata):
        flen, = struct.unpack_from("<I", tdata, t); t += 4
        fields.append(tdata[t:t + flen]); t += flen
    alg, digest = fields[0].split(b"\0", 1)
    path = fields[1].rstrip(b"\0").decode()
    if path != drop:
        allow.setdefault(path, []).append(alg.decode() + digest.hex())
json.dump({"allow": allow}, open(sys.argv[2], "w"), indent=1)
PY
}
allowlist "$WORK/ima500.bin" "$WORK/ima-allow.json" || fail "allowlist"
DROPPED=$(python3 -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))["allow"])[7])' "$WORK/ima-allow.json")
allowlist "$WORK/ima500.bin" "$WORK/ima-allow-short.json" "$DROPPED"
printf '{"secure_boot": false}\n' >"$WORK/boot-off.json"
printf '{"secure_boot": true}\n' >"$WORK/boot-on.json"
BASE_VEXTRA=$A_VEXTRA
A_VEXTRA="$BASE_VEXTRA
boot_policy = $WORK/boot-off.json
ima_policy = $WORK/ima-allow.json"
expect_pass policies
ok "$MODE: boot policy (Secure Boot off, as this GCE log measured it) and a 500-entry IMA allowlist pass"
A_VEXTRA="$BASE_VEXTRA
boot_policy = $WORK/boot-on.json"
expect_fail secureboot 1 "^FAIL quote: .*Secure Boot is disabled, the boot policy requires it enabled"
A_VEXTRA="$BASE_VEXTRA
ima_policy = $WORK/ima-allow-short.json"
expect_fail allowlist 1 "^FAIL quote: .*IMA entries violate the policy: .*$DROPPED (not in the allowlist)"
A_VEXTRA=$BASE_VEXTRA

# flip FILE OFFSET OUT: OUT is FILE with the byte at OFFSET inverted.
flip() {
	python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[int(sys.argv[2])]^=0xff; open(sys.argv[3],"wb").write(b)' "$@"
}
# The first sha256 digest of a PCR 4 event, as it sits in the boot log.
digest=$(grep -m1 '^4:' "$WORK/boot.extends" | sed 's/.*sha256=//')
off=$(python3 -c 'import sys; print(open(sys.argv[1],"rb").read().find(bytes.fromhex(sys.argv[2])))' "$BOOTLOG" "$digest")
[ "$off" -gt 0 ] || fail "PCR 4 digest not found in the boot log"
flip "$BOOTLOG" "$off" "$WORK/boot-altered.bin"
A_EVENTLOG=$WORK/boot-altered.bin
expect_fail boot-altered 1 "^FAIL quote: .*boot event log: .*PCR 4"
A_EVENTLOG=$BOOTLOG

# Entry 0's template hash (bytes 4..23 of the list) altered.
flip "$WORK/ima500.bin" 10 "$WORK/ima-altered.bin"
A_IMALOG=$WORK/ima-altered.bin
expect_fail ima-altered 1 "^FAIL quote: .*IMA list: .*entry 0"
A_IMALOG=$WORK/ima.bin

# No boot log while one is required.
A_EVENTLOG=""
expect_fail no-bootlog 1 "^FAIL quote: .*no boot event log was sent"
A_EVENTLOG=$BOOTLOG

if [ "$MODE" = push ]; then
	# Two sessions against one verifier (two attestor runs, the verifier's
	# database in between): the second asks only for the IMA entries after
	# those the first verified, in the same boot.
	dir=$WORK/pushrounds
	_mode_confs "$dir" 0
	bg pushrounds-server "$BUILD_DIR/verifier" serve --config "$dir/verifier.conf"
	port=$(log_port "$WORK/pushrounds-server.log")
	sed -i "s|^verifier = 127.0.0.1:0$|verifier = 127.0.0.1:$port|" "$dir/attestor.conf"
	"$BUILD_DIR/attestor" --config "$dir/attestor.conf" --once --wait "$A_WAIT" >"$dir/out1" 2>&1 ||
		fail "first session: $(cat "$dir/out1")"
	grep -q "verdict PASS .* ima 500 (500 new)" "$WORK/pushrounds-server.log" ||
		fail "first session: $(grep verdict "$WORK/pushrounds-server.log")"
	extend_from "$WORK/ima-second.extends"
	cp "$WORK/ima1000.bin" "$WORK/ima.tmp" && mv "$WORK/ima.tmp" "$WORK/ima.bin"
	"$BUILD_DIR/attestor" --config "$dir/attestor.conf" --once --wait "$A_WAIT" >"$dir/out2" 2>&1 ||
		fail "second session: $(cat "$dir/out2")"
	grep -q "verdict PASS .* ima 1000 (500 new)" "$WORK/pushrounds-server.log" ||
		fail "second session did not continue the stored IMA replay: $(grep verdict "$WORK/pushrounds-server.log")"
	ok "push: a new session continued the stored IMA replay: $(grep 'verdict PASS' "$WORK/pushrounds-server.log" | tail -n 1 | sed 's/.*verdict/verdict/')"
	# A reboot (swtpm restarted on its state) with the same measurements: the
	# stored offset belongs to the old boot; the verifier asks again from 0.
	swtpm_stop
	swtpm_run "$SWTPM_PORT"
	extend_from "$WORK/boot.extends"
	extend_from "$WORK/ima1000.extends"
	"$BUILD_DIR/attestor" --config "$dir/attestor.conf" --once --wait "$A_WAIT" >"$dir/out3" 2>&1 ||
		fail "after the reboot: $(cat "$dir/out3")"
	grep -q "IMA list continues entry 1000 of boot" "$WORK/pushrounds-server.log" ||
		fail "the stale IMA offset was not noticed: $(tail -n 5 "$WORK/pushrounds-server.log")"
	grep -q "verdict PASS .* ima 1000 (1000 new)" "$WORK/pushrounds-server.log" ||
		fail "after the reboot: $(grep verdict "$WORK/pushrounds-server.log")"
	ok "push: after a reboot the stale IMA offset was dropped and the list replayed from entry 0"
	exit 0
fi
# Two rounds with one AK: between them the host measures 500 more files.
attest_bg() {
	local dir=$WORK/rounds port
	_mode_confs "$dir" 0
	bg rounds-attestor "$BUILD_DIR/attestor" --config "$dir/attestor.conf"
	port=$(log_port "$WORK/rounds-attestor.log")
	"$BUILD_DIR/verifier" attest --config "$dir/verifier.conf" --rounds 2 --interval 3 "127.0.0.1:$port" \
		>"$dir/out" 2>"$dir/err" &
	VPID=$!
}
attest_bg
for ((i = 0; i < 100; i++)); do grep -q "round 1" "$WORK/rounds/out" 2>/dev/null && break; sleep 0.1; done
grep -q "^PASS .* round 1 .*ima 500 entries" "$WORK/rounds/out" || fail "round 1: $(cat "$WORK/rounds/out" "$WORK/rounds/err")"
extend_from "$WORK/ima-second.extends"
cp "$WORK/ima1000.bin" "$WORK/ima.tmp" && mv "$WORK/ima.tmp" "$WORK/ima.bin"
rc=0; wait "$VPID" || rc=$?
[ "$rc" -eq 0 ] || fail "two rounds: exit $rc: $(cat "$WORK/rounds/out" "$WORK/rounds/err")"
grep -q "^PASS .* round 2 .*ima 1000 entries (500 new)" "$WORK/rounds/out" || fail "round 2: $(cat "$WORK/rounds/out")"
ok "round 2 with the same AK replayed only the 500 new IMA entries: $(grep 'round 2' "$WORK/rounds/out")"

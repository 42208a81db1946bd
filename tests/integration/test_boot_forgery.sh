#!/bin/bash
# modes: pull push
# The Secure Boot forgery of issue #12, against the real services in $MODE.
# swtpm's PCRs are those of a real boot that measured SecureBoot=0 (a GCE
# Ubuntu log, tests/tools/log_extend). The attestor sends that log with the
# SecureBoot event's data changed to say 1 and its digests left alone, so the
# replay still matches the quote. A verifier requiring Secure Boot fails it,
# saying the variable's data does not match its PCR 7 digest, and its
# database records the node failed with that reason, never passing; so does
# one requiring Secure Boot off (the data proves nothing either way). After
# a reboot into the same log made honest (data 1 and its digests, a reader
# independent of ours writes it), the same verifier passes. A boot policy the
# quoted selection cannot check (PCR 7 not quoted) stops the verifier from
# starting, naming the file and PCR 7. The red team's relabelling (root adds
# a genuine SecureBoot=1 event and separator to PCR 7 at run time and hides
# the firmware's own under another type) fails with the reason, and the
# database records the node failed.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend openssl
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"
LE=$BUILD_DIR/tests/tools/log_extend
[ -x "$LE" ] || fail "$LE not built"
BOOTLOG=$TESTDATA_DIR/eventlog/tpm2tools-event-gce-ubuntu-2104-log.bin
[ -f "$BOOTLOG" ] || fail "test data missing"

swtpm_start tpm
pki_make "$WORK/pki"
. "$SOURCE_DIR/tests/integration/modes.sh"

# The log's SecureBoot event (PCR 7, EV_EFI_VARIABLE_DRIVER_CONFIG) made to
# say 1: forged keeps its digests, honest gets the digests of the new data in
# every bank the event carries. relabel is the red team's log: the
# firmware's SecureBoot=0 event and PCR 7 separator relabelled EV_POST_CODE,
# their data junk, their digests kept; then a SecureBoot=1 event and a
# separator, with the digests of their data in every bank of the log, as
# root extends them into PCR 7 at run time.
/usr/bin/python3 - "$BOOTLOG" "$WORK/forged.bin" "$WORK/honest.bin" "$WORK/relabel.bin" "$WORK/wrap.bin" <<'PY'
import hashlib, struct, sys
log = bytearray(open(sys.argv[1], "rb").read())
hashes = {0x0004: hashlib.sha1, 0x000b: hashlib.sha256, 0x000c: hashlib.sha384, 0x000d: hashlib.sha512}
size, = struct.unpack_from("<I", log, 28)
spec = log[32:32 + size]
assert spec.startswith(b"Spec ID Event03\0"), "not a crypto-agile log"
sizes = {}
for i in range(struct.unpack_from("<I", spec, 24)[0]):
    alg, n = struct.unpack_from("<HH", spec, 28 + 4 * i)
    sizes[alg] = n
off, found, sep = 32 + size, None, None
while off < len(log):
    pcr, etype, count = struct.unpack_from("<III", log, off)
    at, digests = off + 12, []
    for _ in range(count):
        alg, = struct.unpack_from("<H", log, at)
        digests.append((alg, at + 2))
        at += 2 + sizes[alg]
    dlen, = struct.unpack_from("<I", log, at)
    data = at + 4
    if pcr == 7 and etype == 0x80000001 and found is None:
        nlen, vlen = struct.unpack_from("<QQ", log, data + 16)
        if bytes(log[data + 32:data + 32 + 2 * nlen]).decode("utf-16-le") == "SecureBoot":
            found = (off, data, dlen, digests)
    if pcr == 7 and etype == 0x00000004 and sep is None:
        sep = (off, data, dlen)
    off = data + dlen
assert found and sep, "no SecureBoot event or PCR 7 separator"
sb_off, data, dlen, digests = found
assert dlen == 53 and log[data + 52] == 0, "SecureBoot is not measured as 0"
on = bytes(log[data:data + 52]) + b"\x01"

relabel = bytearray(log)
for ev, at, n in ((sb_off, data, dlen), sep):
    struct.pack_into("<I", relabel, ev + 4, 0x00000001)  # EV_POST_CODE
    relabel[at:at + n] = b"J" * n
for etype, ev in ((0x80000001, on), (0x00000004, b"\0\0\0\0")):
    relabel += struct.pack("<III", 7, etype, len(sizes))
    for alg in sizes:
        relabel += struct.pack("<H", alg) + hashes[alg](ev).digest()
    relabel += struct.pack("<I", len(ev)) + ev
open(sys.argv[4], "wb").write(relabel)

# wrap: the SecureBoot variable's data length so large that 32 + 2 * name
# length + data length wraps (the heap over-read of issue #12, item 8), with
# the digests of those bytes in every bank: the data is proven, the parser
# must still not read past it.
wrap = bytearray(log)
bad = bytes(log[data:data + 24]) + struct.pack("<Q", 0xFFFFFFFFFFFFFFF0) + bytes(log[data + 32:data + dlen])
wrap[data:data + dlen] = bad
for alg, at in digests:
    wrap[at:at + sizes[alg]] = hashes[alg](bad).digest()
open(sys.argv[5], "wb").write(wrap)

log[data:data + dlen] = on
open(sys.argv[2], "wb").write(log)
for alg, at in digests:
    log[at:at + sizes[alg]] = hashes[alg](on).digest()
open(sys.argv[3], "wb").write(log)
PY
[ -s "$WORK/forged.bin" ] && [ -s "$WORK/honest.bin" ] && [ -s "$WORK/relabel.bin" ] ||
	fail "could not make the altered logs"

"$LE" eventlog "$BOOTLOG" >"$WORK/boot.extends" 2>/dev/null || fail "log_extend eventlog"
extend_from "$WORK/boot.extends"
cmp -s <("$LE" eventlog "$WORK/forged.bin" 2>/dev/null) "$WORK/boot.extends" ||
	fail "the forged log does not extend what the real one does"
ok "swtpm extended from the real log (SecureBoot=0); the forged log has the same digests"

printf '{"secure_boot": true}\n' >"$WORK/boot-on.json"
printf '{"secure_boot": false}\n' >"$WORK/boot-off.json"
A_PCRS="sha256:0-9,14+sha1:0-9,14"
BASE_VEXTRA="require_event_log = true"
REASON="the Secure Boot state is not proven: event 3, the SecureBoot variable: its data does not match its PCR 7 digest"

# db_verdicts DIR: "state|reason" of the one node, then one "pass|reason"
# line per attestation, from the verifier's database in DIR/vstate.
db_verdicts() {
	/usr/bin/python3 - "$1/vstate/verifier.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
nodes = db.execute("SELECT state, reason FROM nodes").fetchall()
assert len(nodes) == 1, "want one node, have %d" % len(nodes)
print("%s|%s" % nodes[0])
for row in db.execute("SELECT pass, reason FROM attestations ORDER BY id"):
    print("%d|%s" % row)
PY
}

# db_failed NAME REASON: the database of attestation NAME records its node
# failed with REASON, no attestation passed, and the last one failed so.
db_failed() {
	local db=$WORK/$1/db
	db_verdicts "$WORK/$1" >"$db" || fail "reading the database: $(cat "$db")"
	head -n 1 "$db" | grep -q "^failed|.*$2" || fail "the node is not recorded failed with the reason: $(cat "$db")"
	grep -q "^1|" "$db" && fail "an attestation passed: $(cat "$db")"
	tail -n 1 "$db" | grep -q "^0|.*$2" || fail "the last attestation is not the failed quote: $(cat "$db")"
	ok "$MODE: $1: the database says failed, with the reason, and no attestation passed"
}

# boot_fails NAME REASON: the attestor sending $A_EVENTLOG fails with REASON
# under secure_boot true (NAME-on, its database checked) and false (NAME-off).
boot_fails() {
	A_VEXTRA="$BASE_VEXTRA
boot_policy = $WORK/boot-on.json"
	expect_fail "$1-on" 1 "^FAIL quote: .*$2"
	db_failed "$1-on" "$2"
	A_VEXTRA="$BASE_VEXTRA
boot_policy = $WORK/boot-off.json"
	expect_fail "$1-off" 1 "^FAIL quote: .*$2"
}

A_EVENTLOG=$WORK/forged.bin
boot_fails forged "$REASON"

# The verifier refuses a policy its selection cannot check, before it
# serves or connects.
dir=$WORK/unquoted
A_PCRS="sha256:0-6,8,9,14+sha1:0-6,8,9,14"
A_VEXTRA="$BASE_VEXTRA
boot_policy = $WORK/boot-on.json"
A_NOREF=1 # the boot policy is the reference; PCR 7 values would be refused first
_mode_confs "$dir" 0
A_NOREF=0
if [ "$MODE" = pull ]; then
	cmd=("$BUILD_DIR/verifier" attest --config "$dir/verifier.conf" 127.0.0.1:1)
else
	cmd=("$BUILD_DIR/verifier" serve --config "$dir/verifier.conf")
fi
rc=0
timeout 20 "${cmd[@]}" >"$dir/out" 2>"$dir/err" || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "the verifier started (exit $rc): $(cat "$dir/err")"
grep -q "boot-on.json: secure_boot needs PCR 7, which is not in the quoted pcrs" "$dir/err" ||
	fail "no reason naming the file and PCR 7: $(cat "$dir/err")"
ok "$MODE: a boot policy on PCR 7 outside the quote is refused: $(grep -m1 "secure_boot needs" "$dir/err")"
A_PCRS="sha256:0-9,14+sha1:0-9,14"

# The red team's relabelling: root extends PCR 7 at run time with a genuine
# SecureBoot=1 event and separator and sends the log with both appended, the
# firmware's own SecureBoot=0 event and separator relabelled EV_POST_CODE
# with junk data. Every digest is genuine, so the replay matches the quote;
# the boot policy is the only reference. PCR 7's separator is the first
# event whose digests are a separator's, whatever its type, and every event
# before it must prove its data: the relabelled SecureBoot=0 event does not.
"$LE" eventlog "$WORK/relabel.bin" >"$WORK/relabel.extends" 2>/dev/null || fail "log_extend eventlog relabel"
n=$(wc -l <"$WORK/boot.extends")
head -n "$n" "$WORK/relabel.extends" | cmp -s - "$WORK/boot.extends" ||
	fail "the relabelled log does not extend what the real boot did"
tail -n +"$((n + 1))" "$WORK/relabel.extends" >"$WORK/runtime.extends"
[ "$(wc -l <"$WORK/runtime.extends")" -eq 2 ] && ! grep -qv "^7:" "$WORK/runtime.extends" ||
	fail "the relabelled log does not append two PCR 7 events: $(cat "$WORK/runtime.extends")"
extend_from "$WORK/runtime.extends"
ok "root extended PCR 7 with SecureBoot=1 and a separator; the relabelled log replays to the TPM's PCRs"
RELABEL_REASON="the Secure Boot state is not proven: event 3 (type 0x00000001), before PCR 7's separator, \
does not prove its data (the digest of event type 0x00000001 is not a hash of its data): it may be the \
SecureBoot variable relabelled"
A_EVENTLOG=$WORK/relabel.bin
A_NOREF=1
boot_fails relabel "$RELABEL_REASON"
A_NOREF=0

# A reboot into the honest log: the same verifier passes.
swtpm_stop
swtpm_run "$SWTPM_PORT"
"$LE" eventlog "$WORK/honest.bin" >"$WORK/honest.extends" 2>/dev/null || fail "log_extend eventlog honest"
extend_from "$WORK/honest.extends"
A_EVENTLOG=$WORK/honest.bin
A_VEXTRA="$BASE_VEXTRA
boot_policy = $WORK/boot-on.json"
expect_pass honest
# Into a file first: grep -q leaving early would fail the pipeline (pipefail).
db_verdicts "$WORK/honest" >"$WORK/honest/db" || fail "reading the database: $(cat "$WORK/honest/db")"
grep -q "^passing|" "$WORK/honest/db" || fail "the honest node is not passing: $(cat "$WORK/honest/db")"
ok "$MODE: SecureBoot=1 measured honestly passes secure_boot: true"

# Item 8: a reboot into the log whose proven SecureBoot variable has lengths
# that wrap: refused with the reason, the verifier unharmed (under ASan an
# over-read aborts it), the node failed.
swtpm_stop
swtpm_run "$SWTPM_PORT"
"$LE" eventlog "$WORK/wrap.bin" >"$WORK/wrap.extends" 2>/dev/null || fail "log_extend eventlog wrap"
extend_from "$WORK/wrap.extends"
A_EVENTLOG=$WORK/wrap.bin
A_NOREF=1
boot_fails wrap "a UEFI variable event, does not hold a UEFI_VARIABLE_DATA"
A_NOREF=0
grep -qi "sanitizer\|heap-buffer-overflow" "$WORK"/*.log "$WORK"/wrap-*/err 2>/dev/null &&
	fail "a sanitizer report: $(grep -il "sanitizer" "$WORK"/*.log "$WORK"/wrap-*/err)"
ok "$MODE: a SecureBoot variable whose lengths wrap is refused: $(grep -m1 '^FAIL' "$WORK/wrap-on/err")"

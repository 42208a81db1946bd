#!/bin/bash
# `verifier policy from-ima` (issue #15): IMA allowlists as named policies.
#  - from a real binary list (the first 500 entries of acs-imasig.bin) and
#    a real ASCII one: the policy is one the verifier stores, and passes
#    its own list (`policy check --ima`); the policy of the first 200
#    entries fails the 500, naming entries it does not allow;
#  - from a root file system the test makes: each regular file's SHA-256
#    (checked with sha256sum) under its path on the host, an --exclude'd
#    tree and a symbolic link left out; a bad pattern is refused.
. "$SOURCE_DIR/tests/integration/lib.sh"
need sha256sum
[ -x "$BUILD_DIR/verifier" ] || fail "verifier not built"
V=$BUILD_DIR/verifier
LE=$BUILD_DIR/tests/tools/log_extend
[ -x "$LE" ] || fail "tests/tools/log_extend not built"

pki_make "$WORK/pki"
P=$WORK/pki
mkdir -p "$WORK/state"
verifier_conf "$WORK/v.conf" "mode = push
listen = 127.0.0.1:0
pcrs = sha256:0-7,10
state_dir = $WORK/state" ""

"$LE" ima-head "$TESTDATA_DIR/ima/acs-imasig.bin" 500 >"$WORK/ima500.bin" || fail "log_extend ima-head 500"
"$LE" ima-head "$TESTDATA_DIR/ima/acs-imasig.bin" 200 >"$WORK/ima200.bin" || fail "log_extend ima-head 200"
for list in "$WORK/ima500.bin" "$TESTDATA_DIR/ima/rustkeylime-ascii_runtime_measurements.txt"; do
	name=$(basename "$list")
	"$V" policy from-ima --config "$WORK/v.conf" "$list" >"$WORK/$name.json" 2>"$WORK/$name.err" ||
		fail "$name: from-ima: $(cat "$WORK/$name.err")"
	"$V" policy create --config "$WORK/v.conf" "ima-${name%%.*}" --file "$WORK/$name.json" >/dev/null 2>"$WORK/$name.err" ||
		fail "$name: not a policy the verifier takes: $(cat "$WORK/$name.err")"
	out=$("$V" policy check --config "$WORK/v.conf" --file "$WORK/$name.json" --ima "$list" 2>/dev/null) ||
		fail "$name: its own policy fails it: $out"
done
paths=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["ima_policy"]["allow"]))' \
	"$WORK/ima500.bin.json")
"$V" policy from-ima --config "$WORK/v.conf" "$WORK/ima200.bin" >"$WORK/ima200.json" 2>/dev/null || fail "from-ima 200"
rc=0
out=$("$V" policy check --config "$WORK/v.conf" --file "$WORK/ima200.json" --ima "$WORK/ima500.bin" 2>/dev/null) || rc=$?
[ "$rc" -eq 1 ] && [[ $out == "FAIL "*"IMA entries violate the policy"* ]] || fail "200 against 500: exit $rc: $out"
ok "binary and ASCII lists: each policy ($paths paths from 500 entries) is taken and passes its list; 200 entries' fails 500: ${out:0:140}"

R=$WORK/rootfs
mkdir -p "$R/usr/bin" "$R/usr/lib/x" "$R/tmp/scratch" "$R/var/log"
printf 'bash\n' >"$R/usr/bin/bash"
printf 'lib\n' >"$R/usr/lib/x/libc.so"
printf 'scratch\n' >"$R/tmp/scratch/file"
printf 'log\n' >"$R/var/log/syslog"
ln -s bash "$R/usr/bin/sh"
"$V" policy from-ima --config "$WORK/v.conf" --rootfs --exclude '^/tmp/' --exclude '^/var/log/' "$R" \
	>"$WORK/rootfs.json" 2>"$WORK/rootfs.err" || fail "from-ima --rootfs: $(cat "$WORK/rootfs.err")"
/usr/bin/python3 - "$WORK/rootfs.json" "$(sha256sum "$R/usr/bin/bash" | cut -d' ' -f1)" \
	"$(sha256sum "$R/usr/lib/x/libc.so" | cut -d' ' -f1)" <<'PY' || fail "rootfs policy: $(cat "$WORK/rootfs.json")"
import json, sys
p = json.load(open(sys.argv[1]))["ima_policy"]
assert p["allow"] == {"/usr/bin/bash": ["sha256:" + sys.argv[2]], "/usr/lib/x/libc.so": ["sha256:" + sys.argv[3]]}, p
assert p["exclude"] == ["^/tmp/", "^/var/log/"], p
PY
"$V" policy create --config "$WORK/v.conf" rootfs --file "$WORK/rootfs.json" >/dev/null || fail "rootfs policy refused"
rc=0
"$V" policy from-ima --config "$WORK/v.conf" --rootfs --exclude '^(' "$R" >/dev/null 2>"$WORK/bad.err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "exclude '^(' is not an extended regular expression" "$WORK/bad.err" ||
	fail "a bad pattern: exit $rc: $(cat "$WORK/bad.err")"
# Unanchored, "/tmp/" would also leave out /usr/lib/x/tmp/evil.
rc=0
"$V" policy from-ima --config "$WORK/v.conf" --rootfs --exclude '/tmp/' "$R" >/dev/null 2>"$WORK/bad.err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "exclude '/tmp/' does not start with '^'" "$WORK/bad.err" ||
	fail "an unanchored pattern: exit $rc: $(cat "$WORK/bad.err")"
# A file another user could change is not golden.
printf 'planted\n' >"$R/usr/bin/planted"
chmod 0666 "$R/usr/bin/planted"
"$V" policy from-ima --config "$WORK/v.conf" --rootfs --exclude '^/tmp/' --exclude '^/var/log/' "$R" \
	>"$WORK/rootfs2.json" 2>"$WORK/rootfs2.err" || fail "from-ima --rootfs again: $(cat "$WORK/rootfs2.err")"
cmp -s "$WORK/rootfs.json" "$WORK/rootfs2.json" && grep -q "1 files another user could change left out" "$WORK/rootfs2.err" ||
	fail "a world-writable file: $(cat "$WORK/rootfs2.err" "$WORK/rootfs2.json")"
ok "--rootfs: each file's sha256sum under its host path, excludes kept and honoured, the link and a world-writable file left out; bad and unanchored patterns refused"

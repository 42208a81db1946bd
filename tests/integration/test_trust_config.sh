#!/bin/bash
# Verifier configurations that would switch a check off refuse to start
# (issue #12), with the reason naming the rule, in each way the verifier
# starts: `verifier attest` (pull), `verifier serve` in pull and in push mode.
# Exit 2 with the reason on stderr; the same file with the rule kept starts
# (attest reaches the network and fails there with exit 1, serve listens).
#  item 10: a platform certificate bound to an EK certificate nobody checked:
#    require_ek_cert = false with platform_ca, and with require_platform_cert
#  item 16: a [secret] without a reference (no [policy] values, boot_policy or
#    ima_policy): it would go to any node whose TPM verified
#  item 6: boot_policy with require_event_log = false, ima_policy with
#    require_ima = false, ima_policy without PCR 10 quoted: a policy the
#    attestor switches off by sending no log
#  item 17: [policy] firmware_version that is not a number
#  #14: files that decide what passes (ek_roots, a boot policy, the hook's
#    directory) that someone other than root and the verifier could change
. "$SOURCE_DIR/tests/integration/lib.sh"
need openssl
[ -x "$BUILD_DIR/verifier" ] || fail "verifier not built"

pki_make "$WORK/pki"
P=$WORK/pki
mkdir -p "$WORK/roots" "$WORK/platform-ca"
cp "$P/ca.pem" "$WORK/roots/"
cp "$P/ca.pem" "$WORK/platform-ca/"
(umask 077; openssl rand 32 >"$WORK/aes.key")
printf '{"secure_boot": false}\n' >"$WORK/boot.json"
printf '{"allow": {}}\n' >"$WORK/ima.json"
REF="sha256.0 = $(printf '%064d' 0)"

# conf FILE MODE VERIFIER_LINES POLICY_LINES [TAIL]
conf() {
	verifier_conf "$1" "mode = $2
listen = 127.0.0.1:0
targets = 127.0.0.1:1
ek_roots = $WORK/roots
timeout_ms = 2000
$3" "$4" "${5:-}"
}
# starts_not NAME VERIFIER_LINES POLICY_LINES TAIL REASON: refused by each way of starting.
starts_not() {
	local how mode rc
	for how in attest serve-pull serve-push; do
		mode=pull
		[ "$how" = serve-push ] && mode=push
		conf "$WORK/$1.conf" "$mode" "$2" "$3" "$4"
		rc=0
		case $how in
		attest) timeout 20 "$BUILD_DIR/verifier" attest --config "$WORK/$1.conf" 127.0.0.1:1 >/dev/null 2>"$WORK/$1.err" || rc=$? ;;
		*) timeout 20 "$BUILD_DIR/verifier" serve --config "$WORK/$1.conf" >/dev/null 2>"$WORK/$1.err" || rc=$? ;;
		esac
		[ "$rc" -eq 2 ] && grep -qF -- "$5" "$WORK/$1.err" ||
			fail "$1 ($how): exit $rc, want 2 with '$5': $(cat "$WORK/$1.err")"
	done
	ok "$1: attest, serve (pull), serve (push) refuse: $(cat "$WORK/$1.err")"
}
# starts NAME VERIFIER_LINES POLICY_LINES [TAIL]: attest gets to the network, serve (push) listens.
starts() {
	local rc=0
	conf "$WORK/$1.conf" pull "$2" "$3" "${4:-}"
	timeout 20 "$BUILD_DIR/verifier" attest --config "$WORK/$1.conf" 127.0.0.1:1 >/dev/null 2>"$WORK/$1.err" || rc=$?
	[ "$rc" -eq 1 ] && grep -q "^FAIL endorsement: transport error" "$WORK/$1.err" ||
		fail "$1 (attest): exit $rc, want 1 at the transport: $(cat "$WORK/$1.err")"
	conf "$WORK/$1.conf" push "$2" "$3" "${4:-}"
	bg "$1-serve" "$BUILD_DIR/verifier" serve --config "$WORK/$1.conf"
	log_port "$WORK/$1-serve.log" >/dev/null
	kill "$BG_PID"
	wait "$BG_PID" 2>/dev/null || true
	ok "$1: the same configuration with the rule kept starts"
}

PLATFORM="platform_ca = $WORK/platform-ca"
BOUND="a platform certificate is bound to the EK certificate, which require_ek_cert = false leaves unverified"
starts_not platform-unverified-ek "require_ek_cert = false
$PLATFORM" "$REF" "" "platform_ca needs require_ek_cert = true: $BOUND"
starts_not platform-required-unverified-ek "require_ek_cert = false
require_platform_cert = true
$PLATFORM" "$REF" "" "platform_ca needs require_ek_cert = true: $BOUND"
starts platform-checked-ek "require_ek_cert = true
require_platform_cert = true
$PLATFORM" "$REF"

SECRET="[secret disk-key]
kind = aes256
key = $WORK/aes.key
hosts = *"
starts_not secret-without-reference "" "" "$SECRET" \
	"[secret disk-key]: secrets go only to nodes that pass against a reference, and there is none ([policy] PCR values, boot_policy or ima_policy)"
starts secret-with-reference "pcrs = sha256:0" "$REF" "$SECRET"

starts_not boot-policy-without-log "boot_policy = $WORK/boot.json
require_event_log = false" "$REF" "" "boot_policy needs the boot event log: require_event_log cannot be false with it"
starts_not ima-policy-without-list "pcrs = sha256:0-7,10
ima_policy = $WORK/ima.json
require_ima = false" "$REF" "" "ima_policy needs the IMA list: require_ima cannot be false with it"
starts_not ima-policy-without-pcr10 "ima_policy = $WORK/ima.json" "$REF" "" \
	"require_ima = true (ima_policy) needs PCR 10 in pcrs"
starts policies-with-logs "pcrs = sha256:0-7,10
boot_policy = $WORK/boot.json
ima_policy = $WORK/ima.json" "$REF"

starts_not firmware-not-a-number "" "$REF
firmware_version = 2019-10-23" "" "policy firmware_version '2019-10-23' is not a number (0x-hex or decimal)"
starts firmware-listed "" "$REF
firmware_version = 0x2019102300163636, 1"

# Files that decide what passes (issue #14, common/filerule.h): an ek_roots
# directory its group could change, a boot policy other users could, a hook
# program in a directory others could write. Each is refused naming it;
# with the mode put right the same configuration starts.
chmod 0775 "$WORK/roots"
starts_not ek-roots-group-writable "" "$REF" "" "ek_roots $WORK/roots is "
grep -q "0775: its group can change it, and whoever can decides what it says" "$WORK/ek-roots-group-writable.err" ||
	fail "ek_roots: $(cat "$WORK/ek-roots-group-writable.err")"
chmod 0755 "$WORK/roots"
chmod 0646 "$WORK/boot.json"
starts_not boot-policy-writable "boot_policy = $WORK/boot.json" "$REF" "" \
	"boot_policy $WORK/boot.json is $(id -un):$(id -gn) 0646: other users can change it"
chmod 0644 "$WORK/boot.json"
mkdir -p "$WORK/hooks"
printf '#!/bin/sh\ncat >/dev/null\n' >"$WORK/hooks/on-change"
chmod 0755 "$WORK/hooks/on-change"
chmod 0777 "$WORK/hooks"
starts_not hook-dir-writable "state_dir = $WORK/state
hook = $WORK/hooks/on-change --json" "$REF" "" "hook $WORK/hooks/on-change: directory $WORK/hooks is "
chmod 0755 "$WORK/hooks"
starts trusted-files-kept "pcrs = sha256:0-7
boot_policy = $WORK/boot.json
state_dir = $WORK/state
hook = $WORK/hooks/on-change --json" "$REF"

# Shared helpers for integration tests. Source it first:
#   . "$SOURCE_DIR/tests/integration/lib.sh"
# It creates $WORK (a fresh temp dir) and, on exit, kills every process started
# through `bg`/`swtpm_start` and removes $WORK (kept when KEEP_WORK=1).
set -euo pipefail

: "${SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${BUILD_DIR:=$SOURCE_DIR/build}"
: "${TESTDATA_DIR:=$SOURCE_DIR/../shared/testdata}"
export SOURCE_DIR BUILD_DIR TESTDATA_DIR

WORK=$(mktemp -d /tmp/attest-test.XXXXXX)
export WORK
_PIDS=()

_cleanup() {
	local rc=$?
	# CLI=admin: a passing test must have sent its commands through the
	# Admin service (admin_cli.sh counts them), or it proved nothing.
	if [ "$rc" -eq 0 ] && [ "${CLI:-}" = admin ]; then
		if [ -s "$WORK/admin_cli.calls" ]; then
			echo "PASS: $(wc -l <"$WORK/admin_cli.calls") commands went through the Admin service:" \
				"$(sort "$WORK/admin_cli.calls" | uniq -c | awk '{printf "%s %s x%s; ", $2, $3, $1}')"
		else
			echo "FAIL: CLI=admin, but no command went through the Admin service" >&2
			rc=1
		fi
	fi
	for pid in "${_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		# Show what the background programs said: the reason is usually there.
		for f in "$WORK"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $(basename "$f") (last 40 lines)" >&2
			tail -n 40 "$f" >&2
		done
	fi
	if [ "${KEEP_WORK:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "PASS: $*"; }

# need TOOL...: skip (77) when a tool is truly absent from this machine.
need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t not installed" >&2; exit 77; }
	done
}

# A TCP port on 127.0.0.1 nobody listens on right now (and its successor, for swtpm's ctrl port).
# Below the kernel's ephemeral range (32768-60999): a client that keeps
# reconnecting to a port whose server is down can otherwise be handed that
# very port as its source port and connect to itself (TCP self-connect),
# holding the port when the server comes back.
free_port() {
	/usr/bin/python3 - <<'PY'
import random, socket
for _ in range(200):
    p = random.randint(20000, 32700)
    ok = True
    for q in (p, p + 1):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", q))
        except OSError:
            ok = False
        finally:
            s.close()
    if ok:
        print(p)
        break
PY
}

# wait_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT.
wait_port() {
	local port=$1 limit=${2:-10} i
	for ((i = 0; i < limit * 20; i++)); do
		if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	fail "nothing listens on 127.0.0.1:$port after ${limit}s"
}

# log_port LOGFILE [SECONDS]: the port a server of ours bound (it logs
# "(port N"), for servers started on port 0: no window in which a test running
# beside this one can take a port picked in advance.
log_port() {
	local i p
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		p=$(grep -o -m1 '(port [0-9]*' "$1" 2>/dev/null | grep -o '[0-9]*$' || true)
		if [ -n "$p" ] && [ "$p" != 0 ]; then echo "$p"; return 0; fi
		sleep 0.05
	done
	fail "$(basename "$1"): no listening port logged after ${2:-10}s: $(tail -n 5 "$1" 2>/dev/null)"
}

# wait_log FILE PATTERN N SECONDS: until N lines of FILE match PATTERN (grep).
wait_log() {
	local i n
	for ((i = 0; i < $4 * 10; i++)); do
		n=$(grep -c -- "$2" "$1" 2>/dev/null || true)
		[ "${n:-0}" -ge "$3" ] && return 0
		sleep 0.1
	done
	fail "$(basename "$1"): $3 x '$2' not seen within $4 s (saw ${n:-0}): $(tail -n 5 "$1")"
}

# bg NAME CMD...: run CMD in the background, output to $WORK/NAME.log.
bg() {
	local name=$1; shift
	"$@" >"$WORK/$name.log" 2>&1 &
	_PIDS+=("$!")
	BG_PID=$!
}

# swtpm_start [NAME]: provision a throwaway TPM 2.0 in $WORK/NAME with swtpm's
# local CA (also inside $WORK) and start it on a free loopback port.
# Sets TCTI, TPM2TOOLS_TCTI, SWTPM_DIR, SWTPM_PORT, SWTPM_PID, EK_ROOTS.
# SWTPM_SETUP_EXTRA: more swtpm_setup options (e.g. --rsa-keysize 3072).
# SWTPM_CA_SUBJECT: the EK CA's subject ("/O=Vendor B/CN=..."): a one-level
# CA made here, instead of swtpm's own two (whose names every swtpm shares).
swtpm_start() {
	local name=${1:-tpm} dir
	need swtpm swtpm_setup
	dir=$WORK/$name
	mkdir -p "$dir/state" "$dir/localca" "$dir/ek-roots"
	if [ -n "${SWTPM_CA_SUBJECT:-}" ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/localca/signkey.pem" -out "$dir/localca/issuercert.pem" \
			-subj "$SWTPM_CA_SUBJECT" -days 3650 -addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || fail "the EK CA $SWTPM_CA_SUBJECT"
		cp "$dir/localca/issuercert.pem" "$dir/localca/swtpm-localca-rootca-cert.pem"
	fi
	cat >"$dir/swtpm-localca.conf" <<CONF
statedir = $dir/localca
signingkey = $dir/localca/signkey.pem
issuercert = $dir/localca/issuercert.pem
certserial = $dir/localca/certserial
CONF
	cat >"$dir/swtpm_setup.conf" <<CONF
create_certs_tool = /usr/bin/swtpm_localca
create_certs_tool_config = $dir/swtpm-localca.conf
create_certs_tool_options = /etc/swtpm-localca.options
active_pcr_banks = sha1,sha256
CONF
	swtpm_setup --tpm2 --tpmstate "$dir/state" --config "$dir/swtpm_setup.conf" \
		--create-ek-cert --create-platform-cert --pcr-banks sha1,sha256 --overwrite ${SWTPM_SETUP_EXTRA:-} \
		>"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; fail "swtpm_setup"; }
	cp "$dir/localca/swtpm-localca-rootca-cert.pem" "$dir/localca/issuercert.pem" "$dir/ek-roots/"
	SWTPM_DIR=$dir
	swtpm_run
	EK_ROOTS=$dir/ek-roots
	export SWTPM_DIR EK_ROOTS
}

# swtpm_run [PORT]: (re)start swtpm on $SWTPM_DIR's state, on PORT or a new
# free port. Restarting on the same port looks to a client like a power cycle.
swtpm_run() {
	SWTPM_PORT=${1:-$(free_port)}
	bg "swtpm-$(basename "$SWTPM_DIR")" swtpm socket --tpm2 --tpmstate dir="$SWTPM_DIR/state" \
		--server type=tcp,port="$SWTPM_PORT",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((SWTPM_PORT + 1)),bindaddr=127.0.0.1 \
		--flags not-need-init,startup-clear
	SWTPM_PID=$BG_PID
	wait_port "$SWTPM_PORT"
	TCTI="swtpm:host=127.0.0.1,port=$SWTPM_PORT"
	TPM2TOOLS_TCTI=$TCTI
	export TCTI TPM2TOOLS_TCTI SWTPM_PORT SWTPM_PID
}

# swtpm_fleet NAME...: swtpm_start tpmNAME for each NAME, each with
# pcr_extend_some, and every one's EK roots (each swtpm has its own local
# CA) in $WORK/roots. TCTIS[NAME] is each one's TCTI; TCTI and the swtpm_*
# state are the last one's.
swtpm_fleet() {
	local t
	declare -gA TCTIS
	mkdir -p "$WORK/roots"
	for t in "$@"; do
		swtpm_start "tpm$t"
		pcr_extend_some
		TCTIS[$t]=$TCTI
		cp "$EK_ROOTS/swtpm-localca-rootca-cert.pem" "$WORK/roots/root-$t.pem"
		cp "$EK_ROOTS/issuercert.pem" "$WORK/roots/issuer-$t.pem"
	done
}

# pass_fail_fleet: swtpm nodes a and b, b's PCR 7 moved, REF_A the
# [policy] lines a passes by (b fails them on PCR 7), the demo PKI in $P,
# and the Python stubs in $WORK/stubs: the operator and result tests' pair.
pass_fail_fleet() {
	swtpm_fleet a b
	TPM2TOOLS_TCTI=${TCTIS[b]} tpm2_pcrextend "7:sha256=$(printf 'bb%.0s' {1..32}),sha1=$(printf 'bb%.0s' {1..20})"
	REF_A=$(TPM2TOOLS_TCTI=${TCTIS[a]} pcr_policy)
	pki_make "$WORK/pki"
	P=$WORK/pki
	py_stubs "$WORK/stubs"
}

# swtpm_stop: stop the running swtpm (its state stays in $SWTPM_DIR).
swtpm_stop() {
	kill "$SWTPM_PID" 2>/dev/null || true
	wait "$SWTPM_PID" 2>/dev/null || true
}

# swtpm_add_p256_ek: swtpm 0.7.1 certifies an ECC P-384 EK only. Create the
# TCG default ECC P-256 EK (template L-2), certify it with a test CA made here,
# and store the certificate at NV 0x01c0000a as a manufacturer would.
swtpm_add_p256_ek() {
	local d=$SWTPM_DIR/p256ca
	need tpm2_createek openssl
	mkdir -p "$d"
	tpm2_createek -G ecc -c "$d/ek.ctx" -u "$d/ek.pub" >/dev/null
	tpm2_readpublic -c "$d/ek.ctx" -f pem -o "$d/ek.pem" >/dev/null
	tpm2_flushcontext -t >/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
		-subj "/O=attest tests/CN=P-256 EK test root" -keyout "$d/ca.key" -out "$d/ca.pem" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	# The CSR's own key is a placeholder; -force_pubkey puts the EK key in the certificate.
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/dummy.key" \
		-subj "/" -out "$d/ek.csr" 2>/dev/null
	cat >"$d/ext.cnf" <<'CNF'
[ek]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyAgreement
extendedKeyUsage = 2.23.133.8.1
subjectAltName = critical,dirName:tpm_dn
[tpm_dn]
# "N." prefixes keep OpenSSL from reading the OID's first arc as a duplicate index
0.2.23.133.2.1 = id:53574D20
1.2.23.133.2.2 = swtpm
2.2.23.133.2.3 = id:20191023
CNF
	openssl x509 -req -in "$d/ek.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-force_pubkey "$d/ek.pem" -days 3650 -extfile "$d/ext.cnf" -extensions ek \
		-outform DER -out "$d/ek.der" 2>/dev/null
	local size
	size=$(stat -c %s "$d/ek.der")
	tpm2_nvdefine 0x01c0000a -C p -s "$size" \
		-a "ppwrite|ppread|ownerread|authread|no_da|platformcreate" >/dev/null
	tpm2_nvwrite 0x01c0000a -C p -i "$d/ek.der" >/dev/null
	cp "$d/ca.pem" "$EK_ROOTS/p256-test-root.pem"
}

# pki_make DIR: demo mTLS PKI (certs/mkpki.sh): ca.pem, verifier.{pem,key},
# attestor.{pem,key}, attestor2.{pem,key}, other-ca.pem, rogue.{pem,key}.
pki_make() {
	bash "$SOURCE_DIR/certs/mkpki.sh" "$1" >/dev/null
}

# tls_conf NAME: the [tls] section of a config for the demo PKI in $P
# (pki_make) with NAME's certificate (verifier or attestor).
tls_conf() {
	printf '[tls]\nca = %s/ca.pem\ncert = %s/%s.pem\nkey = %s/%s.key\n' "$P" "$P" "$1" "$P" "$1"
}

# verifier_conf FILE LINES [POLICY [TAIL]]: a verifier config with the demo
# PKI in $P (pki_make): [verifier] LINES (mode, where, state...), log level
# info, [tls], [policy] POLICY (default $PCR_REF; "" for none), then TAIL
# (more sections: [secret NAME] ...). CLI=admin: with an [admin] section on
# a free port for the demo PKI's operator, which verifier_cli's commands
# use while serve runs.
verifier_conf() {
	local admin=""
	if [ "${CLI:-}" = admin ] && ! grep -q '^\[admin\]' <<<"${4:-}"; then
		admin=$(printf '[admin]\nlisten = 127.0.0.1:%s\noperators = operator\n' "$(free_port)")
	fi
	cat >"$1" <<CONF
[verifier]
$2
log_level = info
$(tls_conf verifier)
[policy]
${3-$PCR_REF}
${4:-}
$admin
CONF
}

# verifier_cli: the verifier program the operator tests run their commands
# with: the binary, or with CLI=admin (the tests' "-admin" variants,
# "# cli: local admin") admin_cli.sh, which sends them through the Admin
# service of the running verifier.
verifier_cli() {
	if [ "${CLI:-}" = admin ]; then
		echo "$SOURCE_DIR/tests/integration/admin_cli.sh"
	else
		echo "$BUILD_DIR/verifier"
	fi
}

# attestor_conf FILE MODE ADDRESS STATE_DIR [EXTRA]: an attestor config on
# $TCTI with the demo PKI in $P (pki_make), sending no measurement logs (its TPM
# is a swtpm, not this machine's). push: ADDRESS is the verifier's HOST:PORT,
# retried every 100-500 ms; pull: the address it listens on, answering the
# demo PKI's verifier only. EXTRA: more [attestor] lines.
attestor_conf() {
	local where="listen = $3" tls="verifier_identity = verifier"
	if [ "$2" = push ]; then
		where="verifier = $3
retry_initial_ms = 100
retry_max_ms = 500"
		tls="server_name = verifier"
	fi
	mkdir -p "$4"
	cat >"$1" <<CONF
[attestor]
mode = $2
$where
tcti = $TCTI
event_log =
ima_log =
state_dir = $4
log_level = info
${5:-}
$(tls_conf attestor)
$tls
CONF
}

# attest_once CONF WANT: one attestation by the attestor of CONF (push,
# --once), which must exit 0 (WANT pass) or 1 (WANT fail); its stderr in
# CONF.err.
attest_once() {
	local rc=0
	"$BUILD_DIR/attestor" --config "$1" --once --wait 20 >/dev/null 2>"$1.err" || rc=$?
	if [ "$2" = pass ]; then [ "$rc" -eq 0 ]; else [ "$rc" -eq 1 ]; fi ||
		fail "$(basename "$1" .conf): exit $rc, want $2: $(tail -n 2 "$1.err")"
}

# policy_json FILE REF: a named policy of the [policy] lines REF
# (pcr_policy's "bank.N = hex"), as `verifier policy create` takes it.
policy_json() {
	/usr/bin/python3 - "$2" >"$1" <<'PY'
import json, sys
print(json.dumps({"pcrs": dict(l.split(" = ") for l in sys.argv[1].splitlines())}, indent=1))
PY
}

# last_verdict DB EK: "pass|policy|version|reason" of the node's last verdict.
last_verdict() {
	db_rows "$1" "SELECT a.pass, a.policy_name, a.policy_version, a.reason FROM attestations a
		JOIN nodes n ON n.id = a.node_id WHERE n.ek_hash = '$2' ORDER BY a.id DESC LIMIT 1"
}

# pull_tpm NAME: swtpm NAME with PCR values (pcr_extend_some), its local CA
# copied into $WORK/roots (the ek_roots of a verifier that trusts several
# swtpms), $WORK/NAME.pub its RSA EK public (tpm2_createek -u, as `verifier
# enroll --ek-pub` takes it), and a pull attestor on it that answers the
# demo PKI's `verifier` (pki_make into $P first): what the tests' Python
# clients relay. Sets TPM_ADDR (HOST:PORT of the attestor); TCTI stays
# this TPM's. ATTESTOR_BIN: another attestor program (an installed one).
pull_tpm() {
	local f
	need tpm2_createek tpm2_flushcontext
	swtpm_start "$1"
	pcr_extend_some
	tpm2_createek -G rsa -c "$WORK/$1.ctx" -u "$WORK/$1.pub" >/dev/null
	tpm2_flushcontext -t >/dev/null
	mkdir -p "$WORK/roots"
	for f in "$EK_ROOTS"/*.pem; do cp "$f" "$WORK/roots/$1-$(basename "$f")"; done
	attestor_conf "$WORK/$1.conf" pull 127.0.0.1:0 "$WORK/$1-state"
	bg "attestor-$1" "${ATTESTOR_BIN:-$BUILD_DIR/attestor}" --config "$WORK/$1.conf"
	TPM_ADDR=127.0.0.1:$(log_port "$WORK/attestor-$1.log")
}

# extend_from FILE: every line of FILE is one tpm2_pcrextend argument (as
# tests/tools/log_extend prints them), extended in batches of 50.
extend_from() {
	local args=() line
	while IFS= read -r line; do
		args+=("$line")
		if [ "${#args[@]}" -ge 50 ]; then tpm2_pcrextend "${args[@]}" >/dev/null; args=(); fi
	done <"$1"
	if [ "${#args[@]}" -gt 0 ]; then tpm2_pcrextend "${args[@]}" >/dev/null; fi
}

# pcr_policy [BANK [PCRS]]: [policy] lines (BANK.N = hex) fixing the TPM's
# PCRs (default sha256, 0-7) as they are now: the reference a test's verifier
# judges by (without one a verified node is only "verified", never passing).
pcr_policy() {
	tpm2_pcrread "${1:-sha256}:${2:-0,1,2,3,4,5,6,7}" | awk -v bank="${1:-sha256}" '
		/^ *[0-9]+ *: *0x/ { v = $3; sub("0x", "", v); printf "%s.%s = %s\n", bank, $1, tolower(v) }'
}

# PCR_REF: [policy] lines a test verifier can judge its nodes by: PCR 0 of a
# fresh swtpm (zeros), or after pcr_extend_some the sha256 PCRs 0-7 it left
# (the same on every swtpm it ran on). Without a reference a verified node
# is only "verified", never passing.
PCR_REF="sha256.0 = $(printf '%064d' 0)"

# REBOOT_PCRS, REBOOT_REF: a quoted selection and a reference that hold across
# a restart of swtpm (which comes back with every PCR reset, where real
# firmware would measure the same boot again): the debug PCR 16, zero at boot.
REBOOT_PCRS="sha256:0-7,16+sha1:0-7"
REBOOT_REF="sha256.16 = $(printf '%064d' 0)"

# pcr_extend_some: make PCR values non-trivial (swtpm starts at zero); sets PCR_REF.
pcr_extend_some() {
	local i
	for i in 0 1 2 3 7; do
		tpm2_pcrextend "$i:sha256=$(printf 'boot component %s' "$i" | sha256sum | cut -d' ' -f1),sha1=$(printf 'boot component %s' "$i" | sha1sum | cut -d' ' -f1)" >/dev/null
	done
	PCR_REF=$(pcr_policy)
}

# py_stubs DIR: Python grpcio stubs of proto/attest.proto (attest_pb2,
# attest_pb2_grpc) and proto/admin.proto (admin_pb2, admin_pb2_grpc) into
# DIR, for the tests' independent clients and servers (run them with
# /usr/bin/python3, which has Debian's grpc).
py_stubs() {
	need protoc
	[ -x /usr/bin/grpc_python_plugin ] || { echo "SKIP: grpc_python_plugin not installed" >&2; exit 77; }
	/usr/bin/python3 -c 'import grpc, google.protobuf, cryptography' 2>/dev/null ||
		{ echo "SKIP: python3-grpcio or python3-cryptography missing" >&2; exit 77; }
	mkdir -p "$1"
	protoc -I"$SOURCE_DIR/proto" --python_out="$1" --grpc_python_out="$1" \
		--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin attest.proto admin.proto ||
		fail "protoc could not generate Python stubs"
}

# db_rows DB SQL: the rows of SQL over the verifier database DB (read only),
# one line each, columns joined by '|', blobs in hex, NULL as empty.
db_rows() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import sqlite3, sys
con = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
for row in con.execute(sys.argv[2]):
    print("|".join("" if v is None else v.hex() if isinstance(v, bytes) else str(v) for v in row))
PY
}

# unit_setpriv UNIT: UNIT_SETPRIV, the setpriv command line that starts a
# program as systemd starts UNIT's service (a unit file): User= and Group=,
# initgroups for the user (its groups from /etc/group), the bounding set, the
# ambient (and so inheritable) capabilities, no_new_privs; and U_USER,
# U_GROUP, U_AMBIENT, U_BOUNDING, U_NNP as the unit has them. Fails on a
# setting it does not model (SupplementaryGroups=).
unit_setpriv() {
	local unit=$1
	_unit_value() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
	# CAP_DAC_READ_SEARCH CAP_X -> +dac_read_search,+x (setpriv's spelling)
	_caps() {
		local c out=""
		for c in $1; do out+=",+$(tr 'A-Z' 'a-z' <<<"${c#CAP_}")"; done
		echo "${out#,}"
	}
	U_USER=$(_unit_value User)
	U_GROUP=$(_unit_value Group)
	U_AMBIENT=$(_unit_value AmbientCapabilities)
	U_BOUNDING=$(_unit_value CapabilityBoundingSet)
	U_NNP=$(_unit_value NoNewPrivileges)
	[ -n "$U_USER" ] && [ -n "$U_GROUP" ] || fail "$unit names no User= and Group="
	[ -z "$(_unit_value SupplementaryGroups)" ] || fail "$unit: SupplementaryGroups= is not modelled by unit_setpriv"
	UNIT_SETPRIV=(setpriv --reuid="$U_USER" --regid="$U_GROUP" --init-groups
		--bounding-set="-all${U_BOUNDING:+,$(_caps "$U_BOUNDING")}")
	if [ -n "$U_AMBIENT" ]; then
		UNIT_SETPRIV+=(--inh-caps="$(_caps "$U_AMBIENT")" --ambient-caps="$(_caps "$U_AMBIENT")")
	fi
	if [ "$U_NNP" = yes ]; then UNIT_SETPRIV+=(--no-new-privs); fi
}

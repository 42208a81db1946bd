# Sourced by bench.sh and bench_all.sh after tests/integration/lib.sh: the
# throwaway swtpm, PKI, verifier configuration and secret keys the pull
# exchange benchmark (bench/bench_pull) runs against.

# bench_pull_setup: swtpm with the RSA EK certificate of swtpm's local CA and
# a P-256 EK, some PCRs extended, the demo PKI in $WORK/pki, $WORK/verifier.conf
# (pull, both EK certificates required, sha256 and sha1 banks, the extended
# sha256 PCRs as its reference), an AES-256 key
# and an RSA-2048 key with its certificate for secret delivery.
bench_pull_setup() {
	need swtpm swtpm_setup tpm2_pcrextend openssl
	swtpm_start tpm
	swtpm_add_p256_ek
	pcr_extend_some
	pki_make "$WORK/pki"
	cat >"$WORK/verifier.conf" <<CONF
[verifier]
mode = pull
ek_roots = $EK_ROOTS
require_ek_cert = true
pcrs = sha256:0-7+sha1:0-7
log_level = warn
[tls]
ca = $WORK/pki/ca.pem
cert = $WORK/pki/verifier.pem
key = $WORK/pki/verifier.key
[policy]
$PCR_REF
CONF
	(umask 077; openssl rand 32 >"$WORK/bench-aes.key")
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/bench-rsa.pem" -out "$WORK/bench-rsa.crt" \
		-days 30 -subj "/CN=bench signing key" 2>/dev/null
}

# bench_secret aes|rsa: the [secret] section delivering that key, sealed to
# the PCRs the reference fixes (PCR_REF: sha256 0-7).
bench_secret() {
	case $1 in
	aes) printf '[secret bench-aes]\nkind = aes256\nkey = %s\npcrs = sha256:0-7\n' "$WORK/bench-aes.key" ;;
	rsa) printf '[secret bench-rsa]\nkind = rsa\nkey = %s\ncert = %s\npcrs = sha256:0-7\n' "$WORK/bench-rsa.pem" \
		"$WORK/bench-rsa.crt" ;;
	esac
}

#!/bin/bash
# One TLS identity may hold at most a quarter of a server's call slots
# (common/rpc/rpc_server.c): a peer that opens calls and stalls them cannot
# take every slot. A push verifier with 1 thread has 64 slots, so 16 per
# identity: "attestor" stalls 16 calls; its 17th is refused RESOURCE_EXHAUSTED
# with the reason, "verifier" (another identity of the same CA) is served
# meanwhile, and "attestor" is served again once its calls end. The same on
# the attestor's pull service (64 slots, 1 thread), identities swapped.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup openssl
PY=/usr/bin/python3
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"
"$PY" -c 'import grpc' 2>/dev/null || { echo "SKIP: python3-grpcio not installed" >&2; exit 77; }
BAD=("$PY" "$SOURCE_DIR/tests/integration/bad_peer.py")

# hog SERVER PORT PEER: bad_peer.py hog against SERVER's service as PEER; the
# server logs the refusal.
hog() {
	"${BAD[@]}" hog --target "127.0.0.1:$2" --pki "$P" --service "$1" --count 16 >"$WORK/hog-$1.log" 2>&1 ||
		fail "$1: $(cat "$WORK/hog-$1.log")"
	while read -r line; do ok "$1: ${line#ok }"; done <"$WORK/hog-$1.log"
	grep -q "peer $3 holds 16 of the 64 call slots already: call refused" "$WORK/$1.log" ||
		fail "$1: the refusal is not logged"
}

pki_make "$WORK/pki"
P=$WORK/pki
cat >"$WORK/verifier.conf" <<CONF
[verifier]
mode = push
listen = 127.0.0.1:0
ek_roots = $SOURCE_DIR/certs/ek-roots
threads = 1
log_level = info
$(tls_conf verifier)
CONF
bg verifier "$BUILD_DIR/verifier" serve --config "$WORK/verifier.conf"
vport=$(log_port "$WORK/verifier.log")
grep -q "1 threads, 64 concurrent calls" "$WORK/verifier.log" || fail "verifier slots: $(cat "$WORK/verifier.log")"
hog verifier "$vport" attestor

swtpm_start tpm
attestor_conf "$WORK/attestor.conf" pull 127.0.0.1:0 "$WORK/astate"
bg attestor "$BUILD_DIR/attestor" --config "$WORK/attestor.conf"
aport=$(log_port "$WORK/attestor.log")
grep -q "64 concurrent calls" "$WORK/attestor.log" || fail "attestor slots: $(cat "$WORK/attestor.log")"
hog attestor "$aport" verifier

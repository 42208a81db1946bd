#!/bin/bash
# The dashboard and /metrics (issue #16), served by a live push verifier
# with two swtpm nodes, read by real clients:
#  - headless Chromium loads the fleet page (after /login?token=, which
#    sets the cookie) and the failing node's page; the rendered DOM (read
#    by Python's html.parser) has both nodes with their states, the failing
#    one first with its failed check and reason; the pages have no script
#    element, and a hostname claim "<script>alert(1)</script>" (an attestor
#    in a UTS namespace of its own) and an operator's group "<b>grp</b>"
#    show as text;
#  - without the token every page is 401, a wrong one at /login 403;
#  - /metrics scraped before and after three attestations (a pass, a
#    failure, a pass) parses with python3-prometheus-client, and the
#    counters moved by exactly that: attestations by mode, result and
#    failed step, the latency histogram's count, nodes by state, the
#    store's commit histogram, the RPC calls; the process's RSS and CPU;
#  - a token file another user may read, or one too short, stops serve.
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup tpm2_pcrextend tpm2_pcrread openssl chromium unshare
/usr/bin/python3 -c 'import prometheus_client.parser' 2>/dev/null || fail "python3-prometheus-client missing"
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built"
V=$BUILD_DIR/verifier

swtpm_fleet a b
TPM2TOOLS_TCTI=${TCTIS[b]} tpm2_pcrextend "7:sha256=$(printf 'bb%.0s' {1..32}),sha1=$(printf 'bb%.0s' {1..20})"
REF_A=$(TPM2TOOLS_TCTI=${TCTIS[a]} pcr_policy)
pki_make "$WORK/pki"
P=$WORK/pki
(umask 077; openssl rand -hex 32 >"$WORK/token")
TOKEN=$(cat "$WORK/token")
vport=$(free_port)
wport=$(free_port)
mkdir -p "$WORK/vstate"
verifier_conf "$WORK/v.conf" "mode = push
listen = 127.0.0.1:$vport
ek_roots = $WORK/roots
state_dir = $WORK/vstate" "$REF_A" "[web]
listen = 127.0.0.1:$wport
token_file = $WORK/token"

# A token others may read, or a short one, stops serve before it binds.
for bad in mode short; do
	cp "$WORK/token" "$WORK/bad-token"
	if [ $bad = mode ]; then chmod 0644 "$WORK/bad-token"; else (umask 077; echo short >"$WORK/bad-token"); fi
	sed "s|^token_file = .*|token_file = $WORK/bad-token|" "$WORK/v.conf" >"$WORK/bad.conf"
	RC=0
	timeout 10 "$V" serve --config "$WORK/bad.conf" >"$WORK/bad.out" 2>&1 || RC=$?
	[ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && grep -q "token_file" "$WORK/bad.out" ||
		fail "serve with a $bad token file: exit $RC: $(cat "$WORK/bad.out")"
done
ok "a token file another user may read, or one too short, stops serve: $(tail -n 1 "$WORK/bad.out" | cut -c1-120)"

bg verifier "$V" serve --config "$WORK/v.conf"
wait_port "$vport"
wait_port "$wport"
for n in a b; do
	TCTI=${TCTIS[$n]} attestor_conf "$WORK/$n.conf" push "127.0.0.1:$vport" "$WORK/$n-state"
done
URL=https://127.0.0.1:$wport
get() { # PATH [CURL ARGS]: body into $WORK/got, status into CODE
	local path=$1
	shift
	CODE=$(curl -s -o "$WORK/got" -w '%{http_code}' --cacert "$P/ca.pem" "$@" "$URL$path")
}
scrape() { get /metrics -H "Authorization: Bearer $TOKEN"; [ "$CODE" = 200 ] || fail "/metrics: $CODE"; cp "$WORK/got" "$1"; }

for path in / /metrics /policies "/node/$(printf '0%.0s' {1..64})"; do
	get "$path"
	[ "$CODE" = 401 ] || fail "$path without the token: $CODE"
	get "$path" -H "Authorization: Bearer ${TOKEN%?}x"
	[ "$CODE" = 401 ] || fail "$path with a wrong token: $CODE"
done
get "/login?token=wrong"
[ "$CODE" = 403 ] || fail "/login with a wrong token: $CODE"
get "/" -X POST -H "Authorization: Bearer $TOKEN"
[ "$CODE" = 405 ] || fail "POST /: $CODE"
ok "without the token (or with a wrong one) every page is 401, a wrong login 403, a POST 405"

# The result keys are public: the JWKS needs no token, and it is the one
# `verifier jwks` prints.
get /.well-known/jwks.json
[ "$CODE" = 200 ] || fail "/.well-known/jwks.json: $CODE: $(cat "$WORK/got")"
"$V" jwks --config "$WORK/v.conf" >"$WORK/jwks.cli" 2>/dev/null || fail "verifier jwks"
/usr/bin/python3 - "$WORK/got" "$WORK/jwks.cli" <<'PY' || fail "/.well-known/jwks.json is not the verifier's JWKS"
import json, sys
web, cli = (json.load(open(f)) for f in sys.argv[1:])
assert web == cli and web["keys"] and web["keys"][0]["kty"] == "EC", (web, cli)
assert all("d" not in k for k in web["keys"]), web  # no private part
PY
ok "/.well-known/jwks.json without a token: the result keys, as verifier jwks prints them, public parts only"

scrape "$WORK/m0"
attest_once "$WORK/a.conf" pass
attest_once "$WORK/b.conf" fail
# A's second attestation claims the hostname "<script>alert(1)</script>".
RC=0
unshare -u /usr/bin/python3 -c 'import os, socket, sys
socket.sethostname("<script>alert(1)</script>")
os.execv(sys.argv[1], sys.argv[1:])' "$BUILD_DIR/attestor" --config "$WORK/a.conf" --once --wait 20 >/dev/null \
	2>"$WORK/a3.err" || RC=$?
[ "$RC" -eq 0 ] || fail "A's attestation from a namespace: exit $RC: $(tail -n 2 "$WORK/a3.err")"
scrape "$WORK/m1"
DB=$WORK/vstate/verifier.db
A=$(db_rows "$DB" "SELECT ek_hash FROM nodes ORDER BY id LIMIT 1")
B=$(db_rows "$DB" "SELECT ek_hash FROM nodes ORDER BY id LIMIT 1 OFFSET 1")
"$V" enroll --config "$WORK/v.conf" --group '<b>grp</b>' "${B:0:16}" >/dev/null || fail "enroll --group"

/usr/bin/python3 - "$WORK/m0" "$WORK/m1" <<'PY' || fail "/metrics before and after"
import sys
from prometheus_client.parser import text_string_to_metric_families as parse

def samples(path):
    out = {}
    for fam in parse(open(path).read()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out

m0, m1 = samples(sys.argv[1]), samples(sys.argv[2])

def moved(name, **labels):
    k = (name, tuple(sorted(labels.items())))
    return m1.get(k, 0) - m0.get(k, 0)

want = {("attest_attestations_total", (("mode", "push"), ("result", "pass"))): 2,
        ("attest_attestations_total", (("mode", "push"), ("result", "fail"), ("step", "quote"))): 1,
        ("attest_attestation_seconds_count", (("mode", "push"),)): 3,
        ("attest_store_commit_seconds_count", ()): 3}
for (name, labels), n in want.items():
    got = moved(name, **dict(labels))
    assert got == n, "%s%s moved by %s, want %s" % (name, dict(labels), got, n)
# Every other attestation series stayed.
for k, v in m1.items():
    if k[0] == "attest_attestations_total" and (k[0], k[1]) not in want:
        assert v == m0.get(k, 0), k
assert m1[("attest_nodes", (("state", "passing"),))] == 1 and m1[("attest_nodes", (("state", "failed"),))] == 1
assert m0.get(("attest_nodes", (("state", "passing"),))) == 0
calls = moved("attest_rpc_calls_total", service="attest.v1.Verifier", status="OK")
assert calls >= 3, calls
assert m1[("process_resident_memory_bytes", ())] > 1 << 20 and m1[("process_cpu_seconds_total", ())] > 0
le = m1[("attest_attestation_seconds_bucket", (("le", "+Inf"), ("mode", "push")))]
assert le == m1[("attest_attestation_seconds_count", (("mode", "push"),))]
print("PASS: /metrics parses (prometheus_client); attestations pass +2, fail{step=quote} +1, latency count +3, "
      "commits +3, Verifier calls OK +%d, nodes passing 1 failed 1, RSS %d MB" %
      (calls, m1[("process_resident_memory_bytes", ())] / 2**20))
PY

# The browser: log in, then the fleet and B's page, as rendered.
SPKI=$(openssl x509 -in "$P/verifier.pem" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)
browse() { # PATH OUT
	HOME=$WORK/chromium timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$WORK/chromium" --ignore-certificate-errors-spki-list="$SPKI" \
		--dump-dom "$URL$1" >"$2" 2>"$WORK/chromium.err" || fail "chromium $1: $(tail -n 3 "$WORK/chromium.err")"
}
browse "/login?token=$TOKEN" "$WORK/fleet.html"
browse "/node/$B" "$WORK/node.html"
# SCREENSHOT=FILE: the fleet page as a PNG too (the README's picture).
if [ -n "${SCREENSHOT:-}" ]; then
	HOME=$WORK/chromium timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$WORK/chromium" --ignore-certificate-errors-spki-list="$SPKI" --window-size=1200,520 \
		--screenshot="$SCREENSHOT" "$URL/" 2>/dev/null || fail "screenshot"
fi
/usr/bin/python3 - "$WORK/fleet.html" "$WORK/node.html" "$A" "$B" <<'PY' || fail "the rendered pages"
import sys
from html.parser import HTMLParser

class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.rows, self.cell, self.row, self.text = [], [], None, None, []
    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []
    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None
    def handle_data(self, d):
        self.text.append(d)
        if self.cell is not None:
            self.cell.append(d)

def load(path):
    d = Dom()
    d.feed(open(path).read())
    return d

fleet, node = load(sys.argv[1]), load(sys.argv[2])
a, b = sys.argv[3], sys.argv[4]
for d, what in ((fleet, "fleet"), (node, "node")):
    assert "script" not in d.tags and "b" not in d.tags, "%s page has %s" % (what, set(d.tags))
rows = [r for r in fleet.rows if r and r[0][:16] in (a[:16], b[:16])]
assert [r[0] for r in rows] == [b[:16], a[:16]], "failing first: %s" % rows
assert rows[0][2] == "failed" and rows[0][3] == "quote" and "PCR 7" in rows[0][4], rows[0]
assert rows[1][2] == "passing", rows[1]
# The hostname claim, as the verifier keeps it (record_host), shown as text.
assert rows[1][1] == "\\x3cscript\\x3ealert\\x281\\x29\\x3c\\x2fscript\\x3e", rows[1][1]
counts = dict(zip(fleet.rows[0], fleet.rows[1]))
assert counts["passing"] == "1" and counts["failed"] == "1" and counts["all"] == "2", counts
info = {r[0]: r[1] for r in node.rows if len(r) == 2}
assert info["EK hash"] == b and info["State"] == "failed" and "PCR 7" in info["Why"], info
assert info["Groups"] == "<b>grp</b>", info["Groups"]
verdicts = [r for r in node.rows if len(r) == 7 and r[0] != "When"]
assert len(verdicts) == 1 and verdicts[0][2] == "fail" and verdicts[0][3] == "quote", verdicts
print("PASS: Chromium renders the fleet (B failed first: check %s, %s...; A passing, its hostname claim as text "
      "%s) and B's page (group %s as text, 1 verdict)" % (rows[0][3], rows[0][4][:40], rows[1][1], info["Groups"]))
PY
grep -q "attest_web_requests_total{path=\"/\",status=\"200\"}" <(curl -s --cacert "$P/ca.pem" \
	-H "Authorization: Bearer $TOKEN" "$URL/metrics") || fail "the dashboard's own requests are not counted"
ok "the dashboard counts its requests in /metrics"

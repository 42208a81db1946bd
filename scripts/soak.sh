#!/bin/bash
# soak.sh: a bounded soak run (not part of the test suite).
#
#   [DURATION=600] [SOAK_N=20] [BUILD_DIR=build] [MODES="push pull"] scripts/soak.sh
#
# SOAK_N swtpm-backed attestors re-attest every second against one verifier,
# first in push mode (SOAK_N push attestors), then in pull mode (`verifier
# serve` with SOAK_N targets); each mode gets half of DURATION seconds. Every
# 10 s it samples the verifier's VmRSS and fd count, each attestor's VmRSS and
# fd count, and each TPM's transient objects and loaded sessions (tpm2_getcap
# through the swtpm TCTI: the attestor's TCTI opens a connection per command,
# so a query fits between its commands). At the end, per mode:
#  - no failing verdict (verifier log, `verifier list --json`), every node
#    passing, each with at least a quarter of the rounds the interval allows;
#  - RSS growth from the first to the last third of the run below
#    RSS_MAX_KB (5120) or RSS_MAX_PCT (10) %, for the verifier and each attestor;
#  - fd counts flat: the last third's maximum at most FD_SLACK (2) above the
#    first third's;
#  - no TPM holding transient objects or loaded sessions in two samples in a
#    row (one sample may land inside a command; a leak stays).
# Prints a summary table and exits 1 on any violation. Stops by itself and
# kills everything it started (tests/integration/lib.sh). KEEP_WORK=1 keeps
# the logs and samples.
SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
: "${BUILD_DIR:=$SOURCE_DIR/build}"
# Like the other commands: install what is missing, build what is not built.
bash "$SOURCE_DIR/scripts/deps.sh" >/dev/null
bash "$SOURCE_DIR/scripts/build.sh" "$BUILD_DIR" >/dev/null
. "$SOURCE_DIR/tests/integration/lib.sh"
need swtpm swtpm_setup openssl tpm2_getcap
PY=/usr/bin/python3
DURATION=${DURATION:-600}
N=${SOAK_N:-20}
MODES=${MODES:-push pull}
SAMPLE_S=10
: "${RSS_MAX_KB:=5120}" "${RSS_MAX_PCT:=10}" "${FD_SLACK:=2}"
export RSS_MAX_KB RSS_MAX_PCT FD_SLACK
[ -x "$BUILD_DIR/attestor" ] && [ -x "$BUILD_DIR/verifier" ] || fail "attestor/verifier not built in $BUILD_DIR"
nmodes=$(wc -w <<<"$MODES")
PER_MODE=$((DURATION / nmodes))
[ "$PER_MODE" -ge $((3 * SAMPLE_S)) ] || fail "DURATION=$DURATION: each mode needs at least $((3 * SAMPLE_S)) s"

echo "soak: $N attestors, modes: $MODES, ${PER_MODE} s each, a sample every ${SAMPLE_S} s; work dir $WORK"
pki_make "$WORK/pki"
P=$WORK/pki
mkdir -p "$WORK/roots"
TCTIS=()
for ((i = 1; i <= N; i++)); do
	swtpm_start "tpm$i"
	TCTIS[i]=$TCTI
	cp "$EK_ROOTS/swtpm-localca-rootca-cert.pem" "$WORK/roots/root$i.pem"
	cp "$EK_ROOTS/issuercert.pem" "$WORK/roots/issuer$i.pem"
done

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo -1; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# tpm_handles I KIND: how many handles of KIND (handles-transient, ...) TPM I holds.
tpm_handles() {
	local out
	out=$(TPM2TOOLS_TCTI=${TCTIS[$1]} timeout 10 tpm2_getcap "$2" 2>/dev/null) || { echo -1; return; }
	grep -c '^- ' <<<"$out" || true
}

# attestor_conf MODE I: the config of attestor I in MODE.
attestor_conf() {
	local d=$WORK/$1/a$2
	mkdir -p "$d"
	{
		echo "[attestor]"
		echo "mode = $1"
		if [ "$1" = push ]; then
			echo "verifier = 127.0.0.1:$VPORT"
			echo "retry_initial_ms = 200"
			echo "retry_max_ms = 2000"
			echo "reattest_interval = 1"
		else
			echo "listen = 127.0.0.1:0"
		fi
		echo "tcti = ${TCTIS[$2]}"
		echo "event_log ="
		echo "ima_log ="
		echo "state_dir = $d"
		echo "log_level = info"
		echo "[tls]"
		echo "ca = $P/ca.pem"
		echo "cert = $P/attestor.pem"
		echo "key = $P/attestor.key"
		# push pins the verifier by its certificate, pull by the caller's identity
		if [ "$1" = push ]; then echo "server_name = verifier"; else echo "verifier_identity = verifier"; fi
	} >"$d/attestor.conf"
}

verifier_conf() {
	cat >"$WORK/$1/verifier.conf" <<CONF
[verifier]
mode = $1
listen = 127.0.0.1:0
${2:-}
ek_roots = $WORK/roots
reattest_interval = 1
max_sessions = 256
state_dir = $WORK/$1/vstate
log_level = info
$(tls_conf verifier)
[policy]
$PCR_REF
CONF
}

# run_mode MODE: start the verifier and N attestors, sample for PER_MODE s, stop them.
run_mode() {
	local mode=$1 i t0 next targets="" pids=() apids=() vpid line
	mkdir -p "$WORK/$mode"
	if [ "$mode" = push ]; then
		verifier_conf push
		bg "$mode-verifier" "$BUILD_DIR/verifier" serve --config "$WORK/$mode/verifier.conf"
		vpid=$BG_PID
		VPORT=$(log_port "$WORK/$mode-verifier.log")
		for ((i = 1; i <= N; i++)); do
			attestor_conf push "$i"
			bg "$mode-a$i" "$BUILD_DIR/attestor" --config "$WORK/$mode/a$i/attestor.conf"
			apids[i]=$BG_PID
		done
	else
		for ((i = 1; i <= N; i++)); do
			attestor_conf pull "$i"
			bg "$mode-a$i" "$BUILD_DIR/attestor" --config "$WORK/$mode/a$i/attestor.conf"
			apids[i]=$BG_PID
		done
		for ((i = 1; i <= N; i++)); do
			# One line each: the config reader cuts lines at 200 characters.
			targets+="targets = 127.0.0.1:$(log_port "$WORK/$mode-a$i.log")"$'\n'
		done
		verifier_conf pull "$targets"
		bg "$mode-verifier" "$BUILD_DIR/verifier" serve --config "$WORK/$mode/verifier.conf"
		vpid=$BG_PID
	fi
	# Warm up: every node has passed once (AK creation and activation are behind us).
	for ((i = 0; i < 1200; i++)); do
		[ "$(grep -c "verdict PASS" "$WORK/$mode-verifier.log" || true)" -ge "$N" ] && break
		kill -0 "$vpid" 2>/dev/null || fail "$mode: the verifier died during warm-up"
		sleep 0.1
	done
	echo "soak: $mode: $(grep -c "verdict PASS" "$WORK/$mode-verifier.log" || true) passing verdicts after warm-up; sampling for ${PER_MODE} s"
	grep -c "verdict PASS" "$WORK/$mode-verifier.log" >"$WORK/$mode/passes0" || true
	# One TSV row per sample: t, verifier rss fd, then per attestor rss fd transient sessions.
	t0=$(date +%s)
	next=$t0
	while :; do
		line="$(($(date +%s) - t0))	$(rss_kb "$vpid")	$(fds "$vpid")"
		for ((i = 1; i <= N; i++)); do
			line+="	$(rss_kb "${apids[i]}")	$(fds "${apids[i]}")"
			line+="	$(tpm_handles "$i" handles-transient)	$(tpm_handles "$i" handles-loaded-session)"
		done
		echo "$line" >>"$WORK/$mode/samples.tsv"
		kill -0 "$vpid" 2>/dev/null || fail "$mode: the verifier died"
		for ((i = 1; i <= N; i++)); do
			kill -0 "${apids[i]}" 2>/dev/null || fail "$mode: attestor $i died: $(tail -n 3 "$WORK/$mode-a$i.log")"
		done
		next=$((next + SAMPLE_S))
		[ "$next" -le $((t0 + PER_MODE)) ] || break
		while [ "$(date +%s)" -lt "$next" ]; do sleep 0.2; done
	done
	echo "$(($(date +%s) - t0))" >"$WORK/$mode/seconds"
	"$BUILD_DIR/verifier" list --config "$WORK/$mode/verifier.conf" --json >"$WORK/$mode/list.json" ||
		fail "$mode: verifier list"
	for ((i = 1; i <= N; i++)); do pids+=("${apids[i]}"); done
	pids+=("$vpid")
	for i in "${pids[@]}"; do kill "$i" 2>/dev/null || true; done
	for i in "${pids[@]}"; do wait "$i" 2>/dev/null || true; done
	cp "$WORK/$mode-verifier.log" "$WORK/$mode/verifier.log"
	cat "$WORK/$mode"-a*.log >"$WORK/$mode/attestors.log"
}

for mode in $MODES; do run_mode "$mode"; done

# The verdicts, the samples and the bounds, per mode.
rc=0
"$PY" - "$WORK" "$N" $MODES <<'PY' || rc=1
import json, os, re, sys

work, n, modes = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rss_max_kb = int(os.environ["RSS_MAX_KB"])
rss_max_pct = float(os.environ["RSS_MAX_PCT"])
fd_slack = int(os.environ["FD_SLACK"])
bad = []


def thirds(rows, col):
    k = max(1, len(rows) // 3)
    return [r[col] for r in rows[:k]], [r[col] for r in rows[-k:]]


def mean(xs):
    return sum(xs) / len(xs)


for mode in modes:
    d = os.path.join(work, mode)
    rows = [list(map(int, l.split("\t"))) for l in open(os.path.join(d, "samples.tsv")) if l.strip()]
    secs = int(open(os.path.join(d, "seconds")).read())
    vlog = open(os.path.join(d, "verifier.log"), errors="replace").read()
    alog = open(os.path.join(d, "attestors.log"), errors="replace").read()
    passes = vlog.count("verdict PASS") - int(open(os.path.join(d, "passes0")).read() or 0)
    fails = vlog.count("verdict FAIL")
    listing = json.load(open(os.path.join(d, "list.json")))
    nodes = listing["nodes"]
    print("\n== %s mode: %d attestors, %d s sampled, %d samples" % (mode, n, secs, len(rows)))
    print("verdicts  %d passing in the sampled window (%.1f/s), %d failing in the log; database: %d pass, %d fail"
          % (passes, passes / max(secs, 1), fails, listing["verdicts"]["pass"], listing["verdicts"]["fail"]))
    if fails or listing["verdicts"]["fail"]:
        bad.append("%s: %d failing verdicts in the log, %d in the database" % (mode, fails, listing["verdicts"]["fail"]))
        for l in re.findall(r".*verdict FAIL.*", vlog)[:5]:
            print("   " + l)
    if len(nodes) != n or any(x["state"] != "passing" for x in nodes):
        bad.append("%s: %d nodes, states %s" % (mode, len(nodes), sorted(set(x["state"] for x in nodes))))
    least = min((x["passes"] for x in nodes), default=0)
    if least < secs // 4:
        bad.append("%s: a node passed only %d times in %d s (want >= %d)" % (mode, least, secs, secs // 4))
    print("nodes     %d, all passing: %s; passes per node %d..%d"
          % (len(nodes), all(x["state"] == "passing" for x in nodes), least, max((x["passes"] for x in nodes), default=0)))
    warns = len(re.findall(r" (warn|error) ", alog))
    print("attestor  %d warn/error log lines over all attestors" % warns)
    if len(rows) < 3:
        bad.append("%s: only %d samples" % (mode, len(rows)))
        continue

    def check_rss(what, col):
        a, b = thirds(rows, col)
        first, last = mean(a), mean(b)
        growth = last - first
        ok = growth < rss_max_kb or growth < first * rss_max_pct / 100
        if not ok:
            bad.append("%s: %s RSS grew %.0f kB (%.1f %%) from the first to the last third" %
                       (mode, what, growth, 100 * growth / first))
        return first, last, growth

    def check_fd(what, col):
        a, b = thirds(rows, col)
        if max(b) > max(a) + fd_slack:
            bad.append("%s: %s fds rose from max %d (first third) to max %d (last third)" % (mode, what, max(a), max(b)))
        return min(a), max(a), min(b), max(b)

    print("%-12s %10s %10s %9s %16s %16s" % ("process", "RSS 1st/3", "RSS last/3", "growth", "fds 1st/3", "fds last/3"))
    f, l, g = check_rss("verifier", 1)
    fa = check_fd("verifier", 2)
    print("%-12s %8.1fMB %8.1fMB %+7.0fkB %10d..%-5d %10d..%-5d" % ("verifier", f / 1024, l / 1024, g, *fa))
    worst = None
    for i in range(n):
        c = 3 + 4 * i
        f, l, g = check_rss("attestor %d" % (i + 1), c)
        fa = check_fd("attestor %d" % (i + 1), c + 1)
        if worst is None or g > worst[3]:
            worst = (i + 1, f, l, g, fa)
        if os.environ.get("SOAK_VERBOSE"):
            print("%-12s %8.1fMB %8.1fMB %+7.0fkB %10d..%-5d %10d..%-5d" % ("attestor %d" % (i + 1), f / 1024, l / 1024, g, *fa))
    i, f, l, g, fa = worst
    print("%-12s %8.1fMB %8.1fMB %+7.0fkB %10d..%-5d %10d..%-5d" % ("attestor %d*" % i, f / 1024, l / 1024, g, *fa))
    print("(* the attestor whose RSS grew most; SOAK_VERBOSE=1 lists all)")
    tmax = smax = 0
    for i in range(n):
        for kind, off in (("transient objects", 2), ("loaded sessions", 3)):
            col = [r[3 + 4 * i + off] for r in rows]
            if -1 in col:
                bad.append("%s: tpm%d: tpm2_getcap failed in a sample" % (mode, i + 1))
            for x, y in zip(col, col[1:]):
                if x > 0 and y > 0:
                    bad.append("%s: tpm%d holds %s in two samples in a row (%d, %d)" % (mode, i + 1, kind, x, y))
                    break
            if off == 2:
                tmax = max(tmax, max(col))
            else:
                smax = max(smax, max(col))
    nonzero = sum(1 for r in rows for i in range(n) if r[3 + 4 * i + 2] > 0 or r[3 + 4 * i + 3] > 0)
    print("TPMs      %d getcap samples; most transient objects seen %d, loaded sessions %d; %d samples non-zero"
          % (len(rows) * n, tmax, smax, nonzero))

print()
if bad:
    for b in bad:
        print("VIOLATION: " + b)
    sys.exit(1)
print("soak: no violation")
PY
exit "$rc"

#!/bin/bash
# The verifier's CLI through the Admin service (CLI=admin variants of the
# operator tests, lib.sh's verifier_cli): runs $BUILD_DIR/verifier with
# the same arguments, adding --server HOST:PORT and the operator's
# certificate when the command is one of the operator's (list, status,
# enroll, remove, rejected, policy, group) and the verifier its --config
# names serves [admin] listen right now; before serve starts (or after it
# stops) the command runs on the database as it always did. Each command
# that went through the service is counted in $WORK/admin_cli.calls.
set -u
V=$BUILD_DIR/verifier
cmd=${1:-}
case $cmd in
list | status | enroll | remove | rejected) head=1 ;;
policy | group) head=2 ;;
*) exec "$V" "$@" ;;
esac
# policy from-eventlog, check and from-ima read files only.
case "$cmd ${2:-}" in "policy from-eventlog" | "policy check" | "policy from-ima") exec "$V" "$@" ;; esac
config=""
prev=""
for a in "$@"; do
	[ "$prev" = --config ] && config=$a
	case $a in --config=*) config=${a#--config=} ;; esac
	prev=$a
done
[ -n "$config" ] && [ -r "$config" ] || exec "$V" "$@"
# [admin] listen and [tls] ca of that config.
read -r listen ca < <(awk '
	/^\[/ { sect = $0 }
	sect == "[admin]" && $1 == "listen" { l = $3 }
	sect == "[tls]" && $1 == "ca" { c = $3 }
	END { print l, c }' "$config")
[ -n "$listen" ] && [ -n "$ca" ] || exec "$V" "$@"
port=${listen##*:}
# Is it serving? (A closed port fails at once.)
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || exec "$V" "$@"
pki=$(dirname "$ca")
[ -n "${WORK:-}" ] && echo "$cmd $([ "$head" = 2 ] && echo "${2:-}")" >>"$WORK/admin_cli.calls"
exec "$V" "${@:1:$head}" --server "127.0.0.1:$port" --ca "$ca" --cert "$pki/operator.pem" --key "$pki/operator.key" \
	"${@:$((head + 1))}"

#!/bin/bash
# The shipped systemd units parse (systemd-analyze verify), pointing at the
# programs of this build, and start them with the subcommands that exist.
. "$SOURCE_DIR/tests/integration/lib.sh"
need systemd-analyze
for unit in tpm-attestor tpm-verifier; do
	prog=${unit#tpm-}
	sed "s|/usr/local/bin/$prog|$BUILD_DIR/$prog|" "$SOURCE_DIR/systemd/$unit.service" >"$WORK/$unit.service"
	grep -q "^ExecStart=$BUILD_DIR/$prog " "$WORK/$unit.service" || fail "$unit: ExecStart does not run $prog"
	systemd-analyze verify "$WORK/$unit.service" >"$WORK/$unit.out" 2>&1 ||
		fail "$unit: systemd-analyze verify: $(cat "$WORK/$unit.out")"
	[ ! -s "$WORK/$unit.out" ] || fail "$unit: systemd-analyze warns: $(cat "$WORK/$unit.out")"
	ok "$unit.service verifies"
done
# The verifier unit's command line is one the verifier accepts.
"$BUILD_DIR/verifier" serve --help | grep -q "serve --config FILE" || fail "verifier serve --help"
ok "verifier serve exists"

#!/bin/bash
# The shipped systemd units parse (systemd-analyze verify), pointing at the
# programs of this build, and start them with the subcommands that exist.
. "$SOURCE_DIR/tests/integration/lib.sh"
need systemd-analyze
# The units as the build configured them (systemd/*.service.in), their
# ExecStart turned from the installed program to this build's.
for unit in tpm-attestor tpm-verifier; do
	prog=${unit#tpm-}
	grep -q "^ExecStart=/[^ ]*/bin/$unit " "$BUILD_DIR/systemd/$unit.service" ||
		fail "$unit: ExecStart does not run the installed $unit"
	sed "s|^ExecStart=/[^ ]*/bin/$unit |ExecStart=$BUILD_DIR/$prog |" "$BUILD_DIR/systemd/$unit.service" >"$WORK/$unit.service"
	grep -q "^ExecStart=$BUILD_DIR/$prog " "$WORK/$unit.service" || fail "$unit: ExecStart does not run $prog"
	# Documentation=man:... is checked with man: this build's pages.
	MANPATH=$BUILD_DIR/man systemd-analyze verify "$WORK/$unit.service" >"$WORK/$unit.out" 2>&1 ||
		fail "$unit: systemd-analyze verify: $(cat "$WORK/$unit.out")"
	[ ! -s "$WORK/$unit.out" ] || fail "$unit: systemd-analyze warns: $(cat "$WORK/$unit.out")"
	ok "$unit.service verifies"
done
# The verifier unit's command line is one the verifier accepts.
"$BUILD_DIR/verifier" serve --help | grep -q "serve --config FILE" || fail "verifier serve --help"
ok "verifier serve exists"

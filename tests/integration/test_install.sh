#!/bin/bash
# `cmake --install` of this build into a throwaway root (DESTDIR, prefix /usr,
# as a package installs it): the programs under their installed names with
# --version, the units pointing at them and verifying, the EK roots and the
# examples, documentation and man pages where the verifier, the units and the
# pages say they are, every command of each program's --help in its page;
# then a full pull attestation with the installed programs, their default
# ek_roots found (an installed verifier with no ek_roots line).
. "$SOURCE_DIR/tests/integration/lib.sh"
need cmake swtpm swtpm_setup tpm2_pcrextend tpm2_createek tpm2_flushcontext openssl ldd systemd-analyze man groff
ROOT=$WORK/root

# A build tree configured for /usr, so that the programs' built-in paths
# (the default ek_roots) are those of the installed files.
cmake -S "$SOURCE_DIR" -B "$WORK/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
	-DATTEST_SYSTEMD_UNITDIR=/lib/systemd/system >"$WORK/cmake.log" 2>&1 || fail "cmake: $(tail -5 "$WORK/cmake.log")"
cmake --build "$WORK/build" -j2 --target verifier attestor >"$WORK/build.log" 2>&1 ||
	fail "build: $(tail -20 "$WORK/build.log")"
DESTDIR=$ROOT cmake --install "$WORK/build" >"$WORK/install.log" 2>&1 || fail "install: $(tail -5 "$WORK/install.log")"
ok "installed into $ROOT"

version=$(sed -n 's/^project(tpm-attest VERSION \([0-9.]*\) .*/\1/p' "$SOURCE_DIR/CMakeLists.txt")
[ -n "$version" ] || fail "no project(VERSION) in CMakeLists.txt"
for prog in tpm-verifier tpm-attestor; do
	[ -x "$ROOT/usr/bin/$prog" ] || fail "$prog not installed in /usr/bin"
	out=$("$ROOT/usr/bin/$prog" --version) || fail "$prog --version failed"
	[ "$out" = "$prog (tpm-attest) $version" ] || fail "$prog --version: '$out', want '$prog (tpm-attest) $version'"
done
ok "tpm-verifier and tpm-attestor installed, --version says $version"
libs=$(ldd "$ROOT/usr/bin/tpm-verifier")
if grep -q libtss2-esys <<<"$libs"; then fail "installed tpm-verifier links libtss2-esys"; fi
ok "installed verifier does not link ESYS"

for unit in tpm-verifier tpm-attestor; do
	f=$ROOT/lib/systemd/system/$unit.service
	[ -f "$f" ] || fail "$unit.service not installed"
	grep -q "^ExecStart=/usr/bin/$unit " "$f" || fail "$unit.service: $(grep ExecStart "$f")"
	grep -q '@' "$f" && fail "$unit.service keeps an unconfigured @VARIABLE@"
	# systemd-analyze checks that ExecStart's program exists: point it into the root.
	sed "s|^ExecStart=/usr/bin/|ExecStart=$ROOT/usr/bin/|" "$f" >"$WORK/$unit.service"
	# Documentation=man:... is checked with man: the installed pages.
	MANPATH=$ROOT/usr/share/man systemd-analyze verify "$WORK/$unit.service" >"$WORK/$unit.out" 2>&1 || fail "$unit: $(cat "$WORK/$unit.out")"
	[ ! -s "$WORK/$unit.out" ] || fail "$unit: systemd-analyze warns: $(cat "$WORK/$unit.out")"
done
ok "units installed, run /usr/bin/tpm-*, verify"

roots=$ROOT/usr/share/tpm-attest/ek-roots
want=$(ls "$SOURCE_DIR/certs/ek-roots" | grep -vc '^README.md$')
have=$(ls "$roots" | wc -l)
[ "$have" -eq "$want" ] && [ "$have" -gt 0 ] || fail "EK roots: $have installed, $want shipped"
cmp -s "$SOURCE_DIR/certs/ek-roots/IFX1.pem" "$roots/IFX1.pem" || fail "EK root IFX1.pem differs"
doc=$ROOT/usr/share/doc/tpm-attest
for f in README.md design.md threat-model.md examples/verifier-push.conf examples/attestor-pull.conf examples/mkpki.sh; do
	[ -f "$doc/$f" ] || fail "$f not installed in /usr/share/doc/tpm-attest"
done
[ -x "$doc/examples/mkpki.sh" ] || fail "mkpki.sh not executable"
grep -q '^u tpm-verifier ' "$ROOT/usr/lib/sysusers.d/tpm-verifier.conf" || fail "no sysusers.d entry for tpm-verifier"
ok "$have EK roots, examples, docs and the sysusers.d entry installed"

# The man pages: configured, clean to groff, shown by man, and describing
# every command the program's --help lists (a command added without its
# page fails here).
for prog in tpm-verifier tpm-attestor; do
	page=$ROOT/usr/share/man/man8/$prog.8
	[ -f "$page" ] || fail "$prog.8 not installed in /usr/share/man/man8"
	grep -q '@[A-Z_]*@' "$page" && fail "$prog.8 keeps an unconfigured @VARIABLE@"
	grep -q "^\.TH ${prog^^} 8 .*tpm-attest $version" "$page" || fail "$prog.8: $(grep '^\.TH' "$page")"
	warn=$(groff -man -ww -z -Tutf8 "$page" 2>&1) || fail "$prog.8: groff: $warn"
	[ -z "$warn" ] || fail "$prog.8: groff warns: $warn"
	MANWIDTH=80 man -l "$page" >"$WORK/$prog.man" 2>"$WORK/$prog.man.err" || fail "man -l $prog.8: $(cat "$WORK/$prog.man.err")"
	grep -q "^NAME" "$WORK/$prog.man" && grep -q "^SYNOPSIS" "$WORK/$prog.man" || fail "$prog.8 renders without NAME/SYNOPSIS"
	"$ROOT/usr/bin/$prog" --help >"$WORK/$prog.help"
	cmds=$(sed -n 's/^usage: [a-z]* \[\([a-z]*\)\].*/\1/p; s/^ *attestor \([a-z][a-z]*\) .*/\1/p
		s/^  \([a-z][a-z]*\)\( .*\)\{0,1\}$/\1/p' "$WORK/$prog.help" | grep -vx help | sort -u)
	[ "$(wc -w <<<"$cmds")" -ge 4 ] || fail "$prog --help: commands not found in: $(cat "$WORK/$prog.help")"
	for c in $cmds; do
		grep -q "^\.B $c\b" "$page" || fail "$prog.8 does not describe the command '$c' of --help"
	done
	ok "man $prog: $(wc -l <"$WORK/$prog.man") lines, commands $(echo $cmds)"
done

# The installed verifier reads its default ek_roots from the installed path:
# shown by a verifier config without ek_roots failing on that directory, as
# the root is not at /.
pki_make "$WORK/pki"
P=$WORK/pki
verifier_conf "$WORK/v-default.conf" "mode = pull"
rc=0
"$ROOT/usr/bin/tpm-verifier" attest --config "$WORK/v-default.conf" 127.0.0.1:1 >"$WORK/def.out" 2>&1 || rc=$?
grep -q "/usr/share/tpm-attest/ek-roots" "$WORK/def.out" ||
	fail "the default ek_roots is not /usr/share/tpm-attest/ek-roots: $(cat "$WORK/def.out")"
ok "the installed verifier's default ek_roots is /usr/share/tpm-attest/ek-roots"

# A full pull attestation with the installed programs.
ATTESTOR_BIN=$ROOT/usr/bin/tpm-attestor
pull_tpm node
verifier_conf "$WORK/v.conf" "mode = pull
ek_roots = $WORK/roots"
"$ROOT/usr/bin/tpm-verifier" attest --config "$WORK/v.conf" "$TPM_ADDR" >"$WORK/attest.out" 2>&1 ||
	fail "attestation with the installed programs: $(cat "$WORK/attest.out")"
grep -q '^PASS' "$WORK/attest.out" || fail "no PASS line: $(cat "$WORK/attest.out")"
ok "the installed tpm-verifier attests the installed tpm-attestor: PASS"

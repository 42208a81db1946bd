#!/bin/bash
# The Debian packages, built by scripts/package.sh (dpkg-buildpackage from a
# clean copy of the sources, lintian clean at warning level), installed with
# dpkg into a throwaway root and used there as an operator would:
#  - the root is this machine's own file system under an overlay (writes go
#    to a tmpfs, and /run is a tmpfs of its own), in a mount namespace of
#    this test: dpkg -i runs the real maintainer scripts and changes
#    nothing outside;
#  - the packages' contents: tpm-verifier without ESYS, every file where the
#    units and man pages say; postinst made the user tpm-verifier and the
#    directories with their owners and modes; neither service was enabled;
#    a login account named tpm-verifier is refused; an operator's mode of
#    /etc/tpm-attest survives a reinstall;
#  - a PKI made with the installed mkpki.sh (the verifier named by --san, the
#    identity the attestor answers), keys root:tpm-verifier and
#    root:tss 0640 as the man pages say; configurations made from the
#    installed examples; the installed EK roots plus swtpm's CA;
#  - both services started with their units' ExecStart= and exactly their
#    units' user, groups and capabilities (setpriv): the pull verifier keeps
#    the attestor attested and `tpm-verifier status` on the installed config
#    shows the node passing;
#  - dpkg --purge removes the programs and the state directories.
. "$SOURCE_DIR/tests/integration/lib.sh"
need dpkg-buildpackage lintian dpkg-deb unshare setpriv swtpm swtpm_setup tpm2_pcrextend
[ "$(id -u)" -eq 0 ] || fail "must run as root: it mounts an overlay root and installs into it"

# Everything below runs in a private mount namespace: the overlay and its
# mounts exist only for this test, and go with it.
if [ -z "${PACKAGES_IN_NS:-}" ]; then
	rmdir "$WORK" # the namespaced run makes its own
	trap - EXIT
	exec unshare --mount --propagation private env PACKAGES_IN_NS=1 bash "$0"
fi

R=$WORK/root
# Unmount the root before lib.sh's cleanup removes $WORK: rm -rf would
# otherwise walk into the bound /dev and /proc.
_unmount_root() {
	local rc=$?
	umount -R "$R" 2>/dev/null || umount -R -l "$R" 2>/dev/null || true
	umount "$WORK/ovl" 2>/dev/null || true
	if mountpoint -q "$R" || mountpoint -q "$WORK/ovl"; then
		echo "FAIL: the throwaway root is still mounted; $WORK kept" >&2
		KEEP_WORK=1
		[ "$rc" -eq 0 ] && rc=1
	fi
	(exit "$rc")
	_cleanup
}
trap _unmount_root EXIT

bash "$SOURCE_DIR/scripts/package.sh" "$WORK/dist" >"$WORK/package.log" 2>&1 ||
	fail "scripts/package.sh: $(tail -n 30 "$WORK/package.log")"
VDEB=$(ls "$WORK"/dist/tpm-verifier_*.deb)
ADEB=$(ls "$WORK"/dist/tpm-attestor_*.deb)
ok "built and lintian clean: $(basename "$VDEB") $(basename "$ADEB")"

dpkg-deb -c "$VDEB" >"$WORK/verifier.contents"
dpkg-deb -c "$ADEB" >"$WORK/attestor.contents"
VDEPS=$(dpkg-deb -f "$VDEB" Depends)
ADEPS=$(dpkg-deb -f "$ADEB" Depends)
grep -q libtss2-esys <<<"$VDEPS" && fail "tpm-verifier depends on ESYS: $VDEPS"
grep -q tpm-udev <<<"$ADEPS" || fail "tpm-attestor does not depend on tpm-udev (the tss user)"
for f in ./usr/bin/tpm-verifier ./lib/systemd/system/tpm-verifier.service ./usr/share/man/man8/tpm-verifier.8.gz \
	./usr/lib/sysusers.d/tpm-verifier.conf ./usr/share/tpm-attest/ek-roots/IFX1.pem \
	./usr/share/doc/tpm-verifier/examples/verifier-pull.conf ./usr/share/doc/tpm-verifier/examples/mkpki.sh \
	./usr/share/doc/tpm-verifier/copyright; do
	grep -q " $f\$" "$WORK/verifier.contents" || fail "tpm-verifier lacks $f"
done
for f in ./usr/bin/tpm-attestor ./lib/systemd/system/tpm-attestor.service ./usr/share/man/man8/tpm-attestor.8.gz \
	./usr/share/doc/tpm-attestor/examples/attestor-pull.conf ./usr/share/doc/tpm-attestor/copyright; do
	grep -q " $f\$" "$WORK/attestor.contents" || fail "tpm-attestor lacks $f"
done
if grep -q "ek-roots\|tpm-verifier" "$WORK/attestor.contents"; then fail "tpm-attestor carries the verifier's files"; fi
ok "contents: each package its own program, unit, man page, examples; the EK roots with the verifier"

# The throwaway root: / under an overlay whose writes go to a tmpfs.
mkdir -p "$WORK/ovl" "$R"
mount -t tmpfs tmpfs "$WORK/ovl"
mkdir -p "$WORK/ovl/upper" "$WORK/ovl/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$WORK/ovl/upper,workdir=$WORK/ovl/work" "$R" ||
	fail "cannot mount an overlay root"
mount --bind /dev "$R/dev"
mount -t proc proc "$R/proc"
# A /run of its own: a maintainer script's systemctl must not reach this
# machine's systemd through /run/systemd.
mount -t tmpfs tmpfs "$R/run"
in_root() { chroot "$R" "$@"; }
in_root test ! -e /usr/bin/tpm-verifier || fail "tpm-verifier is installed on this machine already"
in_root getent passwd tpm-verifier >/dev/null && fail "this machine has a tpm-verifier user already"
mkdir -p "$R/tmp/debs"
cp "$VDEB" "$ADEB" "$R/tmp/debs/"

# A login account that happens to be called tpm-verifier is not taken for ours.
in_root useradd -M -u 1500 -s /bin/sh tpm-verifier
rc=0
in_root dpkg -i /tmp/debs/"$(basename "$VDEB")" >"$WORK/dpkg-user.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q "the user tpm-verifier exists and is not a system user (uid 1500)" "$WORK/dpkg-user.log" ||
	fail "postinst with a login account tpm-verifier: exit $rc: $(tail -n 5 "$WORK/dpkg-user.log")"
in_root test ! -e /var/lib/tpm-verifier || fail "postinst made the state directory for the login account"
in_root userdel tpm-verifier
# Members of a group tpm-verifier made before would read the keys.
in_root groupadd -r tpm-verifier
in_root useradd -M -s /bin/sh -G tpm-verifier keyreader
rc=0
in_root dpkg -i /tmp/debs/"$(basename "$VDEB")" >"$WORK/dpkg-group.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q "the group tpm-verifier has members (keyreader), who could read the keys" "$WORK/dpkg-group.log" ||
	fail "postinst with a group tpm-verifier that has members: exit $rc: $(tail -n 5 "$WORK/dpkg-group.log")"
in_root userdel keyreader
in_root groupdel tpm-verifier
ok "postinst refuses a login account named tpm-verifier (uid 1500), and a group tpm-verifier with members"

in_root dpkg -i /tmp/debs/"$(basename "$VDEB")" /tmp/debs/"$(basename "$ADEB")" >"$WORK/dpkg-i.log" 2>&1 ||
	fail "dpkg -i: $(tail -n 20 "$WORK/dpkg-i.log")"
[ ! -e /usr/bin/tpm-verifier ] || fail "the install reached this machine's /usr/bin"
ok "dpkg -i into the throwaway root"

# owner_mode PATH: "user:group mode" of PATH in the root.
owner_mode() { in_root stat -c '%U:%G %a' "$1"; }
in_root getent passwd tpm-verifier | grep -q ':/var/lib/tpm-verifier:/usr/sbin/nologin$' ||
	fail "tpm-verifier user: $(in_root getent passwd tpm-verifier)"
[ "$(owner_mode /var/lib/tpm-verifier)" = "tpm-verifier:tpm-verifier 700" ] ||
	fail "/var/lib/tpm-verifier: $(owner_mode /var/lib/tpm-verifier)"
[ "$(owner_mode /var/lib/tpm-attest)" = "tss:tss 700" ] || fail "/var/lib/tpm-attest: $(owner_mode /var/lib/tpm-attest)"
[ "$(owner_mode /etc/tpm-attest)" = "root:root 755" ] || fail "/etc/tpm-attest: $(owner_mode /etc/tpm-attest)"
if ls "$R"/etc/systemd/system/*/tpm-*.service >/dev/null 2>&1; then
	fail "a service was enabled on install: $(ls "$R"/etc/systemd/system/*/tpm-*.service)"
fi
in_root man -w tpm-verifier >/dev/null && in_root man -w tpm-attestor >/dev/null || fail "man cannot find the pages"
# An operator's own mode of /etc/tpm-attest outlives a reinstall.
chmod 0750 "$R/etc/tpm-attest"
in_root dpkg -i /tmp/debs/"$(basename "$VDEB")" /tmp/debs/"$(basename "$ADEB")" >"$WORK/dpkg-again.log" 2>&1 ||
	fail "dpkg -i again: $(tail -n 20 "$WORK/dpkg-again.log")"
[ "$(owner_mode /etc/tpm-attest)" = "root:root 750" ] || fail "reinstall reset /etc/tpm-attest: $(owner_mode /etc/tpm-attest)"
chmod 0755 "$R/etc/tpm-attest"
ok "postinst: user tpm-verifier, /var/lib/tpm-verifier and /var/lib/tpm-attest 0700 with their owners; nothing enabled; man pages found"

# An operator's setup, from the installed files.
swtpm_start tpm
pcr_extend_some
E=$R/etc/tpm-attest
# The verifier's certificate names it by its host's name (--san): the TLS
# identity the attestor answers.
in_root bash /usr/share/doc/tpm-verifier/examples/mkpki.sh --san verifier=verifier.example.org /etc/tpm-attest/pki \
	>/dev/null || fail "installed mkpki.sh"
san=$(openssl x509 -in "$R/etc/tpm-attest/pki/verifier.pem" -noout -ext subjectAltName | tail -n 1 | tr -d ' ')
[ "$san" = "DNS:verifier.example.org" ] || fail "mkpki --san: the verifier's names are '$san'"
for f in attestor2.key other-ca.key rogue.key; do
	[ ! -e "$R/etc/tpm-attest/pki/$f" ] || fail "mkpki --san left the test material $f"
done
in_root chown root:tpm-verifier /etc/tpm-attest/pki/verifier.key
in_root chown root:tss /etc/tpm-attest/pki/attestor.key
chmod 0640 "$E/pki/verifier.key" "$E/pki/attestor.key"
mkdir -p "$E/ek-roots"
cp "$R"/usr/share/tpm-attest/ek-roots/* "$EK_ROOTS"/*.pem "$E/ek-roots/"
PORT=$(free_port)
# conf_set FILE KEY VALUE: KEY = VALUE in FILE (the example's line, commented or not).
conf_set() {
	grep -q "^;\? *$2 =" "$1" || fail "$(basename "$1") has no $2 line"
	sed -i "0,/^;\? *$2 =.*/s||$2 = $3|" "$1"
}
cp "$R/usr/share/doc/tpm-attestor/examples/attestor-pull.conf" "$E/attestor.conf"
conf_set "$E/attestor.conf" listen "127.0.0.1:$PORT"
conf_set "$E/attestor.conf" tcti "$TCTI"
conf_set "$E/attestor.conf" ca pki/ca.pem
conf_set "$E/attestor.conf" cert pki/attestor.pem
conf_set "$E/attestor.conf" key pki/attestor.key
conf_set "$E/attestor.conf" verifier_identity verifier.example.org
# swtpm's PCRs hold none of this machine's boot: no logs.
conf_set "$E/attestor.conf" event_log ""
conf_set "$E/attestor.conf" ima_log ""
cp "$R/usr/share/doc/tpm-verifier/examples/verifier-pull.conf" "$E/verifier.conf"
conf_set "$E/verifier.conf" ek_roots /etc/tpm-attest/ek-roots
conf_set "$E/verifier.conf" targets "127.0.0.1:$PORT"
conf_set "$E/verifier.conf" reattest_interval 1
conf_set "$E/verifier.conf" ca pki/ca.pem
conf_set "$E/verifier.conf" cert pki/verifier.pem
conf_set "$E/verifier.conf" key pki/verifier.key
printf '[policy]\n%s\n' "$PCR_REF" >>"$E/verifier.conf"

# Each service as its unit starts it: ExecStart=, user, groups, capabilities.
start_unit() { # NAME
	local unit=$R/lib/systemd/system/$1.service cmd
	unit_setpriv "$unit"
	cmd=$(sed -n 's/^ExecStart=//p' "$unit")
	[ -n "$cmd" ] || fail "$1.service has no ExecStart="
	# shellcheck disable=SC2086 # ExecStart= is a command line
	bg "$1" chroot "$R" "${UNIT_SETPRIV[@]}" $cmd
	echo "$1: $(sed -n 's/^ExecStart=//p' "$unit") as ${UNIT_SETPRIV[*]:1}"
}
start_unit tpm-attestor
wait_log "$WORK/tpm-attestor.log" "serving attest.v1.Attestor" 1 10
start_unit tpm-verifier
wait_log "$WORK/tpm-verifier.log" "verdict PASS" 2 30
rc=0
in_root tpm-verifier status --config /etc/tpm-attest/verifier.conf >"$WORK/status.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "tpm-verifier status: exit $rc: $(cat "$WORK/status.out")"
grep -qi "passing" "$WORK/status.out" || fail "status: $(cat "$WORK/status.out")"
[ "$(owner_mode /var/lib/tpm-verifier/verifier.db)" = "tpm-verifier:tpm-verifier 600" ] ||
	fail "the database: $(owner_mode /var/lib/tpm-verifier/verifier.db)"
ok "installed units' commands and users: the pull verifier keeps the attestor passing; status reads the unit's database"
for pid in "${_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
sleep 0.5

in_root dpkg --purge tpm-verifier tpm-attestor >"$WORK/purge.log" 2>&1 || fail "dpkg --purge: $(tail "$WORK/purge.log")"
for f in /usr/bin/tpm-verifier /usr/bin/tpm-attestor /var/lib/tpm-verifier /var/lib/tpm-attest; do
	in_root test ! -e "$f" || fail "$f is left after purge"
done
ok "dpkg --purge removes the programs and both state directories"

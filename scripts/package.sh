#!/usr/bin/env bash
# package.sh [OUTDIR]: the Debian packages tpm-verifier and tpm-attestor
# (debian/, dpkg-buildpackage -b) built from a clean copy of this tree, checked
# by lintian at warning level, into OUTDIR (default dist/). Installs what it
# needs first (scripts/deps.sh). Install them with
#   apt-get install ./dist/tpm-verifier_*.deb   (or ./dist/tpm-attestor_*.deb)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$src/dist}" && cd "${1:-$src/dist}" && pwd)
bash "$src/scripts/deps.sh" >&2
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
project=$(sed -n 's/^project(tpm-attest VERSION \([0-9.]*\) .*/\1/p' "$src/CMakeLists.txt")
[ "$version" = "$project" ] ||
	{ echo "package: debian/changelog is $version, CMakeLists.txt project() $project" >&2; exit 1; }

tmp=$(mktemp -d /tmp/tpm-attest-package.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
tree=$tmp/tpm-attest-$version
mkdir "$tree"
# The sources only: what git tracks (and new files not ignored), or without
# git everything but build trees and packages.
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$src" ls-files -z --cached --others --exclude-standard |
		(cd "$src" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' _) |
		tar -C "$src" --null -T - -cf - | tar -C "$tree" -xf -
else
	tar -C "$src" --exclude='./build*' --exclude=./dist -cf - . | tar -C "$tree" -xf -
fi
echo "package: building $version in $tree" >&2
(cd "$tree" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -b -uc -us) >"$tmp/build.log" 2>&1 ||
	{ tail -n 40 "$tmp/build.log" >&2; echo "package: dpkg-buildpackage failed" >&2; exit 1; }
changes=$(ls "$tmp"/tpm-attest_"$version"_*.changes)
lintian --fail-on warning --display-info --tag-display-limit 0 "$changes" >"$tmp/lintian.log" 2>&1 ||
	{ cat "$tmp/lintian.log" >&2; echo "package: lintian found warnings or errors" >&2; exit 1; }
# What lintian said below warning level (info), for the record.
sed 's/^/lintian: /' "$tmp/lintian.log" >&2
cp "$tmp"/tpm-verifier_"$version"_*.deb "$tmp"/tpm-attestor_"$version"_*.deb "$out/"
ls "$out"/tpm-*_"$version"_*.deb

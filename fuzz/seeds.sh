#!/usr/bin/env bash
# seeds.sh BUILD_DIR: the seed corpora of every fuzz target into
# BUILD_DIR/fuzz-seeds/<target>/ (made anew; nothing here is committed):
#   - fuzz/seeds/<target>/ (small hand-made seeds, committed)
#   - BUILD_DIR/fuzz/fuzz_mkseeds: software-TPM and protobuf seeds, with a
#     real event log and IMA list inside the PushQuote seed
#   - ../shared/testdata: event logs, IMA lists (binary and ASCII), EK CA
#     certificates, platform certificates
#   - examples/*.conf
#   - captures from a throwaway swtpm when swtpm and tpm2-tools are there:
#     EK and AK publics, EK and platform certificates, a quote
# Each seed starts with the selector byte its target reads (fuzz/fuzz_*.c).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: seeds.sh BUILD_DIR}
data=${TESTDATA_DIR:-$src/../shared/testdata}
out=$build/fuzz-seeds
rm -rf "$out"
mkdir -p "$out"
cp -r "$src"/fuzz/seeds/. "$out"/

# with_byte HEX FILE OUT: OUT = one selector byte, then FILE.
with_byte() { { printf "\\x$1"; cat "$2"; } >"$3"; }

elog=$data/eventlog/tpm2tools-event-arch-linux.bin
ima=$data/ima/tss-sml-ima-ng-sha1.bin
if [ -f "$elog" ] && [ -f "$ima" ]; then
	"$build"/fuzz/fuzz_mkseeds "$out" "$elog" "$ima"
else
	"$build"/fuzz/fuzz_mkseeds "$out"
fi

if [ -d "$data" ]; then
	for f in "$data"/eventlog/*.bin; do cp "$f" "$out/eventlog/$(basename "$f")"; done
	# logpolicy: each boot log as sent (both banks quoted) and with its
	# data-hashing digests made honest (sha1 quoting PCRs 4 and 7 alone);
	# IMA lists after their selector.
	mkdir -p "$out/logpolicy"
	for f in "$data"/eventlog/*.bin; do
		with_byte 00 "$f" "$out/logpolicy/$(basename "$f")"
		with_byte 0c "$f" "$out/logpolicy/honest-$(basename "$f")"
	done
	for f in "$data"/ima/*.bin; do with_byte 01 "$f" "$out/logpolicy/$(basename "$f")"; done
	for f in "$data"/ima/*sha256*.txt; do with_byte 03 "$f" "$out/logpolicy/$(basename "$f")"; done
	for f in "$data"/ima/*.bin; do with_byte 00 "$f" "$out/ima/$(basename "$f")"; done
	for f in "$data"/ima/*.txt; do
		case $f in
		*sha256*) b=01 ;; *sha384*) b=02 ;; *sha512*) b=03 ;; *) b=00 ;;
		esac
		{ printf '\x01'; printf "\\x$b"; cat "$f"; } >"$out/ima/$(basename "$f")"
	done
	# EK CA certificates as DER (a few: they all share one parser).
	n=0
	for f in "$data"/ek-roots/*; do
		openssl x509 -in "$f" -outform der -out "$out/ekcert/tmp.der" 2>/dev/null ||
			openssl x509 -inform der -in "$f" -outform der -out "$out/ekcert/tmp.der" 2>/dev/null || continue
		with_byte 00 "$out/ekcert/tmp.der" "$out/ekcert/$(basename "$f").der"
		n=$((n + 1))
		[ "$n" -lt 12 ] || break
	done
	rm -f "$out/ekcert/tmp.der"
	for f in "$data"/platformcerts/*.cer; do with_byte 01 "$f" "$out/ekcert/platform-$(basename "$f")"; done
fi
for f in "$src"/examples/attestor-*.conf; do cp "$f" "$out/attestor_config/"; done
for f in "$src"/examples/verifier-*.conf; do cp "$f" "$out/verifier_config/"; done

# swtpm captures, best effort: a seed corpus without them still works.
capture() {
	SOURCE_DIR=$src BUILD_DIR=$build
	. "$src/tests/integration/lib.sh"
	need tpm2_createek tpm2_createak tpm2_quote tpm2_nvread
	swtpm_start
	local d=$SWTPM_DIR
	tpm2_nvread 0x01c00002 -o "$d/ekcert-rsa.der" >/dev/null 2>&1 || true
	tpm2_nvread 0x01c00016 -o "$d/ekcert-ecc.der" >/dev/null 2>&1 || true
	tpm2_nvread 0x01c08000 -o "$d/platform.der" >/dev/null 2>&1 || true
	tpm2_createek -G rsa -c "$d/ek.ctx" -u "$d/ek-rsa.pub" >/dev/null
	tpm2_createak -C "$d/ek.ctx" -c "$d/ak.ctx" -G ecc -g sha256 -s ecdsa -u "$d/ak-ecc.pub" >/dev/null
	tpm2_flushcontext -t >/dev/null
	tpm2_quote -c "$d/ak.ctx" -l sha256:0,1,2,3+sha1:0 -q 00112233445566778899aabbccddeeff \
		-m "$d/quote.msg" -s "$d/quote.sig" >/dev/null
	tpm2_flushcontext -t >/dev/null
	tpm2_createak -C "$d/ek.ctx" -c "$d/akr.ctx" -G rsa -g sha256 -s rsassa -u "$d/ak-rsa.pub" >/dev/null
	tpm2_flushcontext -t >/dev/null
	tpm2_createek -G ecc -c "$d/ekc.ctx" -u "$d/ek-ecc.pub" >/dev/null
	tpm2_flushcontext -t >/dev/null
	for f in ek-rsa ek-ecc ak-ecc ak-rsa; do cp "$d/$f.pub" "$out/tpmpub/swtpm-$f"; done
	for f in ekcert-rsa ekcert-ecc; do
		[ -s "$d/$f.der" ] && with_byte 00 "$d/$f.der" "$out/ekcert/swtpm-$f"
	done
	[ -s "$d/platform.der" ] && with_byte 01 "$d/platform.der" "$out/ekcert/swtpm-platform"
	# TPM2B_ATTEST: the message with its size in front (the target re-signs it).
	local len
	len=$(stat -c %s "$d/quote.msg")
	{ printf '\x00'; printf "\\x$(printf %02x $((len >> 8)))\\x$(printf %02x $((len & 255)))"; cat "$d/quote.msg"; } \
		>"$out/quote/swtpm-attest"
	with_byte 01 "$d/quote.sig" "$out/quote/swtpm-signature"
	return 0
}
if command -v swtpm >/dev/null 2>&1; then
	( capture ) >"$build/fuzz-seeds.log" 2>&1 || echo "seeds: no swtpm captures (see $build/fuzz-seeds.log)" >&2
fi
for d in "$out"/*/; do printf '%s %d\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)"; done

#!/usr/bin/env bash
# Install every Debian 12 package the build, the demo and the tests need.
# Idempotent: runs apt-get only when something is missing. Needs root.
set -euo pipefail

PACKAGES=(
	build-essential cmake pkg-config clang libclang-rt-14-dev
	libssl-dev openssl
	libgrpc-dev protobuf-c-compiler libprotobuf-c-dev
	libtss2-dev swtpm swtpm-tools tpm2-tools
	libsqlite3-dev libinih-dev libcmocka-dev libjson-c-dev ima-evm-utils
	libmicrohttpd-dev                # the dashboard and /metrics (verifier/web/)
	chromium python3-prometheus-client curl  # test_web: the rendered pages, the metrics' format
	python3 python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc
	python3-cryptography util-linux  # secrets_client.py; setpriv (test_no_core_dumps)
	python3-jwt  # test_results: the attestation results checked independently
	xxd systemd                      # the tpm2-tools interop tests; systemd-analyze (test_systemd_units)
	man-db groff-base                # man -l, groff (test_install: the man pages)
	debhelper dpkg-dev fakeroot lintian adduser  # the Debian packages (test_packages)
)

missing=()
for p in "${PACKAGES[@]}"; do
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps: all ${#PACKAGES[@]} packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root (or: sudo $0)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# build.sh [DIR [cmake args...]]: configure and build into DIR (default build/),
# warnings as errors (the development and CI build; packagers leave it off).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$src/build}
shift || true
mkdir -p "$dir"
cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTEST_WERROR=ON "$@" >"$dir/cmake.log" 2>&1 ||
	{ cat "$dir/cmake.log" >&2; exit 1; }
cmake --build "$dir" -j"$(nproc)"

#!/bin/sh
# Gate benchmark (numbers, not pass/fail): per-call overhead against a bare
# MHD server answering the same bytes at 1, 16 and 128 concurrent clients,
# then memory per concurrent rollout.  Usage: gate_bench.sh [BUILD_DIR]
set -eu
build=${1:-build}
bin="$build/tests/bench/gate_bench"
[ -x "$bin" ] || { echo "build first: cmake --build $build --target gate_bench" >&2; exit 2; }
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r)"
"$bin" latency -n "${CALLS:-200}" -b "${BODY:-30000}" -c 1,16,128
"$bin" memory -r "${ROLLOUTS:-128}" -b "${BODY:-30000}"

#!/bin/sh
# Gate benchmark (numbers, not pass/fail).  Build with -DCMAKE_BUILD_TYPE=Release.
#  1. per-call overhead against a bare MHD server (same setup, same answer
#     bytes) at 1, 16 and 128 concurrent clients, closed loop (saturation),
#     with an OpenCode-sized (30 KB) and a small (2 KB) request body;
#     and the 30 KB request again as an Anthropic Messages call and as a
#     Gemini call (each dialect edge's cost is the difference), and every
#     dialect against chat completions in one run with its translation alone;
#  2. the same at 128 clients that pause ~THINK ms between calls like agents;
#  3. memory per concurrent rollout (RSS delta / N, gate in its own process).
# Usage: gate_bench.sh [BUILD_DIR]
set -eu
build=${1:-build}
bin="$build/tests/bench/gate_bench"
[ -x "$bin" ] || { echo "build first: cmake --build $build --target gate_bench" >&2; exit 2; }
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r)"
"$bin" latency -n "${CALLS:-200}" -b 30000 -c 1,16,128
"$bin" latency -n "${CALLS:-200}" -b 2000 -c 1,16,128
"$bin" latency -n "${CALLS:-200}" -b 30000 -c 1,16,128 -d messages
"$bin" latency -n "${CALLS:-200}" -b 30000 -c 1,16,128 -d gemini
"$bin" dialects -n "${CALLS:-200}" -b 30000
"$bin" dialects -n "${CALLS:-200}" -b 30000 -p 1 -i 200
"$bin" latency -n 50 -b 30000 -c 16,128 -t "${THINK:-50}"
"$bin" memory -r "${ROLLOUTS:-128}" -b 30000

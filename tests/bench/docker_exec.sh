#!/bin/sh
# Exec round-trip benchmark for sandbox_docker against the docker CLI and
# python3-docker on the same daemon and container.  Prints p50/p90/p99
# and ratios; not a pass/fail test.
#   usage: tests/bench/docker_exec.sh [BUILD_DIR] [RUNS]
# needs: a running docker daemon, docker CLI, python3-docker, busybox-static
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
runs=${2:-200}
"$here/../conformance/make-docker-image.sh" >/dev/null
cmake --build "$build" --target bench_docker_exec >/dev/null
exec "$build/bin/bench_docker_exec" -n "$runs" -d "$build/plugins"

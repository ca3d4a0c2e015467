#!/usr/bin/env bash
# A local sandbox with an image against one without, once the image is
# cached: `corral sandbox create` → `exec sh -c :` → `rm` through the CLI,
# RUNS times each, interleaved, in the same run (docs/images.md,
# "Benchmark").  Prints p50/p90 wall milliseconds and the ratio, never
# pass/fail; the goal: with an image within 2x of without.
#   usage: tests/bench/image_sandbox.sh [BUILD_DIR] [RUNS]
# needs: docker (to push the image), docker-registry, busybox, bwrap
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
runs=${2:-30}
CORRAL=$build/bin/corral
source "$here/../integration/lib.sh"
source "$here/../integration/registry_lib.sh"
export CORRAL_PLUGIN_PATH="$build/plugins" CORRAL_STATE_DIR="$WORK/state" CORRAL_IMAGE_CACHE="$WORK/cache"
trap 'stop_registry; rm -rf "$WORK"' EXIT
command -v bwrap >/dev/null || skip "bubblewrap is not installed"
docker info >/dev/null 2>&1 || skip "no docker daemon"
start_registry
make_rootfs_tar
img=$REG/bench/busybox:1
docker import "$WORK/rootfs.tar" "$img" >/dev/null && docker push -q "$img" >/dev/null || { echo "push failed" >&2; exit 1; }
docker rmi -f "$img" >/dev/null 2>&1
"$CORRAL" -q image pull "$img" >/dev/null || { echo "corral image pull failed" >&2; exit 1; }

once() { # once [--image REF]: milliseconds of create → exec sh -c : → rm
  local t0 t1 id
  t0=$(date +%s%N)
  id=$("$CORRAL" -q sandbox create --backend local "$@") || { echo "create failed" >&2; exit 1; }
  "$CORRAL" -q sandbox exec "$id" -- sh -c : || { echo "exec failed" >&2; exit 1; }
  "$CORRAL" -q sandbox rm "$id" >/dev/null || { echo "rm failed" >&2; exit 1; }
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
: >"$WORK/with"; : >"$WORK/without"
for _ in $(seq "$runs"); do
  once --image "$img" >>"$WORK/with"
  once >>"$WORK/without"
done
pct() { sort -n "$1" | awk -v p="$2" '{a[NR]=$1} END {i=int(NR*p+0.5); if (i<1) i=1; print a[i]}'; }
w50=$(pct "$WORK/with" 0.5) w90=$(pct "$WORK/with" 0.9) n50=$(pct "$WORK/without" 0.5) n90=$(pct "$WORK/without" 0.9)
echo "local sandbox create -> exec sh -c : -> rm through the CLI, $runs runs each, interleaved"
echo "with the cached image $img: p50 $w50 ms, p90 $w90 ms"
echo "without (the host's system): p50 $n50 ms, p90 $n90 ms"
awk -v a="$w50" -v b="$n50" 'BEGIN {printf "ratio with/without at p50: %.2fx (goal <= 2x)\n", a / b}'

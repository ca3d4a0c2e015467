#!/usr/bin/env bash
# Image pull + unpack benchmark: a multi-layer image (busybox plus LAYERS
# layers of SIZE_MB random MiB each, gzip as docker pushes them) from a
# local docker-registry, fresh cache each run: corral image pull, against
# skopeo copy + umoci unpack --rootless and against docker pull, measured
# in the same run (wall time and peak RSS).  Prints ratios, never
# pass/fail; the goal: at least 1.5x faster than skopeo+umoci, no slower
# than docker pull, peak memory flat as the image grows.
#   usage: tests/bench/image_pull.sh [BUILD_DIR] [SIZE_MB] [LAYERS] [RUNS]
# needs: docker, docker-registry, skopeo, umoci, busybox, /usr/bin/time
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
mb=${2:-32}
layers=${3:-3}
runs=${4:-3}
CORRAL=$build/bin/corral
source "$here/../integration/lib.sh"
source "$here/../integration/registry_lib.sh"
trap 'stop_registry; rm -rf "$WORK"' EXIT
for t in skopeo umoci; do command -v $t >/dev/null || skip "$t is not installed"; done
start_registry
docker info >/dev/null 2>&1 || skip "no docker daemon"
make_rootfs_tar
base=corral-bench-base:$$
img=$REG/bench/layers:$mb-$layers
docker import "$WORK/rootfs.tar" "$base" >/dev/null
{ echo "FROM $base"; for i in $(seq "$layers"); do echo "RUN dd if=/dev/urandom of=/blob$i bs=1048576 count=$mb 2>/dev/null"; done; } >"$WORK/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t "$img" -f "$WORK/Dockerfile" "$WORK" >/dev/null 2>&1 || docker build -q -t "$img" -f "$WORK/Dockerfile" "$WORK" >/dev/null
docker push -q "$img" >/dev/null
docker rmi -f "$img" "$base" >/dev/null 2>&1

measure() { # measure CMD...: "seconds rss_kib" of the command (fresh state made by the caller)
  /usr/bin/time -f "%e %M" -o "$WORK/t" "$@" >/dev/null 2>"$WORK/err" || { echo "failed: $*" >&2; cat "$WORK/err" >&2; }
  cat "$WORK/t"
}
best() { sort -n | head -1; }
echo "image: $((layers + 1)) layers, $((mb * layers)) MiB of random data; best of $runs runs"
: >"$WORK/corral" ; : >"$WORK/skopeo"; : >"$WORK/docker"
for r in $(seq "$runs"); do
  rm -rf "$WORK/cache"
  CORRAL_IMAGE_CACHE=$WORK/cache measure "$CORRAL" -q image pull "$img" >>"$WORK/corral"
  rm -rf "$WORK/oci" "$WORK/bundle"
  /usr/bin/time -f "%e %M" -o "$WORK/t1" skopeo copy -q --src-tls-verify=false "docker://$img" "oci:$WORK/oci:x" >/dev/null 2>&1
  /usr/bin/time -f "%e %M" -o "$WORK/t2" umoci unpack --rootless --image "$WORK/oci:x" "$WORK/bundle" >/dev/null 2>&1
  awk 'NR==FNR{s=$1; m=$2; next}{printf "%.2f %d\n", s+$1, (m>$2?m:$2)}' "$WORK/t1" "$WORK/t2" >>"$WORK/skopeo"
  docker rmi -f "$img" >/dev/null 2>&1
  measure docker pull -q "$img" >>"$WORK/docker"
  docker rmi -f "$img" >/dev/null 2>&1
done
c=$(best <"$WORK/corral"); s=$(best <"$WORK/skopeo"); d=$(best <"$WORK/docker")
printf '%-22s %8s %12s\n' tool seconds peak_rss_kib
printf '%-22s %8s %12s\n' "corral image pull" $c "skopeo copy+umoci" $s "docker pull (CLI)" $d
awk -v c="${c%% *}" -v s="${s%% *}" -v d="${d%% *}" 'BEGIN{
  printf "corral is %.2fx faster than skopeo+umoci, %.2fx the speed of docker pull\n", s/c, d/c }'
echo "(docker pull's peak RSS is the CLI's; the daemon does the work)"

#!/bin/sh
# ctest wrapper: corral-conformance against the docker backend.
#   $1 = corral-conformance binary, $2 = plugin dir.
# Skips (77) when no Docker daemon answers.  The image is
# $CORRAL_CONFORMANCE_DOCKER_IMAGE (must exist: a missing one fails), else
# corral-test/busybox:1, built by make-docker-image.sh when missing
# (skipped when that cannot be done).  corral never pulls.
bin=$1 dir=$2
docker info >/dev/null 2>&1 || { echo "no docker daemon: skipped"; exit 77; }
if [ -n "${CORRAL_CONFORMANCE_DOCKER_IMAGE:-}" ]; then
  img=$CORRAL_CONFORMANCE_DOCKER_IMAGE
else
  img=corral-test/busybox:1
  docker image inspect "$img" >/dev/null 2>&1 ||
    sh "$(dirname "$0")/make-docker-image.sh" "$img" >/dev/null 2>&1 || {
    echo "image $img not on the daemon, cannot build it (busybox-static?), CORRAL_CONFORMANCE_DOCKER_IMAGE unset: skipped"
    exit 77; }
fi
exec "$bin" --plugin docker --plugin-dir "$dir" --skip-if-missing --image "$img"

#!/usr/bin/env bash
# ctest wrapper: corral-conformance against the local backend running a
# container image, as a user would: corral-test/busybox:1 (built by
# make-docker-image.sh when missing) pushed to Debian's docker-registry on
# 127.0.0.1, then `--image 127.0.0.1:PORT/conformance/busybox:1`, which
# corral pulls into a fresh cache and every sandbox of the suite runs on.
#   $1 = corral-conformance binary, $2 = plugin dir.
# Skips (77) without bubblewrap, docker or docker-registry, unless
# CORRAL_REQUIRE_BACKENDS is set.
bin=$1 dir=$2
WORK=$(mktemp -d /tmp/corral-conf-image-XXXXXX)
# shellcheck source=../integration/registry_lib.sh
source "$(dirname "$0")/../integration/registry_lib.sh"
REG_PID=
trap '[ -n "$REG_PID" ] && stop_registry; rm -rf "$WORK"' EXIT
command -v bwrap >/dev/null || skip "bubblewrap is not installed"
docker info >/dev/null 2>&1 || skip "no docker daemon"
img=corral-test/busybox:1
docker image inspect "$img" >/dev/null 2>&1 || sh "$(dirname "$0")/make-docker-image.sh" "$img" >/dev/null 2>&1 ||
  skip "image $img missing and cannot be built (busybox-static?)"
start_registry
ref=$REG/conformance/busybox:1
docker tag "$img" "$ref" && docker push -q "$ref" >/dev/null || { echo "not ok - push $ref"; exit 1; }
docker rmi "$ref" >/dev/null 2>&1
export CORRAL_IMAGE_CACHE=$WORK/cache
"$bin" --plugin local --plugin-dir "$dir" --skip-if-missing --image "$ref"
rc=$?
# Every sandbox of the suite ran on the pulled image's root filesystem.
if [ "$rc" -eq 0 ] && [ "$(ls "$CORRAL_IMAGE_CACHE/rootfs" 2>/dev/null | wc -l)" -ne 1 ]; then
  echo "not ok - the image was not pulled into $CORRAL_IMAGE_CACHE"; rc=1
fi
exit "$rc"

#!/usr/bin/env bash
# Builds corral-test/bookworm:1, a minimal Debian 12 image for running agent
# CLIs and tasks in the docker backend: glibc, bash, coreutils and ripgrep
# (what the agents need offline).  No registry is reachable, so the rootfs
# comes from debootstrap against the machine's Debian mirror and enters the
# daemon through `docker import`.  Idempotent: an existing image is kept;
# the rootfs tarball is cached in /var/cache/corral-ci.
set -euo pipefail
IMAGE=${1:-corral-test/bookworm:1}
CACHE=/var/cache/corral-ci
TARBALL=$CACHE/bookworm-agents-rootfs.tar
MIRROR=${DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "make-agent-image: $IMAGE already present"
  exit 0
fi
mkdir -p "$CACHE"
if [ ! -s "$TARBALL" ]; then
  command -v debootstrap >/dev/null || { echo "make-agent-image: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
  root=$(mktemp -d /tmp/corral-bookworm-XXXXXX)
  trap 'rm -rf "$root"' EXIT
  echo "make-agent-image: debootstrap bookworm from $MIRROR (a few minutes, cached afterwards)"
  debootstrap --variant=minbase --include=ripgrep,ca-certificates bookworm "$root" "$MIRROR" >/tmp/corral-debootstrap.log 2>&1 ||
    { tail -20 /tmp/corral-debootstrap.log >&2; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -cf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"
fi
docker import "$TARBALL" "$IMAGE" >/dev/null
echo "make-agent-image: imported $IMAGE"

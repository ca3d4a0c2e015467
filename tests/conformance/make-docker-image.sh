#!/bin/sh
# Build the tiny test image corral's docker tests use, without any registry:
# a rootfs made of Debian's busybox-static (/bin/busybox plus applet
# symlinks) fed to `docker import`.  Idempotent: an existing tag is kept
# unless --force is given.
#
# usage: make-docker-image.sh [--force] [TAG]     (default corral-test/busybox:1)
# needs: docker (daemon reachable), busybox-static (apt), tar
set -eu

force=0
if [ "${1:-}" = "--force" ]; then force=1; shift; fi
tag=${1:-corral-test/busybox:1}

if [ "$force" = 0 ] && docker image inspect "$tag" >/dev/null 2>&1; then
    echo "make-docker-image: $tag already exists"
    exit 0
fi

bb=/bin/busybox
# ldd (libc-bin, always there) says "not a dynamic executable" for a static one.
if ! [ -x "$bb" ] || ! LC_ALL=C ldd "$bb" 2>&1 | grep -q 'not a dynamic executable'; then
    echo "make-docker-image: need a static /bin/busybox (apt-get install busybox-static)" >&2
    exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT INT TERM
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" \
         "$root/tmp" "$root/root" "$root/workspace" "$root/proc" "$root/sys" "$root/dev"
chmod 1777 "$root/tmp"
cp "$bb" "$root/bin/busybox"
# One symlink per applet, at the place busybox itself would install it.
"$bb" --list-full | while read -r applet; do
    case "$applet" in bin/busybox) continue ;; esac
    mkdir -p "$root/$(dirname "$applet")"
    ln -sf /bin/busybox "$root/$applet"
done
cat >"$root/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
corral:x:1000:1000:corral:/workspace:/bin/sh
PW
cat >"$root/etc/group" <<'GR'
root:x:0:
nogroup:x:65534:
corral:x:1000:
GR

tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . |
    docker import --change 'CMD ["/bin/sh"]' --change 'WORKDIR /workspace' - "$tag" >/dev/null
echo "make-docker-image: built $tag"

#!/bin/bash
# Reproducible-build check: builds and installs the tree twice, from copies
# in two different directories (different path lengths), with the same
# SOURCE_DATE_EPOCH and distribution flags, and compares the SHA-256 of
# every installed file.  Also greps the installed files for the build paths.
#
#   packaging/repro.sh            exit 0 when both installs are identical
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/corral-repro-XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$SRC" log -1 --format=%ct 2>/dev/null || echo 1700000000)}
export LC_ALL=C TZ=UTC
# The flags a distribution build uses (dpkg-buildflags adds its own
# -ffile-prefix-map for the package directory; ours must do without it).
CFLAGS="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security"
export CFLAGS

copy_tree() { # copy_tree DEST: tracked + untracked-not-ignored files
  mkdir -p "$1"
  (cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
     xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' _ | tar --null -T - -cf -) | tar -xf - -C "$1"
}
build_in() { # build_in DIR: source in DIR/src, build in DIR/b, install to DIR/root
  copy_tree "$1/src"
  cmake -S "$1/src" -B "$1/b" -DCMAKE_BUILD_TYPE=None -DCMAKE_INSTALL_PREFIX=/usr \
        -DCORRAL_WERROR=OFF -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$1/b" -j"$(nproc)" >/dev/null
  DESTDIR="$1/root" cmake --install "$1/b" >/dev/null
  (cd "$1/root" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$1/sums"
}
A="$WORK/a"
B="$WORK/second-build-in-a-much-longer-directory-name"
build_in "$A"
build_in "$B"
n=$(wc -l <"$A/sums")
fail=0
if diff -u "$A/sums" "$B/sums"; then
  echo "ok - $n installed files are bit-identical across two build directories"
else
  echo "not ok - installed files differ between builds (diff above)"; fail=1
fi
leaks=$(grep -rlF -e "$WORK" -e "$SRC" "$A/root" "$B/root" 2>/dev/null || true)
if [ -z "$leaks" ]; then
  echo "ok - no build or source path in any installed file"
else
  echo "not ok - build paths leak into:"; echo "$leaks" | sed 's/^/    /'; fail=1
fi
dated=$(grep -rlE "$(date -u +%Y-%m-%d)T|$(date -u '+%b %e %Y')" "$A/root" 2>/dev/null || true)
if [ -z "$dated" ]; then echo "ok - no build date in any installed file"
else echo "not ok - the build date appears in:"; echo "$dated" | sed 's/^/    /'; fail=1; fi
exit $fail

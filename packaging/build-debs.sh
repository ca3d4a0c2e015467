#!/bin/bash
# Builds corral's Debian packages from this tree without touching it.
#
#   packaging/build-debs.sh [OUTDIR]        (default OUTDIR: ./_debs)
#
# dpkg-buildpackage wants ./debian at the source root, so the tree (tracked
# and untracked-but-not-ignored files: what `git status` would commit) is
# copied to a scratch directory, packaging/debian becomes debian/ there, and
# the .debs, .buildinfo and .changes land in OUTDIR.
#
# Backend plugins written on other branches may be absent from this tree: a
# backend package whose plugin sources are missing is left out through the
# build profile pkg.corral.no<name> (debian/control's Build-Profiles), so
# the control file stays static and nothing empty gets built.  Extra
# dpkg-buildpackage arguments: DPKG_BUILDPACKAGE_ARGS; DEB_BUILD_OPTIONS is
# passed through (e.g. nocheck).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mkdir -p "${1:-$SRC/_debs}" && cd "${1:-$SRC/_debs}" && pwd)
SCRATCH=$(mktemp -d /tmp/corral-debs-XXXXXX)
# KEEP=1 leaves the scratch tree for inspection.
# mktemp makes it 0700: tests that drop to an unprivileged user need to
# reach the build tree, as in any ordinary build directory.
chmod 0755 "$SCRATCH"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$SCRATCH"' EXIT

version=$(dpkg-parsechangelog -l "$SRC/packaging/debian/changelog" -S Version)
upstream=${version%-*}
TREE="$SCRATCH/corral-$upstream"
mkdir -p "$TREE"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
     xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' _ |
     tar --null -T - -cf -) | tar -xf - -C "$TREE"
else
  tar -C "$SRC" --exclude='./build*' --exclude='./_*' -cf - . | tar -xf - -C "$TREE"
fi
rm -rf "$TREE/debian"
cp -a "$SRC/packaging/debian" "$TREE/debian"

profiles=()
for b in docker e2b hf islo; do
  if [ ! -f "$TREE/plugins/sandbox/$b/CMakeLists.txt" ]; then
    profiles+=("pkg.corral.no$b")
    echo "build-debs: plugins/sandbox/$b absent: corral-plugin-$b is not built"
  fi
done
args=(-us -uc -b)
if [ ${#profiles[@]} -gt 0 ]; then
  p=$(IFS=,; echo "${profiles[*]}")
  args+=("-P$p")
fi
# shellcheck disable=SC2206
args+=(${DPKG_BUILDPACKAGE_ARGS:-})
(cd "$TREE" && dpkg-buildpackage "${args[@]}")
for f in "$SCRATCH"/*.deb "$SCRATCH"/*.buildinfo "$SCRATCH"/*.changes; do
  [ -e "$f" ] && cp "$f" "$OUT/"
done
echo "build-debs: packages in $OUT:"
ls -1 "$OUT"/*.deb

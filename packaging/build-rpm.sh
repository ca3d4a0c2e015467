#!/bin/bash
# Builds corral's binary RPMs with `rpmbuild -bb` from a `git archive`
# tarball of this tree (HEAD plus uncommitted changes to tracked files).
#
#   packaging/build-rpm.sh [OUTDIR]          (default OUTDIR: ./_rpms)
#
# On a Debian machine the BuildRequires name Fedora packages, so they are
# not checked (--nodeps): the Debian build dependencies of packaging/debian
# are what is installed.  Backends whose plugin sources are absent are
# disabled with --without <name>.  RPMBUILD_ARGS adds arguments (e.g.
# "--without check").
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mkdir -p "${1:-$SRC/_rpms}" && cd "${1:-$SRC/_rpms}" && pwd)
TOP=$(mktemp -d /tmp/corral-rpm-XXXXXX)
# mktemp makes it 0700: tests that drop to an unprivileged user need to
# reach the build tree, as in any ordinary build directory.
chmod 0755 "$TOP"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$TOP"' EXIT
mkdir -p "$TOP"/{SOURCES,SPECS,BUILD,RPMS,SRPMS,BUILDROOT}

version=$(sed -n 's/^Version: *//p' "$SRC/packaging/rpm/corral.spec")
ref=$(git -C "$SRC" stash create 2>/dev/null || true)
git -C "$SRC" archive --format=tar.gz --prefix="corral-$version/" -o "$TOP/SOURCES/corral-$version.tar.gz" "${ref:-HEAD}"
cp "$SRC/packaging/rpm/corral.spec" "$TOP/SPECS/"

args=()
for b in docker e2b hf islo; do
  if ! tar -tzf "$TOP/SOURCES/corral-$version.tar.gz" "corral-$version/plugins/sandbox/$b/CMakeLists.txt" >/dev/null 2>&1; then
    args+=(--without "$b")
    echo "build-rpm: plugins/sandbox/$b absent: corral-plugin-$b is not built"
  fi
done
# shellcheck disable=SC2206
args+=(${RPMBUILD_ARGS:-})
# SOURCE_DATE_EPOCH from the last commit, so the payload's timestamps are
# those of the source, not of the build.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$SRC" log -1 --format=%ct)}
rpmbuild -bb --nodeps --define "_topdir $TOP" \
  --define "use_source_date_epoch_as_buildtime 1" --define "clamp_mtime_to_source_date_epoch 1" \
  "${args[@]}" "$TOP/SPECS/corral.spec"
find "$TOP/RPMS" -name '*.rpm' -exec cp {} "$OUT/" \;
echo "build-rpm: packages in $OUT:"
ls -1 "$OUT"/*.rpm

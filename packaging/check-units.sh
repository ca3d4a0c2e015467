#!/bin/bash
# Checks the systemd units: `systemd-analyze verify` on all three (with the
# man pages they reference resolvable) and `systemd-analyze security` on the
# gate, whose exposure score must stay at or below MAX_EXPOSURE (default 2.0).
#   packaging/check-units.sh BUILD_DIR
# Exits 77 (skip) when systemd-analyze is not installed.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:?usage: check-units.sh BUILD_DIR}" && pwd)
MAX_EXPOSURE=${MAX_EXPOSURE:-2.0}
command -v systemd-analyze >/dev/null || { echo "skip: systemd-analyze not installed"; exit 77; }
[ -x "$BUILD/bin/corral" ] || { echo "no $BUILD/bin/corral: build first" >&2; exit 1; }

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/man/man1" "$work/man/man5" "$work/man/man7"
cp "$SRC/packaging/man/corral.1" "$work/man/man1/"
for u in corral-gate.service corral-gc.service corral-gc.timer; do
  sed "s|@CMAKE_INSTALL_FULL_BINDIR@|$BUILD/bin|g" "$SRC/packaging/systemd/$u" >"$work/$u"
done
cd "$work"
MANPATH="$work/man" systemd-analyze verify ./corral-gate.service ./corral-gc.service ./corral-gc.timer
echo "ok - systemd-analyze verify: corral-gate.service corral-gc.service corral-gc.timer"
out=$(systemd-analyze security --offline=yes --no-pager ./corral-gate.service 2>&1) || true
score=$(sed -n 's/.*Overall exposure level for corral-gate.service: \([0-9.]*\).*/\1/p' <<<"$out")
[ -n "$score" ] || { echo "$out"; echo "not ok - no exposure score"; exit 1; }
if awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'; then
  echo "ok - corral-gate.service exposure $score (<= $MAX_EXPOSURE)"
else
  grep '✗' <<<"$out" || true
  echo "not ok - corral-gate.service exposure $score > $MAX_EXPOSURE"; exit 1
fi

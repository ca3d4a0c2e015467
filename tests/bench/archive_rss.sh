#!/bin/sh
# Workspace persist/hydrate benchmark: wall time and peak RSS of
# `corral sandbox persist/hydrate` for a workspace of SIZE_MB random bytes
# plus 2000 small files, against the peak RSS of `corral sandbox ls` in the
# same run (the baseline: libcorral loaded, no archive work).  A ratio near
# 1 means the archive path streams in constant memory.  Not a pass/fail test.
#   usage: tests/bench/archive_rss.sh [BUILD_DIR] [SIZE_MB] [BACKEND]
#   BACKEND: fakeproc (default; the test double, host-emulated archives) or local
# needs: /usr/bin/time (GNU time)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
mb=${2:-512}
backend=${3:-fakeproc}
work=$(mktemp -d /tmp/corral-bench-archive-XXXXXX)
trap 'rm -rf "$work"' EXIT
export CORRAL_STATE_DIR="$work/state" FAKEPROC_ROOT="$work/fake" CORRAL_CONFIG_DIR="$work/etc"
unset CORRAL_PLUGIN_PATH
set -- "$build/bin/corral" -q --plugin-dir "$build/tests/conformance/fake-plugins" --plugin-dir "$build/plugins"
C="$*"
id=$($C sandbox create --backend "$backend")
wd=$($C sandbox exec "$id" -- pwd)
$C sandbox exec "$id" -- sh -c "mkdir -p $wd/ws/many && head -c $((mb * 1048576)) /dev/urandom > $wd/ws/big.bin &&
  i=0; while [ \$i -lt 2000 ]; do echo \$i > $wd/ws/many/f\$i; i=\$((i+1)); done"
measure() { # label cmd... -> prints "label seconds rss_kib"
  label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/t" "$@" >/dev/null
  echo "$label $(cat "$work/t")"
}
base=$(measure baseline $C sandbox ls | awk '{print $3}')
echo "backend $backend, workspace ${mb} MiB + 2000 files; baseline peak RSS ${base} KiB (corral sandbox ls)"
printf '%-26s %8s %10s %8s %9s\n' step seconds rss_kib rss/base MiB/s
for step in "persist .tar.zst:persist $id $wd/ws $work/ws.tar.zst" \
            "persist .tar.gz:persist $id $wd/ws $work/ws.tar.gz" \
            "persist directory:persist $id $wd/ws $work/wsdir" \
            "hydrate .tar.zst:hydrate $id $work/ws.tar.zst $wd/back1" \
            "hydrate directory:hydrate $id $work/wsdir $wd/back2"; do
  label=${step%%:*}; args=${step#*:}
  set -- $(measure x $C sandbox $args)
  awk -v l="$label" -v s="$2" -v r="$3" -v b="$base" -v mb="$mb" \
      'BEGIN { printf "%-26s %8.2f %10d %8.2f %9.1f\n", l, s, r, r / b, (s > 0 ? mb / s : 0) }'
done
$C sandbox exec "$id" -- sh -c "cmp $wd/ws/big.bin $wd/back1/big.bin && cmp $wd/ws/big.bin $wd/back2/big.bin" &&
  echo "round trips: identical"
$C sandbox rm "$id" >/dev/null

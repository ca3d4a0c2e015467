#!/bin/bash
# corral's own CPU per oracle rollout, this build against a baseline build,
# measured alternately in the same run: ROUNDS x (baseline, this build), each
# `corral run --task examples/tasks/hello --agent oracle --attempts N
# --concurrency C` on the local backend.  CPU is utime+stime of the corral
# process (all its threads, not its children: bwrap, the oracle and the
# verifier are the sandbox's work), read from /proc/PID/stat once it is a
# zombie, so nothing is lost to sampling.  Prints each run, the medians and
# their ratio.  A benchmark, not a test: numbers only (docs/batches.md).
# MOUNT_CHURN=1 (root): a tmpfs is mounted and unmounted under the work
# directory every 0.2 s meanwhile, as a host running containers does.
# STATE_ROOT=DIR: the state directories (registry, local sandboxes) go
# below DIR instead of the work directory, e.g. a tmpfs or a journaled
# file system: creating a file on ext4 without a journal scans for
# recently deleted inodes, which a corral process pays for in its own
# system time (docs/batches.md).
#   tests/bench/batch_cpu.sh BUILD_DIR [BASE_BUILD_DIR] [N=100] [C=4] [ROUNDS=3]
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NEW=$(cd "${1:-$ROOT/build}" && pwd)
BASE=${2:-}
[ -n "$BASE" ] && BASE=$(cd "$BASE" && pwd)
N=${3:-100}
C=${4:-4}
ROUNDS=${5:-3}
export SOURCE_DIR="$ROOT" CORRAL="$NEW/bin/corral"
. "$ROOT/tests/integration/lib.sh"
command -v bwrap >/dev/null || { echo "bwrap is not installed"; exit 1; }
echo '{"sandbox": {"docker": {"enabled": false}, "e2b": {"enabled": false}, "islo": {"enabled": false},
  "hf": {"enabled": false}}}' >"$CORRAL_CONFIG_DIR/corral.json"
TICK=$(getconf CLK_TCK)

# Run argv, wait for its exit without reaping it (waitid WNOWAIT), print
# the utime+stime ticks of its /proc/PID/stat, then reap it.
cpu_of() {
  python3 -c '
import os, subprocess, sys
p = subprocess.Popen(sys.argv[1:])
os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
f = open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()
print(int(f[11]) + int(f[12]))
sys.exit(p.wait())' "$@"
}
run() { # BUILD NAME: corral's CPU ms per rollout into $MS
  local b=$1 name=$2 ticks ok
  ticks=$(CORRAL_PLUGIN_PATH="$b/plugins" CORRAL_STATE_DIR="${STATE_ROOT:-$WORK}/state-$name" cpu_of nice -n 10 "$b/bin/corral" -q \
    run --task "$ROOT/examples/tasks/hello" --attempts "$N" --concurrency "$C" --agent oracle \
    --out "$WORK/$name.jsonl" 2>"$WORK/$name.log") || echo "($name exited $?: see $WORK/$name.log)"
  MS=$(awk -v c="$ticks" -v t="$TICK" -v n="$N" 'BEGIN {printf "%.2f", c * 1000 / t / n}')
  ok=$(jq -s '[.[] | select(.reward == 1)] | length' "$WORK/$name.jsonl")
  printf '%-6s %s: %s ms per rollout (%s of %s rewarded 1)\n' "$name" "$(basename "$b")" "$MS" "$ok" "$N"
}
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo "$N oracle rollouts of examples/tasks/hello, concurrency $C, $ROUNDS rounds, $(nproc) CPUs," \
  "state on $(df --output=fstype "${STATE_ROOT:-$WORK}" | tail -1)"
if [ "${MOUNT_CHURN:-0}" = 1 ]; then
  mkdir -p "$WORK/churn"
  (while [ -d "$WORK/churn" ]; do
    mount -t tmpfs -o size=64k none "$WORK/churn" 2>/dev/null && umount "$WORK/churn"; sleep 0.2
  done) &
  CHURN=$!
  trap 'kill $CHURN 2>/dev/null; wait $CHURN 2>/dev/null; umount "$WORK/churn" 2>/dev/null; rm -rf "$WORK"' EXIT
  echo "with a mount change every 0.2 s"
fi
: >"$WORK/new.ms"; : >"$WORK/base.ms"
for r in $(seq "$ROUNDS"); do
  if [ -n "$BASE" ]; then run "$BASE" "base$r"; echo "$MS" >>"$WORK/base.ms"; fi
  run "$NEW" "new$r"; echo "$MS" >>"$WORK/new.ms"
done
MN=$(median <"$WORK/new.ms")
printf 'median: %s ms per rollout (%s)\n' "$MN" "$NEW"
if [ -n "$BASE" ]; then
  MB=$(median <"$WORK/base.ms")
  printf 'median: %s ms per rollout (%s, baseline)\n' "$MB" "$BASE"
  awk -v a="$MN" -v b="$MB" 'BEGIN {printf "ratio this build / baseline: %.3f\n", a / b}'
fi

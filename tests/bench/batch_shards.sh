#!/bin/bash
# 1 process vs 4 Slurm shards: N oracle rollouts of examples/tasks/hello on
# the local backend, first as one `corral run --concurrency C`, then as
# packaging/slurm/corral-array.sbatch over a 4-task array on a real
# single-node Slurm cluster (tests/slurm/cluster.sh) with C/4 each (same
# total concurrency).  Prints wall times, their ratio, and corral's own CPU
# per rollout: utime+stime from /proc/PID/stat of each corral process
# (its threads, not its children: bwrap, the agent and the verifier are
# the sandbox's work), sampled every 100 ms, the last sample before exit.
# A benchmark, not a test: numbers only.  Needs root (slurmd).
#   tests/bench/batch_shards.sh [BUILD_DIR] [ROLLOUTS] [CONCURRENCY]
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
N=${2:-1000}
C=${3:-8}
[ $((C % 4)) -eq 0 ] || { echo "CONCURRENCY must be a multiple of 4"; exit 2; }
export SOURCE_DIR="$ROOT" CORRAL="$BUILD/bin/corral"
. "$ROOT/tests/integration/lib.sh"
for b in munged slurmctld slurmd sbatch bwrap jq python3; do
  command -v "$b" >/dev/null || { echo "$b is not installed"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "slurmd needs root"; exit 1; }
export CORRAL_PLUGIN_PATH="$BUILD/plugins" CORRAL_STATE_DIR="$WORK/state"
echo '{"sandbox": {"docker": {"enabled": false}, "e2b": {"enabled": false}, "islo": {"enabled": false},
  "hf": {"enabled": false}}}' >"$CORRAL_CONFIG_DIR/corral.json"
. "$ROOT/tests/slurm/cluster.sh"
slurm_cluster_start >/dev/null 2>&1 || { echo "the Slurm cluster did not start"; exit 1; }
TICK=$(getconf CLK_TCK)

# A wrapper that records the pid it execs as, and a sampler of those pids' CPU.
printf '#!/bin/bash\necho $$ >"%s/pid.${SLURM_ARRAY_TASK_ID:-0}"\nexec "%s" "$@"\n' "$WORK" "$CORRAL" >"$WORK/corral"
chmod +x "$WORK/corral"
sample() { # until $WORK/sampling goes: the last utime+stime ticks of each pid file's process
  while [ -e "$WORK/sampling" ]; do
    for f in "$WORK"/pid.*; do
      [ -e "$f" ] || continue
      t=$(awk '{print $14 + $15}' "/proc/$(cat "$f")/stat" 2>/dev/null) && echo "$t" >"$WORK/cpu.${f##*.}"
    done
    sleep 0.1
  done
}
measure() { # NAME CMD...: wall seconds into $WALL, corral CPU ms into $CPU
  rm -f "$WORK"/pid.* "$WORK"/cpu.*
  touch "$WORK/sampling"; sample & local sp=$!
  local t0; t0=$(date +%s.%N)
  "$@" >"$WORK/$1.log" 2>&1 || echo "($1 exited $?: see $WORK/$1.log)"
  WALL=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN {print a - b}')
  rm -f "$WORK/sampling"; wait $sp
  CPU=$(cat "$WORK"/cpu.* 2>/dev/null | awk -v t="$TICK" '{s += $1} END {printf "%.0f", s * 1000 / t}')
}
one() { shift; CORRAL="$WORK/corral" nice -n 10 "$WORK/corral" -q run --task "$ROOT/examples/tasks/hello" --attempts "$N" \
  --concurrency "$C" --agent oracle --out "$WORK/one.jsonl"; }
shards() { shift; CORRAL="$WORK/corral" CORRAL_ATTEMPTS="$N" CORRAL_CONCURRENCY=$((C / 4)) CORRAL_RETRIES=0 \
  nice -n 10 sbatch --wait --array=0-3 -o "$WORK/arr-%a.log" "$ROOT/packaging/slurm/corral-array.sbatch" \
  "$WORK/arr.jsonl" "$ROOT/examples/tasks/hello"; }

div() { awk -v a="$1" -v b="$2" 'BEGIN {print a / b}'; }
measure one one; W1=$WALL; C1=$CPU
measure shards shards; W4=$WALL; C4=$CPU
ok1=$(jq -s '[.[] | select(.reward == 1)] | length' "$WORK/one.jsonl")
ok4=$(jq -s '[.[] | select(.reward == 1)] | length' "$WORK/arr.jsonl")
echo "rollouts: $N oracle (examples/tasks/hello, local backend), total concurrency $C, $(nproc) CPUs"
printf '1 process:   %7.1f s wall, %s rewarded 1, corral CPU %.2f ms per rollout\n' "$W1" "$ok1" "$(div "$C1" "$N")"
printf '4 shards:    %7.1f s wall, %s rewarded 1, corral CPU %.2f ms per rollout (4 processes)\n' "$W4" "$ok4" \
  "$(div "$C4" "$N")"
printf 'ratio (4 shards / 1 process): wall %.3f, corral CPU %.3f\n' "$(div "$W4" "$W1")" "$(div "$C4" "$C1")"

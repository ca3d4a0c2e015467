# A corral batch on a real single-node Slurm cluster (slurm-wlm with munge,
# started here in the foreground with a minimal slurm.conf in a temp dir):
# packaging/slurm/corral-array.sbatch as a 4-task array over oracle tasks x
# attempts on the local backend gives what one `corral run` gives (`corral
# report`: same pairs, rewards, no duplicates).  Then an array task
# SIGKILLed and one cancelled (scancel) mid-run:
# submitting the array again completes the batch, no finished pair runs
# twice, and `corral gc` leaves nothing.  Needs root (slurmd runs the jobs).
. "$SOURCE_DIR/tests/integration/lib.sh"
skip() { echo "skipped: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "slurmd needs root"
for b in munged slurmctld slurmd sbatch scancel squeue bwrap jq python3; do
  command -v "$b" >/dev/null || skip "$b is not installed"
done
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR" CORRAL_STATE_DIR="$WORK/state"
# Only the local backend: `corral gc` must not see other runs' sandboxes.
echo '{"sandbox": {"docker": {"enabled": false}, "e2b": {"enabled": false}, "islo": {"enabled": false},
  "hf": {"enabled": false}}}' >"$CORRAL_CONFIG_DIR/corral.json"
. "$SOURCE_DIR/tests/slurm/cluster.sh"
slurm_cluster_start || exit 1

EX="$SOURCE_DIR/examples"
slow_task() {
  cp -r "$EX/tasks/hello" "$WORK/$1"
  printf '#!/bin/bash\nsleep %s\nprintf "Hello, world!\\n" > hello.txt\n' "$2" >"$WORK/$1/solution/solve.sh"
}
slow_task a 1
slow_task b 1.5
slow_task c 2
TASKS=("$WORK/a" "$WORK/b" "$WORK/c")
export CORRAL CORRAL_ATTEMPTS=4 CORRAL_AGENT=oracle
SB="$SOURCE_DIR/packaging/slurm/corral-array.sbatch"
pairs() { jq -c -s 'map([.task_digest, .attempt, .reward, .error]) | sort' "$@"; }
summary() { "$CORRAL" report --json "$@" | jq -c 'del(.inputs, .duplicates, .timings_ms)'; }

run "$CORRAL" -q run --task "${TASKS[0]}" --task "${TASKS[1]}" --task "${TASKS[2]}" --attempts 4 --concurrency 2 \
  --agent oracle --out "$WORK/one.jsonl"
check "one process: 12 results" eval '[ $RC -eq 0 ] && [ "$(wc -l <"$WORK/one.jsonl")" = 12 ]'

run sbatch --wait --array=0-3 -o "$WORK/arr-%a.log" "$SB" "$WORK/arr.jsonl" "${TASKS[@]}"
check "sbatch --array=0-3 of corral-array.sbatch: every array task ends 0" eval '[ $RC -eq 0 ]'
check "the shards' shared results equal the single run: same pairs and rewards, no duplicates" eval \
  '[ "$(pairs "$WORK/arr.jsonl")" = "$(pairs "$WORK/one.jsonl")" ] && [ "$(wc -l <"$WORK/arr.jsonl")" = 12 ] &&
   [ "$(summary "$WORK/arr.jsonl")" = "$(summary "$WORK/one.jsonl")" ]'
check "each array task said which shard it ran" eval 'grep -q "shard 3 of 4 (counted from 0; from SLURM_ARRAY_TASK_ID=3" "$WORK/arr-3.log"'

# Kill one array task's corral (SIGKILL: it cleans nothing up), cancel another, mid-run; then submit
# again.  The recipe runs $CORRAL: a wrapper that says the pid it execs as.
printf '#!/bin/bash\necho $$ >"%s/pid-$SLURM_ARRAY_TASK_ID"\nexec "%s" "$@"\n' "$WORK" "$CORRAL" >"$WORK/corral"
chmod +x "$WORK/corral"
JOB=$(CORRAL="$WORK/corral" sbatch --parsable --array=0-3 -o "$WORK/k1-%a.log" "$SB" "$WORK/k.jsonl" "${TASKS[@]}")
# (each shard's first rollout runs a second or more: both are caught in it)
for _ in $(seq 600); do grep -qs "\[create\]" "$WORK/k1-1.log" && grep -qs "\[create\]" "$WORK/k1-2.log" && break; sleep 0.05; done
kill -KILL "$(cat "$WORK/pid-1")"
scancel "${JOB}_2"
for _ in $(seq 600); do [ -z "$(squeue -h -j "$JOB" 2>/dev/null)" ] && break; sleep 0.1; done
first=$(jq -c -s '[.[] | select(.error == null) | [.task_digest, .attempt, .rollout_id]]' "$WORK/k.jsonl")
check "the killed array task ended mid-run, the cancelled one cancelled its rollout" eval \
  'grep -q "\[create\]" "$WORK/k1-1.log" && ! grep -q "rollouts: " "$WORK/k1-1.log" &&
   grep -q "error: cancelled" "$WORK/k1-2.log" &&
   [ "$(jq -c -s "[.[] | select(.error == null)] | length" "$WORK/k.jsonl")" -lt 12 ]'
run sbatch --wait --array=0-3 -o "$WORK/k2-%a.log" "$SB" "$WORK/k.jsonl" "${TASKS[@]}"
check "submitted again: every array task ends 0 and the batch equals the single run" eval '[ $RC -eq 0 ] &&
  [ "$(summary "$WORK/k.jsonl")" = "$(summary "$WORK/one.jsonl")" ]'
check "no pair finished twice, and the results that had finished are kept" eval \
  '[ "$(jq -c -s "[.[] | select(.error == null) | [.task_digest, .attempt]] | (length == (unique | length)) and length == 12" "$WORK/k.jsonl")" = true ] &&
   [ "$(jq -c -s --argjson f "$first" "[.[] | select(.error == null) | [.task_digest, .attempt, .rollout_id]] as \$all | \$f - \$all | length" "$WORK/k.jsonl")" = 0 ]'
run "$CORRAL" gc
check "corral gc removes at most what the SIGKILL left, without a failure" eval '[ $RC -eq 0 ] && lacks "$OUT" "failed"'
run "$CORRAL" gc --dry-run
check "corral gc leaves nothing behind" eval '[ $RC -eq 0 ] && lacks "$OUT" "remove" && lacks "$OUT" "keep" && lacks "$OUT" "failed"'
finish

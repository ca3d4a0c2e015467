# Batches split and resumed (docs/batches.md): four --shard I/4 processes
# (tasks given in another order, sharing one --resume file or one file
# each) report the same pairs and rewards as one unsharded run; a run
# killed with SIGKILL, or stopped with SIGTERM as scancel does, completes
# on --resume without running a finished pair again and leaves nothing for
# `corral gc`; --resume refuses another run's results.
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR" CORRAL_STATE_DIR="$WORK/state"
rollout_backend local batch_shards.sh
EX="$SOURCE_DIR/examples"
T="$SOURCE_DIR/tests/integration/tasks"
# slow_task NAME SECONDS: a copy of hello whose oracle takes that long.
slow_task() {
  cp -r "$EX/tasks/hello" "$WORK/$1"
  printf '#!/bin/bash\nsleep %s\nprintf "Hello, world!\\n" > hello.txt\n' "$2" >"$WORK/$1/solution/solve.sh"
}
slow_task slow1 0.4
slow_task slow2 0.5
TASKS=(--task "$EX/tasks/hello" --task "$T/wrong_answer" --task "$WORK/slow1")
REORDERED=(--task "$WORK/slow1" --task "$EX/tasks/hello" --task "$T/wrong_answer")
# pairs FILE...: the sorted (digest, attempt, reward, error) of the results, one JSON line.
pairs() { cat "$@" | jq -c -s 'map([.task_digest, .attempt, .reward, .error]) | sort'; }
# summary FILE...: corral report --json without what depends on how results were split.
summary() { "$CORRAL" report --json "$@" | jq -c 'del(.inputs, .duplicates, .timings_ms)'; }

run "$CORRAL" -q run "${TASKS[@]}" --attempts 3 --concurrency 2 --agent oracle --out "$WORK/one.jsonl"
check "the unsharded run: 9 results, exit 0" eval '[ $RC -eq 0 ] && [ "$(wc -l <"$WORK/one.jsonl")" = 9 ]'

# Four shards at once, sharing one file.
for i in 0 1 2 3; do
  "$CORRAL" run "${REORDERED[@]}" --attempts 3 --agent oracle --shard "$i/4" --resume --out "$WORK/shared.jsonl" \
    >/dev/null 2>"$WORK/shard$i.err" &
done
wait
check "4 shards into one shared file: the same pairs and rewards, no duplicates" eval \
  '[ "$(pairs "$WORK/shared.jsonl")" = "$(pairs "$WORK/one.jsonl")" ] && [ "$(wc -l <"$WORK/shared.jsonl")" = 9 ]'
check "corral report over them equals the unsharded run's" eval \
  '[ "$(summary "$WORK/shared.jsonl")" = "$(summary "$WORK/one.jsonl")" ] && has "$(summary "$WORK/one.jsonl")" "\"rollouts\":9"'
check "each shard says which it is" eval 'has "$(cat "$WORK/shard2.err")" "shard 2 of 4 (counted from 0; from the command line)"'

# One file per shard, the shard from Slurm's variables.
for i in 0 1 2 3; do
  SLURM_ARRAY_TASK_ID=$((i + 10)) SLURM_ARRAY_TASK_MIN=10 SLURM_ARRAY_TASK_MAX=13 "$CORRAL" -q run "${TASKS[@]}" \
    --attempts 3 --agent oracle --shard auto --out "$WORK/per$i.jsonl"
done
check "--shard auto under a Slurm array: one file each, together the unsharded run" eval \
  '[ "$(pairs "$WORK"/per?.jsonl)" = "$(pairs "$WORK/one.jsonl")" ] &&
   [ "$(summary "$WORK"/per?.jsonl)" = "$(summary "$WORK/one.jsonl")" ]'
run "$CORRAL" run "${TASKS[@]}" --agent oracle --shard 4/4 --out "$WORK/x.jsonl"
check "--shard 4/4 is refused" eval '[ $RC -eq 2 ] && has "$ERR" "0 <= I < N"'
run "$CORRAL" run "${TASKS[@]}" --agent oracle --shard auto --out "$WORK/x.jsonl"
check "--shard auto outside a scheduler is refused" eval '[ $RC -eq 2 ] && has "$ERR" "neither SLURM_ARRAY_TASK_ID"'

# SIGKILL mid-run, a torn last line, then --resume.
KILLED=(--task "$WORK/slow1" --task "$WORK/slow2" --attempts 3 --agent oracle --out "$WORK/k.jsonl")
"$CORRAL" run "${KILLED[@]}" 2>"$WORK/k.err" &
pid=$!
for _ in $(seq 300); do [ "$(wc -l <"$WORK/k.jsonl" 2>/dev/null)" -ge 2 ] 2>/dev/null && break; sleep 0.05; done
kill -KILL $pid; wait $pid 2>/dev/null
before=$(wc -l <"$WORK/k.jsonl")
jq -r .rollout_id "$WORK/k.jsonl" | sort >"$WORK/k.before"
printf '{"rollout_id": "r-torn", "task_dig' >>"$WORK/k.jsonl"
run "$CORRAL" run "${KILLED[@]}" --resume
check "SIGKILL then --resume: exit 0, the torn line dropped with a note, the finished pairs skipped" eval \
  '[ $RC -eq 0 ] && [ "$before" -ge 2 ] && [ "$before" -lt 6 ] && has "$ERR" "dropped a torn last line" &&
   has "$ERR" "$before rollouts are in $WORK/k.jsonl already"'
check "the batch is complete: 6 pairs once each, every one solved, the earlier results kept" eval \
  '[ "$(jq -c -s "map([.task_digest, .attempt]) | unique | length" "$WORK/k.jsonl")" = 6 ] &&
   [ "$(wc -l <"$WORK/k.jsonl")" = 6 ] && [ "$(jq -c -s "map(.reward) | add" "$WORK/k.jsonl")" = 6 ] &&
   [ "$(head -n "$before" "$WORK/k.jsonl" | jq -r .rollout_id | sort)" = "$(cat "$WORK/k.before")" ]'
run "$CORRAL" gc
run "$CORRAL" gc --dry-run
check "after gc nothing of the killed run is left" eval '[ $RC -eq 0 ] && lacks "$OUT" "remove" && lacks "$OUT" "keep"'
run "$CORRAL" run "${KILLED[@]}" --resume
check "--resume of a complete batch runs nothing" eval '[ $RC -eq 0 ] && has "$ERR" "6 rollouts are in" &&
  [ "$(wc -l <"$WORK/k.jsonl")" = 6 ]'

# SIGTERM (what scancel sends): cancelled results are written, and run again on --resume.
TERMED=(--task "$WORK/slow2" --attempts 4 --concurrency 2 --agent oracle --out "$WORK/t.jsonl")
"$CORRAL" run "${TERMED[@]}" 2>"$WORK/t.err" &
pid=$!
for _ in $(seq 300); do [ "$(grep -c "starting oracle" "$WORK/t.err" 2>/dev/null)" -ge 2 ] && break; sleep 0.05; done
kill -TERM $pid; wait $pid
run "$CORRAL" run "${TERMED[@]}" --resume
check "SIGTERM then --resume: the cancelled pairs run again, all 4 solved" eval '[ $RC -eq 0 ] &&
  [ "$(jq -c -s "[.[] | select(.error.status == \"cancelled\")] | length" "$WORK/t.jsonl")" -ge 1 ] &&
  [ "$("$CORRAL" report --json "$WORK/t.jsonl" | jq -c "[.rollouts, .reward.mean, .errors.total]")" = "[4,1,0]" ]'

# --resume-errors: an errored pair is kept unless asked.
run "$CORRAL" -q run --task "$T/setup_fails" --task "$EX/tasks/hello" --agent oracle --out "$WORK/e.jsonl"
run "$CORRAL" run --task "$T/setup_fails" --task "$EX/tasks/hello" --agent oracle --out "$WORK/e.jsonl" --resume
check "--resume keeps an errored result" eval '[ $RC -eq 0 ] && has "$ERR" "2 rollouts are in" &&
  has "$ERR" "1 with an error" && [ "$(wc -l <"$WORK/e.jsonl")" = 2 ]'
run "$CORRAL" run --task "$T/setup_fails" --task "$EX/tasks/hello" --agent oracle --out "$WORK/e.jsonl" --resume --resume-errors
check "--resume-errors runs it again (once)" eval '[ $RC -eq 1 ] && [ "$(wc -l <"$WORK/e.jsonl")" = 3 ] &&
  [ "$(tail -n1 "$WORK/e.jsonl" | jq -r .task.name)" = setup_fails ]'

# Another run's results are refused, the file untouched.
cp "$WORK/k.jsonl" "$WORK/k.saved"
run "$CORRAL" run "${KILLED[@]}" --resume --timeout 30
check "--resume with another option: exit 1 naming it, nothing written" eval '[ $RC -eq 1 ] &&
  has "$ERR" "option timeout_s was 0, is now 30" && cmp -s "$WORK/k.jsonl" "$WORK/k.saved"'
run "$CORRAL" run "${KILLED[@]}" --resume --agent-timeout-multiplier 2
check "--resume with a per-phase multiplier: exit 1 naming it" eval '[ $RC -eq 1 ] &&
  has "$ERR" "option agent_timeout_multiplier was 0, is now 2" && cmp -s "$WORK/k.jsonl" "$WORK/k.saved"'
# A manifest from before the per-phase multipliers lacks their keys: unset, so it resumes.
jq -c 'del(.options.agent_timeout_multiplier, .options.verifier_timeout_multiplier,
  .options.agent_setup_timeout_multiplier)' "$WORK/k.jsonl.manifest" >"$WORK/m.old" && cp "$WORK/m.old" "$WORK/k.jsonl.manifest"
run "$CORRAL" run "${KILLED[@]}" --resume
check "--resume over an older manifest without the per-phase keys" eval '[ $RC -eq 0 ] && cmp -s "$WORK/k.jsonl" "$WORK/k.saved"'
echo changed >>"$WORK/slow2/instruction.md"
run "$CORRAL" run "${KILLED[@]}" --resume
check "--resume after a task changed: exit 1, the tasks changed" eval '[ $RC -eq 1 ] && has "$ERR" "the tasks changed" &&
  cmp -s "$WORK/k.jsonl" "$WORK/k.saved"'
echo '{"not": "a manifest"}' >"$WORK/k.jsonl.manifest"
run "$CORRAL" run "${KILLED[@]}" --resume
check "a foreign manifest is refused" eval '[ $RC -eq 1 ] && has "$ERR" "not a corral batch manifest"'
run "$CORRAL" run "${KILLED[@]}" --resume-errors
check "--resume-errors alone is refused" eval '[ $RC -eq 2 ] && has "$ERR" "goes with --resume"'
finish

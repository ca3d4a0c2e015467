# corral report over a real batch's results: split into two shards that
# overlap, the merged report equals the unsplit one; torn and bad lines;
# the digest and attempt the results carry (docs/report.md).
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend local report.sh
EX="$SOURCE_DIR/examples"
T="$SOURCE_DIR/tests/integration/tasks"

# 2 tasks x 3 attempts of the oracle: hello passes, wrong_answer scores 0.
run "$CORRAL" -q run "${SB[@]}" --task "$EX/tasks/hello" --task "$T/wrong_answer" --attempts 3 --concurrency 2 \
  --agent oracle --out "$WORK/all.jsonl"
check "the batch ran: 6 results" eval '[ $RC -eq 0 ] && [ "$(wc -l <"$WORK/all.jsonl")" = 6 ]'
check "each result has its attempt (0..2 per task) and one task digest per task" eval '[ "$(jq -c -s \
  "group_by(.task.name) | map([.[0].task.name, (map(.attempt) | sort), (map(.task_digest) | unique | length)])" \
  "$WORK/all.jsonl")" = "[[\"hello\",[0,1,2],1],[\"wrong_answer\",[0,1,2],1]]" ] &&
  jq -e -s "all(.task_digest | test(\"^sha256:[0-9a-f]{64}$\"))" "$WORK/all.jsonl" >/dev/null'
# A copy of a task elsewhere has the same digest.
cp -r "$EX/tasks/hello" "$WORK/hello-copy"
run "$CORRAL" -q run "${SB[@]}" --task "$WORK/hello-copy" --agent oracle
check "a copy of the task elsewhere has the same digest" eval '[ "$(jq -r .task_digest <<<"$OUT")" = \
  "$(jq -r -s "map(select(.task.name == \"hello\"))[0].task_digest" "$WORK/all.jsonl")" ]'

run "$CORRAL" report --json "$WORK/all.jsonl"
echo "$OUT" >"$WORK/all.json"
check "report --json of the batch: 6 rollouts, 2 tasks, mean reward 0.5, pass@1 and pass@2 0.5, no errors" eval '
  [ $RC -eq 0 ] && [ "$(jq -c "[.rollouts, .tasks, .duplicates, .reward.mean, .pass_at_k, .errors.total,
    (.per_task | sort_by(.name) | map([.name, .attempts, .passed, .mean_reward]))]" "$WORK/all.json")" = \
    "[6,2,0,0.5,{\"1\":0.5,\"2\":0.5},0,[[\"hello\",3,3,1],[\"wrong_answer\",3,0,0]]]" ]'
check "timings per phase, with n 6 each" eval '[ "$(jq -c "[.timings_ms.agent.n, .timings_ms.total.n,
  (.timings_ms.total.p50 <= .timings_ms.total.max)]" "$WORK/all.json")" = "[6,6,true]" ]'

# Shards: lines 1-4 and 3-6 (lines 3 and 4 in both), in another order.
sed -n 1,4p "$WORK/all.jsonl" | tac >"$WORK/s1.jsonl"
sed -n 3,6p "$WORK/all.jsonl" >"$WORK/s2.jsonl"
run "$CORRAL" report --json "$WORK/s2.jsonl" "$WORK/s1.jsonl"
check "the two shards merge to the unsplit report (2 duplicates replaced)" eval '[ $RC -eq 0 ] &&
  [ "$(jq -c "del(.inputs, .duplicates)" <<<"$OUT")" = "$(jq -c "del(.inputs, .duplicates)" "$WORK/all.json")" ] &&
  [ "$(jq .duplicates <<<"$OUT")" = 2 ] && [ "$(jq -c "[.inputs[].results]" <<<"$OUT")" = "[4,4]" ]'

# A crash mid-write: the torn last line is skipped and said so, in text and JSON.
{ cat "$WORK/s1.jsonl"; head -c 100 "$WORK/s2.jsonl"; } >"$WORK/torn.jsonl"
run "$CORRAL" report "$WORK/torn.jsonl"
check "a torn last line: skipped with file:line, the 4 others summarized" eval '[ $RC -eq 0 ] &&
  has "$OUT" "rollouts: 4 over 2 tasks" && has "$OUT" "skipped $WORK/torn.jsonl:5: torn last line" &&
  has "$OUT" "pass@1" && has "$OUT" "hello"'
# A bad line in the middle (or a file that is not JSONL) is refused with file:line.
{ head -n 2 "$WORK/all.jsonl"; echo "not json"; tail -n 1 "$WORK/all.jsonl"; } >"$WORK/bad.jsonl"
run "$CORRAL" report "$WORK/bad.jsonl"
check "a line that is not JSON: exit 1 naming file:line, no summary" eval '[ $RC -eq 1 ] && [ -z "$OUT" ] &&
  has "$ERR" "corral: report: $WORK/bad.jsonl:3: not JSON"'
# Errors are counted by class and by phase, and an errored rollout never passes.
run "$CORRAL" -q run "${SB[@]}" --task "$T/setup_fails" --task "$EX/tasks/hello" --attempts 2 --agent oracle \
  --out "$WORK/mixed.jsonl"
run "$CORRAL" report --json "$WORK/mixed.jsonl"
check "errors by class and phase: 2 task errors in setup; pass@1 0.5, pass@2 0.5" eval '[ $RC -eq 0 ] &&
  [ "$(jq -c "[.errors, .pass_at_k, (.per_task | sort_by(.name) | map([.name, .errors, .mean_reward]))]" <<<"$OUT")" = \
    "[{\"total\":2,\"by_class\":{\"task\":2},\"by_phase\":{\"setup\":2}},{\"1\":0.5,\"2\":0.5},[[\"hello\",0,1],[\"setup_fails\",2,null]]]" ]'
run "$CORRAL" report "$WORK/mixed.jsonl"
check "the text report says the same" eval '[ $RC -eq 0 ] && has "$OUT" "errors: 2" && has "$OUT" "by class  task 2" &&
  has "$OUT" "by phase  setup 2"'
run "$CORRAL" report "$WORK/missing.jsonl"
check "a missing file: exit 1 naming it" eval '[ $RC -eq 1 ] && has "$ERR" "$WORK/missing.jsonl"'
run "$CORRAL" report
check "no file: usage error" eval '[ $RC -eq 2 ] && has "$ERR" "report"'
run "$CORRAL" report - <"$WORK/all.jsonl"
check "\"-\" reads stdin" eval '[ $RC -eq 0 ] && has "$OUT" "rollouts: 6 over 2 tasks"'
run "$CORRAL" report --help
check "report --help says what merges and what pass@k is" eval '[ $RC -eq 0 ] && has "$OUT" "(task_digest, attempt)" &&
  has "$OUT" "pass@k"'
run "$CORRAL" --help
check "corral --help lists report" eval 'has "$OUT" "report"'
finish

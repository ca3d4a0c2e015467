# corral run with several rollouts in one process (several --task,
# --attempts, --concurrency): JSONL results, one shared gate, fail-fast
# checks before anything starts, and a SIGTERM that cleans up:
#   batch.sh local | docker
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend "${1:-local}" batch.sh
all_gone() { local id; for id in $(jq -r '.sandbox.id' "$1"); do gone "$id" || return 1; done; }
EX="$SOURCE_DIR/examples"
T="$SOURCE_DIR/tests/integration/tasks"
# jqs FILE FILTER: the filter over every line of a JSONL file, slurped, compact.
jqs() { jq -c -s "$2" "$1"; }

# Two tasks, two attempts each, three at a time.
run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --task "$T/wrong_answer" --attempts 2 --concurrency 3 \
  --agent oracle --out "$WORK/b.jsonl"
check "$BACKEND: 2 tasks x 2 attempts: exit 0, one JSON line per rollout" eval '[ $RC -eq 0 ] &&
  [ "$(wc -l <"$WORK/b.jsonl")" = 4 ] && [ -z "$OUT" ]'
check "every rollout has its own id and sandbox" eval '[ "$(jqs "$WORK/b.jsonl" "[.[].rollout_id] | unique | length")" = 4 ] &&
  [ "$(jqs "$WORK/b.jsonl" "[.[].sandbox.id] | unique | length")" = 4 ]'
check "rewards per task: hello 1 twice, wrong_answer 0 twice, no error" eval '[ "$(jqs "$WORK/b.jsonl" \
  "group_by(.task.name) | map([.[0].task.name, (map(.reward) | add), (map(.error) | unique)])")" = "[[\"hello\",2,[null]],[\"wrong_answer\",0,[null]]]" ]'
check "progress is labelled per rollout, with a summary" eval 'has "$ERR" "[hello#2] [create]" &&
  has "$ERR" "[wrong_answer#1] rollout r-" && has "$ERR" "4 rollouts: 4 ran (0 with an error), 0 not started; mean reward 0.5 over 4"'
check "every sandbox of the batch is gone" all_gone "$WORK/b.jsonl"

# Results also go to stdout, one line each; an error in one rollout makes the exit 1, the others still run.
run "$CORRAL" -q run "${SB[@]}" --task "$T/setup_fails" --task "$EX/tasks/hello" --concurrency 2 --agent oracle
echo "$OUT" >"$WORK/mixed.jsonl"
check "one rollout with an error: exit 1, both results on stdout, the other scored" eval '[ $RC -eq 1 ] &&
  [ "$(jqs "$WORK/mixed.jsonl" "sort_by(.task.name) | map([.task.name, .reward, .error.class])")" = "[[\"hello\",1,null],[\"setup_fails\",null,\"task\"]]" ] &&
  [ -z "$ERR" ]'

# SIGTERM: the running rollouts are cancelled and cleaned up, the rest never start.
"$CORRAL" run "${SB[@]}" --task "$T/slow_agent" --attempts 4 --concurrency 2 --agent oracle --out "$WORK/cancel.jsonl" \
  2>"$WORK/cancel.err" &
pid=$!
for _ in $(seq 300); do [ "$(grep -c "starting oracle" "$WORK/cancel.err" 2>/dev/null)" = 2 ] && break; sleep 0.1; done
kill -TERM $pid; wait $pid; RC=$?
OUT=$(cat "$WORK/cancel.jsonl" 2>/dev/null); ERR=$(cat "$WORK/cancel.err")
# (the signal may land while the agent is still being started: the message then says in which call)
check "SIGTERM: exit 1, the two running rollouts report cancelled, two never started" eval '[ $RC -eq 1 ] &&
  [ "$(jqs "$WORK/cancel.jsonl" "map(.error.class + \" \" + (.error.message | test(\"cancelled\$\") | tostring))")" = \
    "[\"infrastructure true\",\"infrastructure true\"]" ] &&
  has "$ERR" "4 rollouts: 2 ran (2 with an error), 2 not started"'
check "SIGTERM: both sandboxes destroyed, no agent process left" eval '[ "$(grep -c "destroyed" <<<"$ERR")" = 2 ] &&
  all_gone "$WORK/cancel.jsonl" && ! pgrep -f "sleep 3017" >/dev/null'

# Real agents through one shared gate: each rollout sees only its own calls.
if command -v node >/dev/null && command -v rg >/dev/null && command -v npm >/dev/null; then
  run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --attempts 3 --concurrency 3 --agent pi \
    --model "replay:$EX/replay/hello.jsonl" --out "$WORK/pi.jsonl"
  check "$BACKEND: 3 Pi rollouts at once through one gate: reward 1 each" eval '[ $RC -eq 0 ] &&
    [ "$(jqs "$WORK/pi.jsonl" "map([.reward, .agent.status])")" = "[[1,\"success\"],[1,\"success\"],[1,\"success\"]]" ]'
  check "each transcript holds exactly its rollout's two streamed calls" eval '[ "$(jqs "$WORK/pi.jsonl" \
    "map([(.transcript | length), (.transcript | map(.stream) | all)])")" = "[[2,true],[2,true],[2,true]]" ]'
  check "the Pi batch left no sandbox" all_gone "$WORK/pi.jsonl"
else
  echo "# node, npm or rg missing: the Pi batch is not run"
fi

if [ "$BACKEND" = local ]; then
  # Refused before anything runs.
  mkdir -p "$WORK/broken" && echo '{"setup": "not a list"}' >"$WORK/broken/task.json" && echo hi >"$WORK/broken/instruction.md"
  run "$CORRAL" run --task "$EX/tasks/hello" --task "$WORK/broken" --attempts 2 --agent oracle --out "$WORK/none.jsonl"
  check "a malformed task in the list: exit 1 naming file and field, nothing started" eval '[ $RC -eq 1 ] &&
    has "$ERR" "task.json" && has "$ERR" "setup" && lacks "$ERR" "created" && [ ! -e "$WORK/none.jsonl" ]'
  run "$CORRAL" run --task "$EX/tasks/hello" --attempts 2 --agent no-such-agent
  check "an unknown agent with several rollouts: exit 4 before anything starts" eval '[ $RC -eq 4 ] &&
    has "$ERR" "no-such-agent" && lacks "$ERR" "created"'
  run "$CORRAL" run --task "$EX/tasks/hello" --attempts 2 --agent oracle --rollout-id mine
  check "--rollout-id with several rollouts is refused" eval '[ $RC -eq 2 ] && has "$ERR" "--rollout-id names one rollout"'
  for bad in 0 -1 x 1025; do
    run "$CORRAL" run --task "$EX/tasks/hello" --concurrency "$bad" --agent oracle
    check "--concurrency $bad is refused" eval '[ $RC -eq 2 ] && has "$ERR" "--concurrency wants a number from 1 to 1024"'
  done
fi
# What is durable when (docs/batches.md): the manifest and every result
# line are fsync'ed; the registry entry written before each create is
# fsync'ed too, except for a host-bound backend (local), whose sandboxes
# end with the machine.
strace -f -qq -y -e trace=fsync,fdatasync -o "$WORK/fsync.log" "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" \
  --attempts 2 --agent oracle --out "$WORK/fs.jsonl" >/dev/null 2>&1
n_sb=$(jq -s '[.[].sandbox | .id, .verify_id | select(.)] | length' "$WORK/fs.jsonl")
n_results=$(grep -c "fsync([0-9]*<$WORK/fs.jsonl>" "$WORK/fsync.log") # "<unfinished ...>" lines too
n_registry=$(grep -c 'fsync([0-9]*<[^>]*/sandboxes/[^>]*\.tmp>' "$WORK/fsync.log")
want_registry=$n_sb
[ "$BACKEND" = local ] && want_registry=0
check "$BACKEND: 2 rollouts: 2 result lines fsync'ed, and $want_registry registry entries of $n_sb sandboxes (seen: $n_results, $n_registry)" eval '
  [ "$n_sb" -ge 2 ] && [ "$n_results" = 2 ] && [ "$n_registry" = "$want_registry" ] &&
  grep -q "fsync([0-9]*<$WORK/fs.jsonl.manifest" "$WORK/fsync.log"'
finish

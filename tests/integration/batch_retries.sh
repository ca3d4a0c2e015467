# corral run --retries (docs/batches.md "Retries") against the e2b fake:
# sandbox creates that the service refuses (an injected infrastructure fault) are retried
# to success with a growing backoff, each try in the result's "attempts"
# and its sandbox gone; task and agent errors are not retried unless
# --retry-on names them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cloud_fakes.sh"
EX="$SOURCE_DIR/examples"
T="$SOURCE_DIR/tests/integration/tasks"
# tries FILE: per result, the classes of its tries' errors ("ok" for none), compact.
tries() { jq -c -s 'map([.attempts[] | (.error.class // "ok")])' "$1"; }

send POST "$FAKE_E2B_URL/_fake/fault" '{"method": "POST", "path": "/sandboxes", "status": 400, "count": 2,
  "message": "injected"}'
run "$CORRAL" run --sandbox e2b --task "$EX/tasks/hello" --agent oracle --retries 3 --out "$WORK/r.jsonl"
check "two failed creates, then success: exit 0, reward 1, three tries" eval '[ $RC -eq 0 ] &&
  [ "$(jq -c "[.reward, .error]" "$WORK/r.jsonl")" = "[1,null]" ] &&
  [ "$(tries "$WORK/r.jsonl")" = "[[\"infrastructure\",\"infrastructure\",\"ok\"]]" ] &&
  [ "$(jq -r ".attempts[0].error.phase" "$WORK/r.jsonl")" = create ]'
check "the backoff grows (500..1000 ms, then 1000..2000 ms) and each try has its own id" eval \
  '[ "$(jq -c "[.attempts[] | .backoff_ms] | [(.[0] >= 500 and .[0] <= 1000), (.[1] >= 1000 and .[1] <= 2000), .[2]]" \
       "$WORK/r.jsonl")" = "[true,true,0]" ] &&
   [ "$(jq -c "[.attempts[].rollout_id] | unique | length" "$WORK/r.jsonl")" = 3 ] &&
   [ "$(jq -r ".attempts[2].rollout_id == .rollout_id" "$WORK/r.jsonl")" = true ] &&
   has "$ERR" "[retry] infrastructure error: try 2 of 4 in"'
check "no sandbox left on the fake" eval '[ "$(fake_live e2b)" = "[]" ]'

send POST "$FAKE_E2B_URL/_fake/fault" '{"method": "POST", "path": "/sandboxes", "status": 400, "count": 3,
  "message": "injected"}'
run "$CORRAL" -q run --sandbox e2b --task "$EX/tasks/hello" --agent oracle --retries 1 --out "$WORK/out.jsonl"
check "retries run out: exit 1, the last try's error, two tries" eval '[ $RC -eq 1 ] &&
  [ "$(jq -r ".error.class" "$WORK/out.jsonl")" = infrastructure ] &&
  [ "$(tries "$WORK/out.jsonl")" = "[[\"infrastructure\",\"infrastructure\"]]" ]'
send DELETE "$FAKE_E2B_URL/_fake/faults"

# A provider's "rate limited" (429) on create is backed off by the host's HTTP layer, not a failure.
send POST "$FAKE_E2B_URL/_fake/fault" '{"method": "POST", "path": "/sandboxes", "status": 429, "count": 2,
  "message": "rate limited"}'
run "$CORRAL" -q run --sandbox e2b --task "$EX/tasks/hello" --agent oracle --retries 2 --out "$WORK/429.jsonl"
check "two 429s on create: backed off, solved in the first try" eval '[ $RC -eq 0 ] &&
  [ "$(tries "$WORK/429.jsonl")" = "[[\"ok\"]]" ] && [ "$(jq .reward "$WORK/429.jsonl")" = 1 ] &&
  [ "$(get "$FAKE_E2B_URL/_fake/log" | jq "[.[] | select(.method == \"POST\" and .path == \"/sandboxes\")] | length")" -ge 3 ]'
send DELETE "$FAKE_E2B_URL/_fake/faults"

# A task error (setup fails) and an agent error (a timeout) are results, not retried.
mkdir -p "$WORK/slow" && cp -r "$EX/tasks/hello/." "$WORK/slow/"
printf '#!/bin/bash\nsleep 30\n' >"$WORK/slow/solution/solve.sh"
run "$CORRAL" -q run --sandbox e2b --task "$T/setup_fails" --agent oracle --retries 2 --out "$WORK/task.jsonl"
check "a task error is not retried" eval '[ $RC -eq 1 ] && [ "$(tries "$WORK/task.jsonl")" = "[[\"task\"]]" ]'
run "$CORRAL" -q run --sandbox e2b --task "$WORK/slow" --agent oracle --timeout 1 --retries 2 --out "$WORK/agent.jsonl"
check "an agent error is not retried" eval '[ $RC -eq 1 ] && [ "$(tries "$WORK/agent.jsonl")" = "[[\"agent\"]]" ]'
run "$CORRAL" -q run --sandbox e2b --task "$WORK/slow" --agent oracle --timeout 1 --retries 1 --retry-on agent,task \
  --out "$WORK/agent2.jsonl"
check "--retry-on agent retries it" eval '[ $RC -eq 1 ] && [ "$(tries "$WORK/agent2.jsonl")" = "[[\"agent\",\"agent\"]]" ]'
check "no sandbox left on the fake" eval '[ "$(fake_live e2b)" = "[]" ]'

run "$CORRAL" run --task "$EX/tasks/hello" --agent oracle --retry-on network
check "--retry-on with an unknown class is refused" eval '[ $RC -eq 2 ] && has "$ERR" "--retry-on takes"'
run "$CORRAL" run --task "$EX/tasks/hello" --agent oracle --retries 1 --keep-sandbox
check "--retries with --keep-sandbox is refused" eval '[ $RC -eq 2 ] && has "$ERR" "always destroyed"'
finish

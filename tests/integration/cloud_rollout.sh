# corral run on the cloud backends, each against its faithful fake server
# started here on loopback: the oracle agent on examples/tasks/hello.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cloud_fakes.sh"

for b in e2b islo hf; do
  run "$CORRAL" run --sandbox $b --task "$SOURCE_DIR/examples/tasks/hello" --agent oracle --out "$WORK/$b.json"
  check "$b (fake): the oracle solves hello, reward 1" eval '[ $RC -eq 0 ] &&
    [ "$(python3 -c "import json; d=json.load(open(\"$WORK/$b.json\")); print(d[\"reward\"], d[\"error\"])")" = "1 None" ]'
  run "$CORRAL" -q sandbox ls --json
  check "$b (fake): nothing left after the rollout" eval '! grep -qE "\"backend\":[[:space:]]*\"$b\"" <<<"$OUT" &&
    [ "$(fake_live $b)" = "[]" ]'
done

# SIGTERM while the agent's process is being started (envd answers slowly):
# the error says the rollout was cancelled, not which request that cut
# short, and the sandbox is gone.
send POST "$FAKE_E2B_URL/_fake/fault" '{"path": "/process.Process/Start", "kind": "slow", "delay_ms": 1500, "count": 1000}'
"$CORRAL" -v run --sandbox e2b --task "$SOURCE_DIR/examples/tasks/hello" --agent oracle --out "$WORK/cancel.json" 2>"$WORK/cancel.err" &
pid=$!
for _ in $(seq 600); do grep -q "starting oracle" "$WORK/cancel.err" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
kill -TERM $pid; wait $pid; RC=$?
send DELETE "$FAKE_E2B_URL/_fake/faults"
ERR=$(cat "$WORK/cancel.err")
check "e2b (fake): SIGTERM while the agent starts: error \"cancelled\" in phase agent" eval '[ $RC -eq 1 ] &&
  [ "$(python3 -c "import json; e=json.load(open(\"$WORK/cancel.json\"))[\"error\"]; print(e[\"class\"], e[\"phase\"], e[\"message\"])")" = "infrastructure agent cancelled" ]'
check "e2b (fake): nothing left after the cancelled rollout" eval '[ "$(fake_live e2b)" = "[]" ]'

run "$CORRAL" run --sandbox e2b --task "$SOURCE_DIR/examples/tasks/hello" --agent pi --model "replay:$SOURCE_DIR/examples/replay/hello.jsonl"
check "a model-calling agent on a cloud backend without --gate-url is refused before the sandbox" eval '[ $RC -eq 1 ] && has "$ERR" "--gate-url"'
finish

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
run "$CORRAL" run --sandbox e2b --task "$SOURCE_DIR/examples/tasks/hello" --agent pi --model "replay:$SOURCE_DIR/examples/replay/hello.jsonl"
check "a model-calling agent on a cloud backend without --gate-url is refused before the sandbox" eval '[ $RC -eq 1 ] && has "$ERR" "--gate-url"'
finish

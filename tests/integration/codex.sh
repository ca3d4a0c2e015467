# Codex, the real CLI from npm (@openai/codex, pinned in
# plugins/agents/codex/spec.json), through the gate's OpenAI Responses
# edge with a replay script, offline in the sandbox:
#   codex.sh local|docker [hello|multistep]
# (multistep: examples/tasks/multistep with several tool calls, each checked
# in the transcript; the default hello adds the exhausted-replay checks)
# (docs/agents-codex.md says what was measured.)
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend "${1:-local}" codex.sh
TASK=${2:-hello}
EX="$SOURCE_DIR/examples"
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }
command -v npm >/dev/null || { echo "# npm missing: the Codex checks did not run"; not_ok "npm is needed to install Codex"; finish; }

PATTERNS=("CORRAL_MODEL_API_KEY=" "Bearer")
argv_scan_start "${PATTERNS[@]}"
run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/$TASK" --agent codex --model "replay:$EX/replay/$TASK-codex.jsonl" \
  --out "$WORK/cx.json"
argv_scan_stop
check "$BACKEND: codex (real CLI) solves $TASK through the gate: reward 1" eval '[ $RC -eq 0 ] &&
  [ "$(field "$WORK/cx.json" "d[\"reward\"], d[\"agent\"][\"status\"]")" = "1 success" ]'
OUT="$OUT$(cat "$WORK/hits")"
check "codex: no key or token in any argv" eval '[ ! -s "$WORK/hits" ]'
if [ "$TASK" != hello ]; then
  replay_calls_check codex "$WORK/cx.json" "$EX/replay/$TASK-codex.jsonl" responses "${MULTISTEP_RESULTS[@]}"
  finish; exit
fi
check "codex: both calls are Responses calls, streamed, answered 200" eval '[ "$(field "$WORK/cx.json" "json.dumps([[c[\"dialect\"], c[\"stream\"], c[\"status\"]] for c in d[\"transcript\"]])")" = "[[\"responses\", true, 200], [\"responses\", true, 200]]" ]'
check "codex: the transcript keeps its own request and the normalized one" eval '[ "$(field "$WORK/cx.json" "\"exec_command\" in [t.get(\"name\") for t in d[\"transcript\"][0][\"request\"][\"tools\"]], \"exec_command\" in [t[\"function\"][\"name\"] for t in d[\"transcript\"][0][\"normalized_request\"][\"tools\"]]")" = "True True" ]'
check "codex: the second call carries the tool result back" eval '[ "$(field "$WORK/cx.json" "[m[\"role\"] for m in d[\"transcript\"][1][\"normalized_request\"][\"messages\"]].count(\"tool\"), [i.get(\"type\") for i in d[\"transcript\"][1][\"request\"][\"input\"]].count(\"function_call_output\")")" = "1 1" ]'
check "codex: its tool call and result are normalized events" eval '[ "$(field "$WORK/cx.json" "json.dumps([e[\"kind\"] for e in d[\"events\"] if e[\"kind\"] in (\"tool_call\", \"tool_result\", \"done\")])")" = "[\"tool_call\", \"tool_result\", \"done\"]" ]'

# A replay script that runs out: a 400 the CLI does not retry; the agent
# fails, judged from its exit code and its error events.
head -1 "$EX/replay/hello-codex.jsonl" >"$WORK/short.jsonl"
start=$(date +%s)
run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent codex --model "replay:$WORK/short.jsonl" --out "$WORK/short.json"
check "codex with an exhausted replay: the agent fails (class agent) with an error event" eval '[ $RC -eq 1 ] &&
  [ "$(field "$WORK/short.json" "d[\"agent\"][\"status\"], d[\"error\"][\"class\"], \"error\" in [e[\"kind\"] for e in d[\"events\"]]")" = "failed agent True" ]'
check "codex with an exhausted replay: no retry storm (ends within 60 s, at most 4 calls)" eval '[ $(( $(date +%s) - start )) -lt 60 ] &&
  [ "$(field "$WORK/short.json" "len(d[\"transcript\"]) <= 4")" = True ]'
finish

# Qwen Code, the real CLI from npm (@qwen-code/qwen-code, pinned in
# plugins/agents/qwen_code/spec.json), through the gate's chat-completions
# route with a replay script, offline in the sandbox:
#   qwen_code.sh local|docker [hello|multistep]
# (multistep: examples/tasks/multistep with several tool calls, each checked
# in the transcript; the default hello adds the exhausted-replay checks)
# (docs/agents-qwen-code.md says what was measured.)
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend "${1:-local}" qwen_code.sh
TASK=${2:-hello}
EX="$SOURCE_DIR/examples"
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }
command -v npm >/dev/null || { echo "# npm missing: the Qwen Code checks did not run"; not_ok "npm is needed to install Qwen Code"; finish; }

PATTERNS=("OPENAI_API_KEY=")
argv_scan_start "${PATTERNS[@]}"
run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/$TASK" --agent qwen_code --model "replay:$EX/replay/$TASK-qwen-code.jsonl" \
  --out "$WORK/qc.json"
argv_scan_stop
check "$BACKEND: qwen_code (real CLI) solves $TASK through the gate: reward 1" eval '[ $RC -eq 0 ] &&
  [ "$(field "$WORK/qc.json" "d[\"reward\"], d[\"agent\"][\"status\"]")" = "1 success" ]'
OUT="$OUT$(cat "$WORK/hits")"
check "qwen_code: no key or token in any argv" eval '[ ! -s "$WORK/hits" ]'
if [ "$TASK" != hello ]; then
  replay_calls_check qwen_code "$WORK/qc.json" "$EX/replay/$TASK-qwen-code.jsonl" chat_completions "${MULTISTEP_RESULTS[@]}"
  finish; exit
fi
check "qwen_code: both calls are chat-completions calls, streamed, answered 200" eval '[ "$(field "$WORK/qc.json" "json.dumps([[c[\"dialect\"], c[\"stream\"], c[\"status\"]] for c in d[\"transcript\"]])")" = "[[\"chat_completions\", true, 200], [\"chat_completions\", true, 200]]" ]'
check "qwen_code: its request offers write_file and the second call carries the tool result back" eval '[ "$(field "$WORK/qc.json" "\"write_file\" in [t[\"function\"][\"name\"] for t in d[\"transcript\"][0][\"request\"][\"tools\"]], [m[\"role\"] for m in d[\"transcript\"][1][\"request\"][\"messages\"]].count(\"tool\")")" = "True 1" ]'
check "qwen_code: its tool call and result are normalized events" eval '[ "$(field "$WORK/qc.json" "json.dumps([[e[\"kind\"], e.get(\"name\")] for e in d[\"events\"] if e[\"kind\"] in (\"tool_call\", \"tool_result\", \"done\")])")" = "[[\"tool_call\", \"write_file\"], [\"tool_result\", null], [\"done\", null]]" ]'

# A replay script that runs out: a 400 the CLI does not retry; the agent
# fails, judged from its exit code and its result event.
head -1 "$EX/replay/hello-qwen-code.jsonl" >"$WORK/short.jsonl"
start=$(date +%s)
run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent qwen_code --model "replay:$WORK/short.jsonl" --out "$WORK/short.json"
check "qwen_code with an exhausted replay: the agent fails (class agent), its result event says is_error" eval '[ $RC -eq 1 ] &&
  [ "$(field "$WORK/short.json" "d[\"agent\"][\"status\"], d[\"error\"][\"class\"], [e.get(\"is_error\") for e in d[\"events\"] if e[\"kind\"] == \"done\"]")" = "failed agent [True]" ]'
check "qwen_code with an exhausted replay: asked once past the end, no retry storm (ends within 60 s)" eval '[ $(( $(date +%s) - start )) -lt 60 ] &&
  [ "$(field "$WORK/short.json" "[c[\"status\"] for c in d[\"transcript\"]]")" = "[200, 400]" ]'
finish

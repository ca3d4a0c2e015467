# Claude Code, the real CLI from npm (@anthropic-ai/claude-code, pinned in
# plugins/agents/claude_code/spec.json), through the gate's Anthropic
# Messages edge with a replay script, offline in the sandbox:
#   claude_code.sh local|docker [hello|multistep]
# (multistep: examples/tasks/multistep with several tool calls, each checked
# in the transcript; the default hello adds the exhausted-replay checks)
# (docs/agents-claude-code.md says what was measured.)
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend "${1:-local}" claude_code.sh
TASK=${2:-hello}
EX="$SOURCE_DIR/examples"
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }
command -v npm >/dev/null || { echo "# npm missing: the Claude Code checks did not run"; not_ok "npm is needed to install Claude Code"; finish; }

PATTERNS=("ANTHROPIC_API_KEY=" "x-api-key")
argv_scan_start "${PATTERNS[@]}"
run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/$TASK" --agent claude_code --model "replay:$EX/replay/$TASK-claude-code.jsonl" \
  --out "$WORK/cc.json"
argv_scan_stop
check "$BACKEND: claude_code (real CLI) solves $TASK through the gate: reward 1" eval '[ $RC -eq 0 ] &&
  [ "$(field "$WORK/cc.json" "d[\"reward\"], d[\"agent\"][\"status\"]")" = "1 success" ]'
OUT="$OUT$(cat "$WORK/hits")"
check "claude_code: no key or token in any argv" eval '[ ! -s "$WORK/hits" ]'
if [ "$TASK" != hello ]; then
  replay_calls_check claude_code "$WORK/cc.json" "$EX/replay/$TASK-claude-code.jsonl" messages "${MULTISTEP_RESULTS[@]}"
  finish; exit
fi
check "claude_code: both calls are Messages calls, streamed, answered 200" eval '[ "$(field "$WORK/cc.json" "json.dumps([[c[\"dialect\"], c[\"stream\"], c[\"status\"]] for c in d[\"transcript\"]])")" = "[[\"messages\", true, 200], [\"messages\", true, 200]]" ]'
check "claude_code: the transcript keeps its own request and the normalized one" eval '[ "$(field "$WORK/cc.json" "\"Bash\" in [t[\"name\"] for t in d[\"transcript\"][0][\"request\"][\"tools\"]], \"Bash\" in [t[\"function\"][\"name\"] for t in d[\"transcript\"][0][\"normalized_request\"][\"tools\"]]")" = "True True" ]'
check "claude_code: the second call carries the tool result back" eval '[ "$(field "$WORK/cc.json" "[m[\"role\"] for m in d[\"transcript\"][1][\"normalized_request\"][\"messages\"]].count(\"tool\")")" = 1 ]'
check "claude_code: its tool call and result are normalized events" eval '[ "$(field "$WORK/cc.json" "json.dumps([[e[\"kind\"], e.get(\"name\")] for e in d[\"events\"] if e[\"kind\"] in (\"tool_call\", \"tool_result\", \"done\")])")" = "[[\"tool_call\", \"Bash\"], [\"tool_result\", null], [\"done\", null]]" ]'

# A replay script that runs out: a 400 the CLI does not retry for long;
# the agent fails, judged from its exit code and its result event.
head -1 "$EX/replay/hello-claude-code.jsonl" >"$WORK/short.jsonl"
start=$(date +%s)
run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent claude_code --model "replay:$WORK/short.jsonl" --out "$WORK/short.json"
check "claude_code with an exhausted replay: the agent fails (class agent), its result event says is_error" eval '[ $RC -eq 1 ] &&
  [ "$(field "$WORK/short.json" "d[\"agent\"][\"status\"], d[\"error\"][\"class\"], [e.get(\"is_error\") for e in d[\"events\"] if e[\"kind\"] == \"done\"]")" = "failed agent [True]" ]'
check "claude_code with an exhausted replay: no retry storm (ends within 60 s)" eval '[ $(( $(date +%s) - start )) -lt 60 ]'
finish

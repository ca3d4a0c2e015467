# Gemini CLI, the real CLI from npm (@google/gemini-cli, pinned in
# plugins/agents/gemini_cli/spec.json), through the gate's Gemini
# generateContent edge with a replay script, offline in the sandbox:
#   gemini_cli.sh local|docker [hello|multistep]
# (multistep: examples/tasks/multistep with several tool calls, each checked
# in the transcript; the default hello adds the exhausted-replay checks)
# (docs/agents-gemini-cli.md says what was measured.)
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend "${1:-local}" gemini_cli.sh
TASK=${2:-hello}
EX="$SOURCE_DIR/examples"
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }
command -v npm >/dev/null || { echo "# npm missing: the Gemini CLI checks did not run"; not_ok "npm is needed to install Gemini CLI"; finish; }

PATTERNS=("GEMINI_API_KEY=" "x-goog-api-key" "?key=")
argv_scan_start "${PATTERNS[@]}"
run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/$TASK" --agent gemini_cli --model "replay:$EX/replay/$TASK-gemini-cli.jsonl" \
  --out "$WORK/gc.json"
argv_scan_stop
check "$BACKEND: gemini_cli (real CLI) solves $TASK through the gate: reward 1" eval '[ $RC -eq 0 ] &&
  [ "$(field "$WORK/gc.json" "d[\"reward\"], d[\"agent\"][\"status\"]")" = "1 success" ]'
OUT="$OUT$(cat "$WORK/hits")"
check "gemini_cli: no key or token in any argv" eval '[ ! -s "$WORK/hits" ]'
if [ "$TASK" != hello ]; then
  replay_calls_check gemini_cli "$WORK/gc.json" "$EX/replay/$TASK-gemini-cli.jsonl" gemini "${MULTISTEP_RESULTS[@]}"
  finish; exit
fi
check "gemini_cli: both calls are Gemini calls, streamed, answered 200" eval '[ "$(field "$WORK/gc.json" "json.dumps([[c[\"dialect\"], c[\"stream\"], c[\"status\"]] for c in d[\"transcript\"]])")" = "[[\"gemini\", true, 200], [\"gemini\", true, 200]]" ]'
check "gemini_cli: the transcript keeps its own request and the normalized one" eval '[ "$(field "$WORK/gc.json" "\"write_file\" in [f[\"name\"] for t in d[\"transcript\"][0][\"request\"][\"tools\"] for f in t[\"functionDeclarations\"]], \"write_file\" in [t[\"function\"][\"name\"] for t in d[\"transcript\"][0][\"normalized_request\"][\"tools\"]]")" = "True True" ]'
check "gemini_cli: the second call carries the tool result back under the call's id" eval '[ "$(field "$WORK/gc.json" "[(m[\"role\"], m.get(\"tool_call_id\") == d[\"transcript\"][0][\"response\"][\"candidates\"][0][\"content\"][\"parts\"][0][\"functionCall\"][\"id\"]) for m in d[\"transcript\"][1][\"normalized_request\"][\"messages\"] if m[\"role\"] == \"tool\"]")" = "[('"'"'tool'"'"', True)]" ]'
check "gemini_cli: its tool call and result are normalized events" eval '[ "$(field "$WORK/gc.json" "json.dumps([[e[\"kind\"], e.get(\"name\")] for e in d[\"events\"] if e[\"kind\"] in (\"tool_call\", \"tool_result\", \"done\")])")" = "[[\"tool_call\", \"write_file\"], [\"tool_result\", null], [\"done\", null]]" ]'

# A replay script that runs out: a 400 the CLI does not retry (Google's
# clients retry 429 and 5xx); the agent fails, judged from its exit code
# and its result event.
head -1 "$EX/replay/hello-gemini-cli.jsonl" >"$WORK/short.jsonl"
start=$(date +%s)
run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent gemini_cli --model "replay:$WORK/short.jsonl" --out "$WORK/short.json"
check "gemini_cli with an exhausted replay: the agent fails (class agent), its result event says error" eval '[ $RC -eq 1 ] &&
  [ "$(field "$WORK/short.json" "d[\"agent\"][\"status\"], d[\"error\"][\"class\"], [e.get(\"status\") for e in d[\"events\"] if e[\"kind\"] == \"done\"]")" = "failed agent ['"'"'error'"'"']" ]'
check "gemini_cli with an exhausted replay: asked once past the end, no retry storm (ends within 60 s)" eval '[ $(( $(date +%s) - start )) -lt 60 ] &&
  [ "$(field "$WORK/short.json" "[c[\"status\"] for c in d[\"transcript\"]]")" = "[200, 400]" ]'
finish

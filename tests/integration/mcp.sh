# A task's own stdio MCP server (examples/tasks/mcp_echo), used by the real
# CLI of an agent through the gate with a replay script:
#   mcp.sh AGENT local|docker
# The replay calls the server's tool (by the name the CLI gives it), then
# writes the word from its answer; reward 1 needs the server to have
# recorded the call.  The transcript must show the tool offered to the
# model and its result in the next request.  (docs/harbor.md, "MCP servers")
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
AGENT=${1:?usage: mcp.sh AGENT local|docker}
rollout_backend "${2:-local}" mcp.sh
EX="$SOURCE_DIR/examples"
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }
command -v npm >/dev/null || { echo "# npm missing: the $AGENT checks did not run"; not_ok "npm is needed to install $AGENT"; finish; }
case $AGENT in
  opencode) TOOL=echo_secret ;;
  claude_code) TOOL=mcp__echo__secret ;;
  gemini_cli) TOOL=mcp_echo_secret ;;
  qwen_code) TOOL=mcp__echo__secret ;;
  codex) TOOL=mcp__echo__secret EVENT=secret ;; # its events name server and tool apart
  *) echo "mcp.sh: no replay script for $AGENT"; exit 2 ;;
esac
EVENT=${EVENT:-$TOOL}
REPLAY="$EX/replay/mcp-echo-${AGENT//_/-}.jsonl"

run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/mcp_echo" --agent "$AGENT" --model "replay:$REPLAY" --out "$WORK/r.json"
check "$BACKEND: $AGENT calls the task's stdio MCP server and writes its word: reward 1" eval '[ $RC -eq 0 ] &&
  [ "$(field "$WORK/r.json" "d[\"reward\"], d[\"agent\"][\"status\"]")" = "1 success" ]'
# the calls in the gate's normalized (chat) form, whatever the dialect
REQ='[c.get("normalized_request") or c["request"] for c in d["transcript"]]'
check "$AGENT: the first request offers the model the tool as $TOOL" eval '[ "$(field "$WORK/r.json" "\"$TOOL\" in [t[\"function\"][\"name\"] for t in $REQ[0][\"tools\"]]")" = True ]'
check "$AGENT: the next request carries the tool's answer back" eval '[ "$(field "$WORK/r.json" "[m[\"role\"] for m in $REQ[1][\"messages\"]][-1], \"PAPAYA-7\" in str($REQ[1][\"messages\"][-1][\"content\"])")" = "tool True" ]'
check "$AGENT: its events show the MCP tool call" eval '[ "$(field "$WORK/r.json" "[e.get(\"name\") for e in d[\"events\"] if e[\"kind\"] == \"tool_call\"][0]")" = "$EVENT" ]'

if [ "$AGENT" = codex ]; then # the Responses edge renders the call under its namespace; Codex sends it back so
  check "codex: its next request holds the call as namespace mcp__echo, name secret" eval '[ "$(field "$WORK/r.json" "[i.get(\"namespace\") + \" \" + i[\"name\"] for i in d[\"transcript\"][1][\"request\"][\"input\"] if i.get(\"type\") == \"function_call\"][0]")" = "mcp__echo secret" ]'
fi
# pi has no MCP: the rollout fails at load, before any sandbox exists
run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/mcp_echo" --agent pi --model "replay:$EX/replay/hello.jsonl" --out "$WORK/pi.json"
check "pi with a task's MCP servers: fails at load, class task, saying why" eval '[ $RC -ne 0 ] &&
  [ "$(field "$WORK/pi.json" "d[\"error\"][\"class\"], d[\"error\"][\"phase\"]")" = "task load" ] &&
  has "$(field "$WORK/pi.json" "d[\"error\"][\"message\"]")" "agent pi cannot use MCP servers"'
check "pi with a task's MCP servers: no sandbox was created" eval '[ "$(field "$WORK/pi.json" "d.get(\"sandbox_id\")")" = None ] && lacks "$ERR" "created"'
finish

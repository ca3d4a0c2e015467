# A trainer-registered tool called by a real agent CLI through the gate's
# MCP endpoint (docs/gate.md "Tools over MCP"):
#   mcp_trainer.sh AGENT [remote]
# `corral run --model trainer --trainer-tools FILE` with AGENT: the tool
# `lookup` is on the gate before the agent starts (agents list MCP tools
# once, as they start).  remote: a `corral gate serve`, the tool registered
# there over the trainer API (POST /v1/tools) before the node starts, and
# `corral run --gate URL` (docs/gate.md "Remote nodes").  The trainer
# answers the first model call with a call of that tool (by the name the
# CLI gives it), answers the tool call itself from the trainer queue with
# the text hello.txt must hold, and writes that text only if it came back
# in the next model request: reward 1 needs the whole round trip
# agent -> gate MCP -> trainer -> agent -> model.
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
AGENT=${1:?usage: mcp_trainer.sh AGENT [remote]}
MODE=${2:-local}
command -v bwrap >/dev/null || { echo "skipped: bubblewrap missing"; exit 77; }
command -v npm >/dev/null || { echo "skipped: npm missing"; exit 77; }
case $AGENT in
  claude_code) TOOL=mcp__corral__lookup; WRITE=Bash ;;
  opencode) TOOL=corral_lookup; WRITE=bash ;;
  codex) TOOL=mcp__corral__lookup; WRITE=exec_command ;;
  *) echo "mcp_trainer.sh: no tool naming known for $AGENT"; exit 2 ;;
esac
export CORRAL_GATE_TRAINER_TOKEN="trainer-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
EX="$SOURCE_DIR/examples"
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }
cat >"$WORK/tools.json" <<'EOF2'
[{"name": "lookup", "description": "Look up the text hello.txt must hold.",
  "input_schema": {"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]}}]
EOF2

if [ "$MODE" = remote ]; then
  export CORRAL_GATE_REGISTRATION_TOKEN="registration-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  "$CORRAL" gate serve --listen 127.0.0.1:0 --trainer-listen 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
  serve=$!
  trap 'kill $serve 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
  for _ in $(seq 100); do grep -q trainer_url "$WORK/serve.out" && break; sleep 0.1; done
  url=$(jq -r .trainer_url "$WORK/serve.out")
  printf 'Authorization: Bearer %s\n' "$CORRAL_GATE_TRAINER_TOKEN" >"$WORK/auth.h" # not in argv
  registered=$(curl -s -o "$WORK/register.out" -w '%{http_code}' -X POST "$url/v1/tools" -H @"$WORK/auth.h" \
    -H 'Content-Type: application/json' --data-binary "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[0]))' "$WORK/tools.json")")
  env -u CORRAL_GATE_TRAINER_TOKEN "$CORRAL" run --gate "$url" --task "$EX/tasks/hello" --agent "$AGENT" \
    --out "$WORK/r.json" 2>"$WORK/run.err" &
  corral=$!
else
  run "$CORRAL" run --task "$EX/tasks/hello" --agent "$AGENT" --model replay:"$EX/replay/hello.jsonl" --trainer-tools "$WORK/tools.json"
  check "--trainer-tools without --model trainer is refused before anything starts" eval '[ $RC -eq 2 ] && has "$ERR" "needs --model trainer"'
  printf '[{"name": "bad name!", "input_schema": {}}]' >"$WORK/bad.json"
  run "$CORRAL" run --task "$EX/tasks/hello" --agent "$AGENT" --model trainer --trainer-tools "$WORK/bad.json"
  check "a bad --trainer-tools file is refused naming the tool, no sandbox created" eval '[ $RC -eq 2 ] &&
    has "$ERR" "--trainer-tools $WORK/bad.json: tool 0: gate: a tool name is 1-64 of" && lacks "$ERR" "created"'
  "$CORRAL" run --task "$EX/tasks/hello" --agent "$AGENT" --model trainer --trainer-tools "$WORK/tools.json" \
    --out "$WORK/r.json" 2>"$WORK/run.err" &
  corral=$!
  for _ in $(seq 100); do grep -q "trainer API at" "$WORK/run.err" && break; sleep 0.1; done
  url=$(sed -n 's/.*trainer API at \(http[^ ]*\).*/\1/p' "$WORK/run.err")
  registered=$(curl -s -H @<(printf 'Authorization: Bearer %s\n' "$CORRAL_GATE_TRAINER_TOKEN") "$url/v1/tools" |
    python3 -c 'import json,sys; print(201 if [t["name"] for t in json.load(sys.stdin)["tools"]] == ["lookup"] else 0)')
fi
python3 - "$url" "$TOOL" "$WRITE" "$registered" >"$WORK/trainer.out" 2>&1 <<'PY'
import json, os, sys, urllib.request
url, tool, write, registered = sys.argv[1:5]
tok = os.environ["CORRAL_GATE_TRAINER_TOKEN"]
WORD = "Hello, world!"
def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read()
print("registered", registered, flush=True)
model_calls = 0
while model_calls < 3:
    status, body = call("GET", "/v1/requests/next?timeout=60")
    if status == 204:
        print("no call within 60 s"); sys.exit(1)
    req = json.loads(body)
    if req.get("kind") == "tool_call":
        print("tool call", req["request"]["name"], json.dumps(req["request"]["arguments"]), flush=True)
        ok = req["request"]["name"] == "lookup" and req["request"]["arguments"].get("key") == "hello"
        answer = {"text": WORD if ok else "wrong arguments"}
    else:
        msgs = req["request"]["messages"]
        names = [t["function"]["name"] for t in req["request"].get("tools", [])]
        if model_calls == 0:
            print("offered", tool in names, flush=True)
            answer = {"tool_calls": [{"name": tool, "arguments": {"key": "hello"}}]}
        elif model_calls == 1:
            last = msgs[-1]
            got = WORD in json.dumps(last.get("content"))
            print("result back", last["role"], got, flush=True)
            text = WORD if got else "no tool result"
            cmd = "printf '%s\\n' > hello.txt" % text
            args = {"cmd": cmd} if write == "exec_command" else {"command": cmd, "description": "Write the text"}
            answer = {"tool_calls": [{"name": write, "arguments": args}]}
        else:
            answer = {"content": "hello.txt holds the text the lookup tool gave."}
        model_calls += 1
    status, _ = call("POST", "/v1/requests/%s/response" % req["id"], answer)
    print("delivered", req.get("kind"), status, flush=True)
PY
trc=$?
wait $corral; RC=$?
OUT=$(cat "$WORK/trainer.out"); ERR=$(cat "$WORK/run.err")
check "$AGENT ($MODE): the tool is on the gate before the agent starts" eval 'has "$OUT" "registered 201"'
check "$AGENT: the first model call offers the gate's tool as $TOOL" eval 'has "$OUT" "offered True"'
check "$AGENT: the agent called the tool through the gate's MCP endpoint and the trainer answered it" eval 'has "$OUT" "tool call lookup {\"key\": \"hello\"}" && has "$OUT" "delivered tool_call 200"'
check "$AGENT: the tool's answer reached the model in the next request" eval 'has "$OUT" "result back tool True"'
check "$AGENT: the rollout scored 1" eval '[ $trc -eq 0 ] && [ $RC -eq 0 ] && [ "$(field "$WORK/r.json" "d[\"reward\"]")" = 1 ]'
check "$AGENT: the transcript records the tool call (kind mcp_tool) with its result" eval '[ "$(field "$WORK/r.json" "[(c[\"tool\"], c[\"response\"][\"content\"][0][\"text\"]) for c in d[\"transcript\"] if c.get(\"kind\") == \"mcp_tool\"]")" = "[('"'"'lookup'"'"', '"'"'Hello, world!'"'"')]" ]'
finish

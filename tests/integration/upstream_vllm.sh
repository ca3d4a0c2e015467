# RL-grade capture in upstream mode (docs/gate.md, "RL capture"): the real
# Claude Code CLI (Anthropic Messages) and pi (chat completions) solve
# examples/tasks/hello against a fake vLLM server (tests/fakes/fake_vllm.py)
# through `corral run --model vllm:URL`:
#   upstream_vllm.sh local | docker
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend "${1:-local}" upstream_vllm.sh
EX="$SOURCE_DIR/examples"
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }
command -v npm >/dev/null || { echo "# npm missing: the agent checks did not run"; not_ok "npm is needed to install the agents"; finish; }

# The fake's key and the cache salt come from the environment, never argv.
export FAKE_VLLM_API_KEY="sk-vllm-fake-$$-key" CORRAL_TEST_SALT="salt-$$-x"
python3 "$SOURCE_DIR/tests/fakes/fake_vllm.py" --script "$EX/replay/hello-claude-code.jsonl" \
  --log "$WORK/vllm.jsonl" --port-file "$WORK/vllm.port" >/dev/null 2>"$WORK/vllm.err" &
FAKE=$!
trap 'kill $FAKE 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s "$WORK/vllm.port" ] && break; sleep 0.1; done
PORT=$(field "$WORK/vllm.port" 'd["port"]')
export CRL_VLLM_KEY="$FAKE_VLLM_API_KEY"

PATTERNS=("$FAKE_VLLM_API_KEY" "$CORRAL_TEST_SALT")
argv_scan_start "${PATTERNS[@]}"
run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent claude_code --model "vllm:http://127.0.0.1:$PORT/v1" \
  --api-key-env CRL_VLLM_KEY --cache-salt-env CORRAL_TEST_SALT --rollout-id "cc-vllm-$$" --out "$WORK/cc.json"
argv_scan_stop
check "$BACKEND: claude_code (real CLI) solves hello against a fake vLLM through vllm:URL: reward 1" eval '[ $RC -eq 0 ] &&
  [ "$(field "$WORK/cc.json" "d[\"reward\"], d[\"agent\"][\"status\"]")" = "1 success" ]'
# what the transcript keeps of each call
check "claude_code: every call carries prompt_token_ids, token_ids and logprobs of matching length" eval '[ "$(field "$WORK/cc.json" "all(len(c[\"prompt_token_ids\"]) > 10 and len(c[\"token_ids\"]) == len(c[\"logprobs\"]) > 0 for c in d[\"transcript\"]), len(d[\"transcript\"])")" = "True 2" ]'
check "claude_code: the prompt grows from the first call to the second (the tool result)" eval '[ "$(field "$WORK/cc.json" "len(d[\"transcript\"][1][\"prompt_token_ids\"]) > len(d[\"transcript\"][0][\"prompt_token_ids\"])")" = True ]'
check "claude_code: its two calls are the agent's own (call_kind agent)" eval '[ "$(field "$WORK/cc.json" "[c.get(\"call_kind\") for c in d[\"transcript\"]] == [\"agent\", \"agent\"]")" = True ]'
# what the fake received
LOG="$WORK/vllm.jsonl"
check "the fake saw X-Session-ID = the rollout id on every call" eval '[ "$(python3 -c "import json,sys; print({json.loads(l)[\"headers\"].get(\"x-session-id\") for l in open(sys.argv[1])} == {sys.argv[2]})" "$LOG" "cc-vllm-$$")" = True ]'
check "the fake got translated chat requests: tools as functions (Bash), the vLLM fields, the salt" eval '[ "$(python3 -c "
import json,sys
b=[json.loads(l)[\"body\"] for l in open(sys.argv[1])]
print(all(\"Bash\" in [t[\"function\"][\"name\"] for t in x[\"tools\"]] and x[\"return_token_ids\"] and x[\"return_tokens_as_token_ids\"] and x[\"logprobs\"] and x[\"stream\"] is False and x[\"cache_salt\"]==sys.argv[2] for x in b), len(b))" "$LOG" "$CORRAL_TEST_SALT")" = "True 2" ]'
check "the second request answers the tool call with a tool message (tool_call_id of the first answer)" eval '[ "$(python3 -c "
import json,sys
b=[json.loads(l)[\"body\"] for l in open(sys.argv[1])]
print([m[\"role\"] for m in b[1][\"messages\"]].count(\"tool\"))" "$LOG")" = 1 ]'
OUT="$OUT$(cat "$WORK/hits")"
check "no key or salt in any argv" eval '[ ! -s "$WORK/hits" ]'

# pi speaks chat completions: a fake of its own with pi's script (its tool is "bash").
python3 "$SOURCE_DIR/tests/fakes/fake_vllm.py" --script "$EX/replay/hello.jsonl" \
  --log "$WORK/vllm-pi.jsonl" --port-file "$WORK/vllm-pi.port" >/dev/null 2>"$WORK/vllm-pi.err" &
FAKE2=$!
trap 'kill $FAKE $FAKE2 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s "$WORK/vllm-pi.port" ] && break; sleep 0.1; done
PORT2=$(field "$WORK/vllm-pi.port" 'd["port"]')
run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent pi --model "vllm:http://127.0.0.1:$PORT2/v1" \
  --api-key-env CRL_VLLM_KEY --rollout-id "pi-vllm-$$" --out "$WORK/pi.json"
check "$BACKEND: pi solves hello against the fake vLLM: reward 1, ids and logprobs kept" eval '[ $RC -eq 0 ] &&
  [ "$(field "$WORK/pi.json" "d[\"reward\"], all(c[\"dialect\"] == \"chat_completions\" and c[\"prompt_token_ids\"] and c[\"token_ids\"] and c[\"logprobs\"] for c in d[\"transcript\"])")" = "1 True" ]'
check "pi: the fake saw its rollout id, and no cache_salt (none was asked for)" eval '[ "$(python3 -c "
import json,sys
e=[json.loads(l) for l in open(sys.argv[1])]
print({x[\"headers\"].get(\"x-session-id\") for x in e} == {sys.argv[2]}, any(\"cache_salt\" in x[\"body\"] for x in e))" "$WORK/vllm-pi.jsonl" "pi-vllm-$$")" = "True False" ]'
finish

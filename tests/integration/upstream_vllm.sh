# RL-grade capture in upstream mode (docs/gate.md, "RL capture"): real agent
# CLIs solve examples/tasks/hello against a fake vLLM server
# (tests/fakes/fake_vllm.py) through `corral run --model vllm:URL`, each
# dialect translated to chat completions and back:
#   upstream_vllm.sh local|docker [AGENT...]
# AGENT: claude_code (Messages), pi (chat completions), codex (Responses),
# gemini_cli (Gemini), qwen_code (chat completions); default claude_code pi.
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend "${1:-local}" upstream_vllm.sh
shift
[ $# -gt 0 ] || set -- claude_code pi
EX="$SOURCE_DIR/examples"
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }
command -v npm >/dev/null || { echo "# npm missing: the agent checks did not run"; not_ok "npm is needed to install the agents"; finish; }
python3 -c 'import jsonschema' 2>/dev/null || { not_ok "python3-jsonschema is needed to check the ATIF files"; finish; }

# The fake's key and the cache salt come from the environment, never argv.
export FAKE_VLLM_API_KEY="sk-vllm-fake-$$-key" CORRAL_TEST_SALT="salt-$$-x" CRL_VLLM_KEY="sk-vllm-fake-$$-key"
FAKES=()
trap 'kill "${FAKES[@]}" 2>/dev/null; rm -rf "$WORK"' EXIT

# vllm_agent AGENT REPLAY TOOL DIALECT SALT: one fake vLLM answering from
# REPLAY (its tool calls named as AGENT's tools, TOOL among them), AGENT
# solves hello through it; its DIALECT calls and the fake's log are checked.
# SALT yes: --cache-salt-env, every request carries it; no: none does.
vllm_agent() {
  local a=$1 replay=$EX/replay/$2 tool=$3 dialect=$4 salt=$5 id="$1-vllm-$$"
  local log="$WORK/$a-vllm.jsonl" res="$WORK/$a.json" traj="$WORK/traj-$a" extra=()
  python3 "$SOURCE_DIR/tests/fakes/fake_vllm.py" --script "$replay" --log "$log" --port-file "$WORK/$a.port" \
    >/dev/null 2>"$WORK/$a-vllm.err" &
  FAKES+=($!)
  for _ in $(seq 50); do [ -s "$WORK/$a.port" ] && break; sleep 0.1; done
  [ "$salt" = yes ] && extra=(--cache-salt-env CORRAL_TEST_SALT)
  argv_scan_start "$FAKE_VLLM_API_KEY" "$CORRAL_TEST_SALT"
  run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent "$a" --model "vllm:http://127.0.0.1:$(field "$WORK/$a.port" 'd["port"]')/v1" \
    --api-key-env CRL_VLLM_KEY "${extra[@]}" --rollout-id "$id" --trajectory-dir "$traj" --out "$res"
  argv_scan_stop
  check "$BACKEND: $a (real CLI) solves hello against a fake vLLM through vllm:URL: reward 1" eval '[ $RC -eq 0 ] &&
    [ "$(field "$res" "d[\"reward\"], d[\"agent\"][\"status\"]")" = "1 success" ]'
  # what the transcript keeps of each call
  check "$a: both calls are $dialect calls of kind agent, each with prompt_token_ids, token_ids and logprobs of matching length" eval '[ "$(field "$res" "all(c[\"dialect\"] == \"$dialect\" and c.get(\"call_kind\") == \"agent\" and len(c[\"prompt_token_ids\"]) > 10 and len(c[\"token_ids\"]) == len(c[\"logprobs\"]) > 0 for c in d[\"transcript\"]), len(d[\"transcript\"])")" = "True 2" ]'
  check "$a: the prompt grows from the first call to the second (the tool result)" eval '[ "$(field "$res" "len(d[\"transcript\"][1][\"prompt_token_ids\"]) > len(d[\"transcript\"][0][\"prompt_token_ids\"])")" = True ]'
  # what the fake received, and that its token ids reached the transcript unchanged
  check "$a: the fake saw X-Session-ID = the rollout id on every call" eval '[ "$(python3 -c "import json,sys; print({json.loads(l)[\"headers\"].get(\"x-session-id\") for l in open(sys.argv[1])} == {sys.argv[2]})" "$log" "$id")" = True ]'
  check "$a: the fake got translated chat requests: tools as functions ($tool), the vLLM fields, cache_salt only when asked" eval '[ "$(python3 -c "
import json,sys
b=[json.loads(l)[\"body\"] for l in open(sys.argv[1])]
salt=sys.argv[3] if sys.argv[4] == \"yes\" else None
print(all(sys.argv[2] in [t[\"function\"][\"name\"] for t in x[\"tools\"]] and x[\"return_token_ids\"] and x[\"return_tokens_as_token_ids\"] and x[\"logprobs\"] and x[\"stream\"] is False and x.get(\"cache_salt\")==salt for x in b), len(b))" "$log" "$tool" "$CORRAL_TEST_SALT" "$salt")" = "True 2" ]'
  check "$a: the second request answers the tool call with a tool message" eval '[ "$(python3 -c "
import json,sys
b=[json.loads(l)[\"body\"] for l in open(sys.argv[1])]
print([m[\"role\"] for m in b[1][\"messages\"]].count(\"tool\"))" "$log")" = 1 ]'
  check "$a: each call's prompt_token_ids, token_ids and logprobs are exactly the fake's for the request it got" eval '[ "$(python3 -c "
import json,sys
sys.path.insert(0, sys.argv[3])
from fake_vllm import Completion, pieces, prompt_text, token_id
b=[json.loads(l)[\"body\"] for l in open(sys.argv[1])]
t=json.load(open(sys.argv[2]))[\"transcript\"]
ans=[json.loads(l) for l in open(sys.argv[4]) if l.strip() and not l.startswith(\"#\")]
comp=[Completion(x, a).all_pieces() for x, a in zip(b, ans)]
print([(c[\"prompt_token_ids\"], c[\"token_ids\"], c[\"logprobs\"]) for c in t] ==
      [([token_id(p) for p in pieces(prompt_text(x))], [token_id(p) for p in ps], [-0.01 * (k % 50 + 1) for k in range(len(ps))]) for x, ps in zip(b, comp)])" "$log" "$res" "$SOURCE_DIR/tests/fakes" "$replay")" = True ]'
  # the ATIF trajectory: valid, and its agent steps carry the transcript's ids and logprobs
  run python3 "$SOURCE_DIR/tests/atif/check_atif.py" "$traj/$id/trajectory.json"
  check "$a: its trajectory.json is valid ATIF-v1.7" eval '[ $RC -eq 0 ] && [ -z "$OUT" ]'
  check "$a: the ATIF agent steps carry each call's prompt_token_ids, completion_token_ids and logprobs" eval '[ "$(python3 -c "
import json,sys
t=json.load(open(sys.argv[1]))[\"transcript\"]
s=[x[\"metrics\"] for x in json.load(open(sys.argv[2]))[\"steps\"] if x[\"source\"] == \"agent\"]
print([(m[\"prompt_token_ids\"], m[\"completion_token_ids\"], m[\"logprobs\"]) for m in s] == [(c[\"prompt_token_ids\"], c[\"token_ids\"], c[\"logprobs\"]) for c in t])" "$res" "$traj/$id/trajectory.json")" = True ]'
  OUT="$OUT$(cat "$WORK/hits")"
  check "$a: no key or salt in any argv" eval '[ ! -s "$WORK/hits" ]'
}

for a in "$@"; do
  case $a in
    claude_code) vllm_agent claude_code hello-claude-code.jsonl Bash messages yes ;;
    pi) vllm_agent pi hello.jsonl bash chat_completions no ;;
    codex) vllm_agent codex hello-codex.jsonl exec_command responses yes ;;
    gemini_cli) vllm_agent gemini_cli hello-gemini-cli.jsonl write_file gemini yes ;;
    qwen_code) vllm_agent qwen_code hello-qwen-code.jsonl write_file chat_completions yes ;;
    *) not_ok "upstream_vllm.sh: unknown agent $a" ;;
  esac
done
finish

# ATIF trajectories as a user gets them: corral run --trajectory-dir with the
# oracle and the real pi and Claude Code CLIs (replay scripts, one with token
# ids and logprobs) on the local sandbox, corral export atif over the results, every
# file checked against tests/atif/atif-v1.7.schema.json (python3-jsonschema).
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend local atif_cli.sh
python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is not installed"
EX="$SOURCE_DIR/examples"
CHECK=(python3 "$SOURCE_DIR/tests/atif/check_atif.py")
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }
pyd() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec(sys.argv[2])" "$@"; }
T="$WORK/traj"

# The oracle: no model calls; two attempts, two trajectories.
run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent oracle --attempts 2 --out "$WORK/oracle.jsonl" \
    --trajectory-dir "$T"
ids=$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["rollout_id"] for l in open(sys.argv[1])))' "$WORK/oracle.jsonl")
check "oracle: rollouts succeed and each has DIR/<rollout id>/trajectory.json" eval '[ $RC -eq 0 ] &&
  n=0 && for i in $ids; do [ -s "$T/$i/trajectory.json" ] && n=$((n + 1)); done && [ $n -eq 2 ]'
one=${ids%% *}
check "oracle: the trajectory names the agent and the rollout, with at least one step" eval '[ "$(field "$T/$one/trajectory.json" \
  "d[\"schema_version\"], d[\"agent\"][\"name\"], d[\"session_id\"] == \"$one\", len(d[\"steps\"]) >= 1, d[\"extra\"][\"reward\"]")" = "ATIF-v1.7 oracle True True 1" ]'

if command -v node >/dev/null && command -v rg >/dev/null && command -v npm >/dev/null; then
  # pi with the example replay script.
  run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent pi --model "replay:$EX/replay/hello.jsonl" \
      --rollout-id atif-pi --out "$WORK/pi.json" --trajectory-dir "$T"
  P="$T/atif-pi/trajectory.json"
  check "pi: reward 1 and a trajectory" eval '[ $RC -eq 0 ] && [ -s "$P" ]'
  check "pi: system, user, then one agent step per model call" eval '[ "$(field "$P" \
    "\",\".join(s[\"source\"] for s in d[\"steps\"]), [s[\"step_id\"] for s in d[\"steps\"]] == list(range(1, len(d[\"steps\"]) + 1))")" = "system,user,agent,agent True" ]'
  check "pi: the user step is the task's instruction" eval 'has "$(field "$P" "d[\"steps\"][1][\"message\"]")" "hello.txt"'
  check "pi: the first agent step calls bash with parsed arguments, and its result is the observation" eval '[ "$(pyd "$P" \
    "s = d[\"steps\"][2]; c = s[\"tool_calls\"][0]; r = s[\"observation\"][\"results\"][0]; print(c[\"function_name\"], \"printf\" in c[\"arguments\"][\"command\"], r[\"source_call_id\"] == c[\"tool_call_id\"], r[\"content\"])")" = "bash True True (no output)" ]'
  check "pi: the last agent step is the model's answer; agent, version, model and tools come from the result" eval '[ "$(field "$P" \
    "d[\"steps\"][3][\"message\"], d[\"agent\"][\"name\"], d[\"agent\"][\"version\"] != \"unknown\", d[\"agent\"][\"model_name\"], \"bash\" in [t[\"function\"][\"name\"] for t in d[\"agent\"][\"tool_definitions\"]]")" = "I created hello.txt containing \"Hello, world!\". pi True corral True" ]'

  # Token ids, logprobs and usage from the responder reach the metrics.
  cat >"$WORK/tokens.jsonl" <<'JSONL'
{"tool_calls": [{"name": "bash", "arguments": {"command": "printf 'Hello, world!\\n' > hello.txt"}}], "usage": {"prompt_tokens": 120, "completion_tokens": 3}, "token_ids": [11, 12, 13], "logprobs": [-0.5, -0.25, -0.125]}
{"content": "Done.", "usage": {"prompt_tokens": 150, "completion_tokens": 2}, "token_ids": [21, 22], "logprobs": [-1, -0.75]}
JSONL
  run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent pi --model "replay:$WORK/tokens.jsonl" \
      --rollout-id atif-tokens --out "$WORK/tokens.json" --trajectory-dir "$T"
  K="$T/atif-tokens/trajectory.json"
  check "pi with token ids: completion_token_ids, logprobs and token counts per call" eval '[ $RC -eq 0 ] && [ "$(pyd "$K" \
    "m = [s[\"metrics\"] for s in d[\"steps\"] if s[\"source\"] == \"agent\"]; print(m[0][\"completion_token_ids\"], m[0][\"logprobs\"], m[1][\"completion_token_ids\"], m[1][\"prompt_tokens\"], m[1][\"completion_tokens\"])")" = "[11, 12, 13] [-0.5, -0.25, -0.125] [21, 22] 150 2" ]'
  check "pi with token ids: final_metrics totals" eval '[ "$(pyd "$K" \
    "f = d[\"final_metrics\"]; print(f[\"total_prompt_tokens\"], f[\"total_completion_tokens\"], f[\"total_steps\"] == len(d[\"steps\"]), f[\"extra\"][\"model_calls\"])")" = "270 5 True 2" ]'

  # Claude Code through the Messages edge: its answers are Anthropic messages.
  run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent claude_code \
      --model "replay:$EX/replay/hello-claude-code.jsonl" --rollout-id atif-cc --out "$WORK/cc.json" --trajectory-dir "$T"
  C="$T/atif-cc/trajectory.json"
  check "claude_code: agent steps from Messages answers: Bash with its result, then the final text" eval '[ $RC -eq 0 ] && [ "$(pyd "$C" \
    "a = [s for s in d[\"steps\"] if s[\"source\"] == \"agent\"]; c = a[0][\"tool_calls\"][0]; print(len(a), c[\"function_name\"], a[0][\"observation\"][\"results\"][0][\"source_call_id\"] == c[\"tool_call_id\"], a[0][\"extra\"][\"dialect\"], a[1][\"message\"])")" = "2 Bash True messages I created hello.txt containing \"Hello, world!\"." ]'
  EXPORT_IN=("$WORK/oracle.jsonl" "$WORK/pi.json" "$WORK/tokens.json" "$WORK/cc.json")
else
  echo "skipped: pi and claude_code need node, npm and rg"
  EXPORT_IN=("$WORK/oracle.jsonl")
fi

run "${CHECK[@]}" $(find "$T" -name trajectory.json)
check "every trajectory corral run wrote is valid ATIF-v1.7 (schema and step/tool-call rules)" eval '[ $RC -eq 0 ] && [ -z "$OUT" ]'

# corral export atif: the same files, byte for byte, from the results files.
run "$CORRAL" export atif "${EXPORT_IN[@]}" "$WORK/exp"
check "export atif writes one trajectory per result and says how many" eval '[ $RC -eq 0 ] &&
  has "$ERR" "$(find "$T" -name trajectory.json | wc -l) trajectories written" &&
  [ $(find "$WORK/exp" -name trajectory.json | wc -l) -eq $(find "$T" -name trajectory.json | wc -l) ]'
check "export atif gives the same bytes as --trajectory-dir (deterministic)" diff -r "$T" "$WORK/exp"
run "$CORRAL" export atif -o "$WORK/exp2" "$WORK/oracle.jsonl"
check "export atif -o DIR" eval '[ $RC -eq 0 ] && [ -s "$WORK/exp2/$one/trajectory.json" ]'
run "${CHECK[@]}" $(find "$WORK/exp" "$WORK/exp2" -name trajectory.json)
check "every exported trajectory is valid ATIF-v1.7" eval '[ $RC -eq 0 ] && [ -z "$OUT" ]'

# The checker is not vacuous: a trajectory without agent.version, or with a
# step out of order, is refused.
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); del d["agent"]["version"]; json.dump(d, open(sys.argv[2], "w"))' \
  "$T/$one/trajectory.json" "$WORK/noversion.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["steps"][0]["step_id"] = 7; json.dump(d, open(sys.argv[2], "w"))' \
  "$T/$one/trajectory.json" "$WORK/badstep.json"
run "${CHECK[@]}" "$WORK/noversion.json" "$WORK/badstep.json"
check "the schema check refuses a missing agent.version and a step_id out of sequence" eval '[ $RC -eq 1 ] &&
  has "$OUT" "noversion.json: agent" && has "$OUT" "badstep.json: steps[0].step_id is 7"'

# Long inputs: a progress line every 1000 trajectories.
python3 -c 'import json; print("\n".join(json.dumps({"rollout_id": "bulk-%d" % i, "agent": {"name": "a", "version": "1"}}) for i in range(1001)))' >"$WORK/bulk.jsonl"
run "$CORRAL" export atif "$WORK/bulk.jsonl" "$WORK/bulk"
check "export atif: a progress line at 1000 and the count at the end" eval '[ $RC -eq 0 ] &&
  has "$ERR" "1000 of 1001 trajectories written" && has "$ERR" "1001 trajectories written to" &&
  [ $(ls "$WORK/bulk" | wc -l) -eq 1001 ]'

# A bad line: one error naming file and line, nothing written.
{ head -1 "$WORK/oracle.jsonl"; echo '{"not": "a result"'; echo '{}'; } >"$WORK/bad.jsonl"
run "$CORRAL" export atif "$WORK/bad.jsonl" "$WORK/exp3"
check "export atif: a line that is not JSON is one error naming FILE:LINE, exit 1, nothing written" eval '[ $RC -eq 1 ] &&
  has "$ERR" "bad.jsonl:2: not JSON" && [ $(grep -c . <<<"$ERR") -eq 1 ] && [ ! -e "$WORK/exp3" ]'
run "$CORRAL" export atif "$WORK/oracle.jsonl"
check "export atif without a directory: usage error" eval '[ $RC -eq 2 ] && has "$ERR" "directory"'
run "$CORRAL" export yaml "$WORK/oracle.jsonl" "$WORK/x"
check "export: an unknown format is a usage error" eval '[ $RC -eq 2 ] && has "$ERR" "unknown format"'

# A trajectory that cannot be written is reported; the result is still written.
mkdir -p "$WORK/blocked" && : >"$WORK/blocked/atif-blocked"
run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent oracle --rollout-id atif-blocked --out "$WORK/blocked.json" \
    --trajectory-dir "$WORK/blocked"
check "an unwritable trajectory: error naming it, exit 1, the result written whole" eval '[ $RC -eq 1 ] &&
  has "$ERR" "atif-blocked: its trajectory" && [ "$(field "$WORK/blocked.json" "d[\"reward\"]")" = 1 ]'
finish

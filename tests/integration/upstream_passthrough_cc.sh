# The real Claude Code CLI through a same-dialect upstream (docs/gate-dialects.md,
# "Same-dialect upstreams"): `corral run --agent claude_code --model upstream:URL
# --upstream-dialect messages` against tests/fakes/fake_anthropic.py, which
# answers a streamed tool_use Bash, then a text answer: examples/tasks/hello
# solved with reward 1, the calls relayed and recorded as messages, ATIF steps.
#   upstream_passthrough_cc.sh local   (the fake listens on the host loopback)
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend "${1:-local}" upstream_passthrough_cc.sh
command -v npm >/dev/null || { not_ok "npm is needed to install Claude Code"; finish; }
EX="$SOURCE_DIR/examples"
export CC_UPSTREAM_KEY="sk-ant-fake-$$-key"
python3 "$SOURCE_DIR/tests/fakes/fake_anthropic.py" --api-key "$CC_UPSTREAM_KEY" --port-file "$WORK/fake.port" \
  >/dev/null 2>"$WORK/fake.err" &
fake=$!
trap 'kill $fake 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [ -s "$WORK/fake.port" ] && break; sleep 0.1; done
fport=$(jq -r .port "$WORK/fake.port")
run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent claude_code --model "upstream:http://127.0.0.1:$fport/v1" \
  --upstream-dialect messages --api-key-env CC_UPSTREAM_KEY --rollout-id cc-pass --out "$WORK/res.json" \
  --trajectory-dir "$WORK/traj"
check "$BACKEND: Claude Code solves hello through a same-dialect Messages upstream: reward 1" eval '[ $RC -eq 0 ] &&
  [ "$(jq -r "[.reward, .agent.status] | @csv" "$WORK/res.json")" = "1,\"success\"" ]'
check "its agent calls are streamed messages calls recorded as messages: tool_use Bash, then the text" eval '
  [ "$(jq -c "[.transcript[] | select(.call_kind == \"agent\" and .stream == true) | [.dialect, .response.stop_reason, .response.content[-1].type]]" "$WORK/res.json")" = \
    "[[\"messages\",\"tool_use\",\"tool_use\"],[\"messages\",\"end_turn\",\"text\"]]" ]'
T="$WORK/traj/cc-pass/trajectory.json"
check "ATIF has an agent step per call: Bash with its result, then the answer" eval '
  [ "$(jq -c "[.steps[] | select(.source == \"agent\") | [(.tool_calls // [])[0].function_name, .message]] | .[-2:]" "$T")" = \
    "[[\"Bash\",\"\"],[null,\"I created hello.txt containing \\\"Hello, world!\\\".\"]]" ]'
if python3 -c 'import jsonschema' 2>/dev/null; then
  run python3 "$SOURCE_DIR/tests/atif/check_atif.py" "$T"
  check "that trajectory is valid ATIF-v1.7" eval '[ $RC -eq 0 ] && [ -z "$OUT" ]'
fi
check "the upstream key is in no output" eval 'lacks "$(cat "$WORK/res.json")" "$CC_UPSTREAM_KEY"'
finish

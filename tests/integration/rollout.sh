# corral run as a user runs it: the oracle on every example task, both real
# agent CLIs through the gate, and the failure paths (setup, verify,
# timeout, reward tampering, cancellation), on one backend:
#   rollout.sh local | docker
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend "${1:-local}" rollout.sh
EX="$SOURCE_DIR/examples"
T="$SOURCE_DIR/tests/integration/tasks"
tool_names() { field "$1" '",".join(e["name"] for e in d["events"] if e["kind"] == "tool_call")'; }
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }


for task in "$EX"/tasks/*/; do
  name=$(basename "$task")
  # mcp_echo's server is python3, which the docker test image lacks (its MCP tests run on local)
  [ "$BACKEND" = docker ] && [ "$name" = mcp_echo ] && continue
  run "$CORRAL" run "${SB[@]}" --task "$task" --agent oracle --out "$WORK/$name.json"
  check "$BACKEND: oracle solves example task $name (reward 1)" eval '[ $RC -eq 0 ] && [ "$(field "$WORK/$name.json" "d[\"reward\"]")" = 1 ]'
done

if [ "$BACKEND" = local ]; then
  for m in "replay:$WORK/absent.jsonl" "replay:" "upstream:" "gpt-4"; do
    run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --task "$EX/tasks/hello" --agent pi --model "$m"
    check "--model $m is refused before any rollout: usage error naming it" eval '[ $RC -eq 2 ] && [ -z "$OUT" ] &&
      has "$ERR" "run: --model" && lacks "$ERR" "rollout r-"'
    case $m in replay:?*) check "an unreadable replay script is named with the reason" \
      has "$ERR" "absent.jsonl': No such file or directory" ;; esac
  done
  printf '{"not": "a response"}\n' >"$WORK/bad.jsonl"
  run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent pi --model "replay:$WORK/bad.jsonl" --out "$WORK/badreplay.json"
  check "a malformed replay script fails the rollout as infrastructure (not the task's fault), naming the line" eval '[ $RC -eq 1 ] &&
    [ "$(field "$WORK/badreplay.json" "d[\"error\"][\"class\"], d[\"error\"][\"phase\"]")" = "infrastructure gate" ] &&
    has "$(field "$WORK/badreplay.json" "d[\"error\"][\"message\"]")" "replay line 1"'
fi

run "$CORRAL" run "${SB[@]}" --task "$T/setup_fails" --agent oracle --out "$WORK/setup.json"
check "setup failure: exit 1, class task, stops at the first failing command" eval '[ $RC -eq 1 ] &&
  [ "$(field "$WORK/setup.json" "d[\"error\"][\"class\"], d[\"error\"][\"phase\"], [s[\"exit_code\"] for s in d[\"setup\"]], d[\"agent\"].get(\"status\")")" = "task setup [0, 3] None" ]'
check "setup failure: the real exit code and stderr are reported" eval 'has "$(field "$WORK/setup.json" "d[\"setup\"][1][\"stderr\"]")" oops'

run "$CORRAL" run "${SB[@]}" --task "$T/wrong_answer" --agent oracle --out "$WORK/wrong.json"
check "failing verify: reward 0 from the exit status, no error" eval '[ $RC -eq 0 ] &&
  [ "$(field "$WORK/wrong.json" "d[\"reward\"], d[\"reward_source\"], d[\"error\"]")" = "0 exit_status None" ]'

run "$CORRAL" run "${SB[@]}" --task "$T/tamper" --agent oracle --out "$WORK/tamper.json"
check "a reward file written by the agent is discarded before verify" eval '[ "$(field "$WORK/tamper.json" "d[\"reward\"], d[\"reward_source\"]")" = "0 exit_status" ]'

start=$(date +%s)
run "$CORRAL" run "${SB[@]}" --task "$T/slow_agent" --agent oracle --timeout 2 --out "$WORK/slow.json"
check "agent timeout: status timeout, exit 124, class agent" eval '[ $RC -eq 1 ] &&
  [ "$(field "$WORK/slow.json" "d[\"agent\"][\"status\"], d[\"agent\"][\"exit_code\"], d[\"error\"][\"class\"]")" = "timeout 124 agent" ]'
check "agent timeout: the run ends promptly" eval '[ $(( $(date +%s) - start )) -lt 60 ]'
check "agent timeout: the agent's process group is gone" eval '! pgrep -f "sleep 3017" >/dev/null'

# Secrets: a task env value and the model key never appear in any argv, nor in logs.
# (system-wide: patterns only a leak of ours can produce, not any "Bearer")
PATTERNS=("sk-corral-test-7f3a9c1e5b2d4680" "CORRAL_MODEL_API_KEY=")
argv_scan_start "${PATTERNS[@]}"
run "$CORRAL" -v -v run "${SB[@]}" --task "$T/secret_env" --agent oracle --out "$WORK/secret.json"
argv_scan_stop
check "secret env reaches the command (verify passes)" eval '[ "$(field "$WORK/secret.json" "d[\"reward\"]")" = 1 ]'
OUT="$OUT$(cat "$WORK/hits")"
check "secret env value never in any process argv during the run" eval '[ ! -s "$WORK/hits" ]'
check "secret env value never in debug logs or the result" eval 'lacks "$ERR$OUT" "sk-corral-test-7f3a" && ! grep -q "sk-corral-test-7f3a" "$WORK/secret.json"'

# Cancellation: SIGTERM in the middle of the agent destroys the sandbox.
"$CORRAL" run "${SB[@]}" --task "$T/slow_agent" --agent oracle --out "$WORK/cancel.json" 2>"$WORK/cancel.err" &
pid=$!
for _ in $(seq 100); do grep -q "starting oracle" "$WORK/cancel.err" 2>/dev/null && break; sleep 0.1; done
sb=$(sed -n 's/.*sandbox \([a-z]*-[0-9a-f]*\) created.*/\1/p' "$WORK/cancel.err")
kill -TERM $pid; wait $pid; RC=$?
OUT=$(cat "$WORK/cancel.json" 2>/dev/null); ERR=$(cat "$WORK/cancel.err")
check "SIGTERM: the rollout ends with an error and a result" eval '[ $RC -eq 1 ] && has "$OUT" "cancelled"'
check "SIGTERM: the sandbox was destroyed" eval '[ -n "$sb" ] && has "$ERR" "sandbox $sb destroyed" && gone "$sb"'

# The real agent CLIs through the gate (installed from npm on first use).
if command -v node >/dev/null && command -v rg >/dev/null && command -v npm >/dev/null; then
  for agent in pi opencode; do
    argv_scan_start "${PATTERNS[@]}"
    run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent $agent --model "replay:$EX/replay/hello.jsonl" --out "$WORK/$agent.json"
    argv_scan_stop
    check "$BACKEND: $agent (real CLI) solves hello through the gate: reward 1" eval '[ $RC -eq 0 ] &&
      [ "$(field "$WORK/$agent.json" "d[\"reward\"], d[\"agent\"][\"status\"]")" = "1 success" ]'
    check "$agent: both model calls are in the transcript, streamed" eval '[ "$(field "$WORK/$agent.json" "len(d[\"transcript\"]), all(c[\"stream\"] for c in d[\"transcript\"]), d[\"transcript\"][0][\"status\"]")" = "2 True 200" ]'
    check "$agent: its tool call is a normalized event" eval '[ "$(tool_names "$WORK/$agent.json")" = bash ]'
    OUT="$OUT$(cat "$WORK/hits")"
    check "$agent: no key or token in any argv" eval '[ ! -s "$WORK/hits" ]'
  done
  # A replay script that runs out: the agent gets a non-retryable error and fails fast.
  head -1 "$EX/replay/hello.jsonl" >"$WORK/short.jsonl"
  start=$(date +%s)
  run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent pi --model "replay:$WORK/short.jsonl" --out "$WORK/short.json"
  check "pi with an exhausted replay: agent failure judged from its events, not its exit code" eval '[ $RC -eq 1 ] &&
    [ "$(field "$WORK/short.json" "d[\"agent\"][\"exit_code\"], d[\"agent\"][\"status\"], d[\"error\"][\"class\"]")" = "0 failed agent" ]'
  check "pi with an exhausted replay: no retry storm (ends within 30 s)" eval '[ $(( $(date +%s) - start )) -lt 30 ]'
else
  echo "# node, npm or rg missing: the real-agent checks did not run"
  not_ok "node, npm and rg are needed for the agent end-to-end tests"
fi
finish

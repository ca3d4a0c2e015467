# The gate is not held up by a flood on the egress proxy (docs/egress.md,
# "Bounds"): while a process on the host keeps 1,000 connections open on the
# rollout's proxy socket, 50 of them trickling a request head a byte a
# second (slowloris), an agent inside the sandbox sees the proxy answer 503
# past its cap, then makes a model call through the gate (a replay script)
# and gets its answer; the rollout ends with its reward.  The timeouts are
# hang guards, not measurements.
#   egress_flood.sh local
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR:$TEST_AGENT_DIR"
rollout_backend "${1:-local}" egress_flood.sh
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }
# the proxy's socket directory goes under TMPDIR: a short private one, so
# that the flood finds this rollout's socket and no other
export TMPDIR="$WORK/t"
mkdir -p "$TMPDIR"
export CORRAL_EGRESS_HOSTS="a.test=127.0.0.1"

T="$WORK/task"
mkdir -p "$T/solution" "$T/tests"
echo "call the model while the proxy is flooded" >"$T/instruction.md"
echo '{"workdir": "/workspace"}' >"$T/task.json"
cat >"$T/solution/agent.sh" <<'SH'
#!/bin/bash
cd /workspace
# wait (at most 120 s) until the flood holds every slot: the proxy answers 503
for _ in $(seq 1200); do
  c=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' -x "$http_proxy" http://a.test:9/ 2>/dev/null)
  [ "$c" = 503 ] && break
  sleep 0.1
done
echo "$c" >probe.code
sleep 3 # the slow heads are trickling by now
# a model call through the gate (its own relay, not the proxy) during the flood
curl -sS -m 120 -H "Authorization: Bearer $CORRAL_MODEL_API_KEY" -H 'Content-Type: application/json' \
  -d '{"model": "m", "messages": [{"role": "user", "content": "hi"}]}' "$CORRAL_BASE_URL/chat/completions" >answer.json
echo $? >answer.rc
# and the proxy still refuses while flooded
c=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' -x "$http_proxy" http://a.test:9/ 2>/dev/null)
echo "$c" >probe2.code
exit 0
SH
cat >"$T/tests/test.sh" <<'SH'
#!/bin/bash
cd /workspace
echo "probe=$(cat probe.code) answer.rc=$(cat answer.rc) answer=$(cat answer.json)"
[ "$(cat probe.code)" = 503 ] && [ "$(cat answer.rc)" = 0 ] && grep -q 'still answered' answer.json
SH
chmod +x "$T/solution/agent.sh" "$T/tests/test.sh"
echo '{"content": "still answered"}' >"$WORK/replay.jsonl"
echo '{"default": "deny", "rules": [{"host_pattern": "a.test", "action": "allow"}]}' >"$WORK/policy.json"

python3 "$(dirname "$0")/proxy_flood.py" "$TMPDIR/corral-gate-egress-*/egress.sock" "$WORK/stop" "$WORK/flood.out" 1000 50 &
FLOOD=$!
trap 'touch "$WORK/stop"; wait $FLOOD 2>/dev/null; rm -rf "$WORK"' EXIT
run timeout 300 "$CORRAL" run "${SB[@]}" --task "$T" --agent shell_model --model "replay:$WORK/replay.jsonl" \
  --egress "$WORK/policy.json" --out "$WORK/r.json"
touch "$WORK/stop"
wait $FLOOD
check "$BACKEND: under a 1,000-connection and slowloris flood of the proxy, the model call is answered and the rollout ends with reward 1" eval \
  '[ $RC -eq 0 ] && [ "$(field "$WORK/r.json" "d[\"reward\"]")" = 1 ]'
check "$BACKEND: the agent saw the flooded proxy answer 503 past its cap" eval \
  'has "$(field "$WORK/r.json" "d[\"verify\"][0][\"stdout\"]")" "probe=503 answer.rc=0"'
check "$BACKEND: the flood opened its 1,000 connections and got 503s past the cap" eval \
  'read -r _ opened _ n503 _ <"$WORK/flood.out"; [ "$opened" -ge 1000 ] && [ "$n503" -ge 700 ]'
echo "flood: $(cat "$WORK/flood.out")"
finish

#!/bin/bash
# Issue 15 item 13 through `corral run`: the operator's "limits" reach the
# rollout's own gate and the agent's events, and what was cut is marked in
# the result ("transcript_truncated", "events_truncated") instead of being
# kept without bound.  The agent is pi with a replay script (its requests
# are about 6 KB; its run maps to 5 events).
source "$(dirname "$0")/../integration/lib.sh"
rollout_backend "${1:-local}" gate_limits_run.sh
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
EX="$SOURCE_DIR/examples"
echo '{"limits": {"transcript_bytes": 4096, "events": 2}}' >"$CORRAL_CONFIG_DIR/corral.json"
run "$CORRAL" run "${SB[@]}" --task "$EX/tasks/hello" --agent pi --model "replay:$EX/replay/hello.jsonl" \
  --out "$WORK/r.json"
check "the rollout ran" [ "$RC" -eq 0 ]
run python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
t = d["transcript"]
assert d.get("transcript_truncated") is True, d.get("transcript_truncated")
assert t and all(e["request"] is None and e["request_bytes"] > 1000 for e in t), t
assert len(d["events"]) == 2 and d.get("events_truncated", 0) > 0, (len(d["events"]), d.get("events_truncated"))
print("LIMITED")' "$WORK/r.json"
check "transcript and events are cut at the configured limits and marked" has "$OUT" LIMITED
finish

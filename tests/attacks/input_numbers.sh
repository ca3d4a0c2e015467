#!/bin/bash
# Issue 15 item 19: every number from the command line and the task files
# is range-checked before use (a double outside int64_t converted to it is
# undefined behaviour: `agent_s: 1e300` killed the agent at once).
# Usage: input_numbers.sh local|docker
. "$(dirname "$0")/../integration/lib.sh"
rollout_backend "$1" "$0"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"

mk_task() {
  local t=$1
  mkdir -p "$t/solution"
  echo "Say hi." >"$t/instruction.md"
  printf '#!/bin/bash\ntrue\n' >"$t/solution/solve.sh"
}
i=0
for json in '{"timeouts":{"agent_s":1e300}}' '{"timeouts":{"agent_s":-5}}' '{"timeouts":{"setup_s":9223372036854775807}}' \
            '{"timeouts":{"verify_s":604801}}' '{"resources":{"cpus":1e300}}' '{"resources":{"memory_mb":1e300}}' \
            '{"resources":{"pids":1e19}}'; do
  i=$((i + 1)); t="$WORK/t$i"; mk_task "$t"; echo "$json" >"$t/task.json"
  run timeout 60 "$CORRAL" run "${SB[@]}" --task "$t" --agent oracle
  check "task.json $json is refused before a sandbox exists" \
    eval '[ "$RC" -ne 0 ] && has "$ERR" "must be a number from 0 to" && lacks "$ERR" "[create]"'
done
for v in 9223372036854775807 abc -5 0 1e30 604801; do
  run "$CORRAL" run "${SB[@]}" --task "$WORK/t1" --agent oracle --timeout "$v"
  check "--timeout $v is refused" eval '[ "$RC" -eq 2 ] && has "$ERR" "--timeout wants a number from 1 to 604800"'
done
# The largest accepted values still run (and are not turned into "at once").
t="$WORK/max"; mk_task "$t"; echo '{"timeouts":{"agent_s":604800}}' >"$t/task.json"
run timeout 300 "$CORRAL" run "${SB[@]}" --task "$t" --agent oracle --timeout 604800
check "the maximum timeout runs the agent to success" eval '[ "$RC" -eq 0 ] && has "$ERR" "oracle: success"'
finish

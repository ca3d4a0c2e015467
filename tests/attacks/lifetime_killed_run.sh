# Attack (issue 15 item 16): SIGKILL of `corral run` must not leave the
# agent running until the sandbox's TTL, nor the private gate's directory
# behind.  The rollout's sandbox carries a lease (its corral's pid and start
# time): local's holder and docker's lease watcher watch it and end the
# sandbox at once; `corral gc` removes leased sandboxes and gate directories
# whose corral is gone.
. "$(dirname "$0")/../integration/lib.sh"
rollout_backend "${1:-local}" "$0"
if [ "$BACKEND" = docker ]; then
  # Docker: the plugin's lease watcher (a detached host process, outside
  # the container) removes the container once its corral is gone.
  export CORRAL_STATE_DIR="$WORK/state"
  HOLD="sleep 7$$4"
  mkdir -p "$WORK/task/solution" "$WORK/task/tests"
  echo 'sleep' >"$WORK/task/instruction.md"
  printf '#!/bin/sh\n%s\n' "$HOLD" >"$WORK/task/solution/solve.sh"
  printf '#!/bin/sh\nexit 0\n' >"$WORK/task/tests/test.sh"
  chmod +x "$WORK/task/solution/solve.sh" "$WORK/task/tests/test.sh"
  "$CORRAL" --plugin-dir "$CORRAL_BUILD_PLUGIN_DIR" run "${SB[@]}" --task "$WORK/task" --agent oracle \
    --timeout 900 2>"$WORK/run.err" &
  pid=$!
  for _ in $(seq 600); do grep -q "starting oracle" "$WORK/run.err" 2>/dev/null && break; kill -0 $pid 2>/dev/null || break; sleep 0.2; done
  sb=$(sed -n 's/.*sandbox \([a-z]*-[0-9a-f]*\) created.*/\1/p' "$WORK/run.err")
  RC=0 OUT="" ERR=$(tail -5 "$WORK/run.err")
  check "the oracle agent runs in $sb" eval '[ -n "$sb" ] && ! gone "$sb"'
  for _ in $(seq 100); do docker top "$sb" 2>/dev/null | grep -qF "$HOLD" && break; sleep 0.2; done
  check "the agent's command runs in the container" eval 'docker top "$sb" 2>/dev/null | grep -qF "$HOLD"'
  kill -KILL $pid
  wait $pid 2>/dev/null
  # A bounded wait, not a timing assertion: the TTL is over 15 minutes away.
  for _ in $(seq 120); do gone "$sb" && break; sleep 0.5; done
  ERR=$(docker ps -a --filter "name=^$sb\$" 2>&1)
  check "within 60 s of corral's SIGKILL the container is gone (not left to its TTL)" gone "$sb"
  [ -n "$sb" ] && ! gone "$sb" && docker rm -f "$sb" >/dev/null 2>&1
  # The watcher (`corral-docker-lease lease ADDR NAME END`) ends with its container.
  watcher() { pgrep -f "^corral-docker-lease lease [0-9a-f]* $1 " >/dev/null; }
  for _ in $(seq 20); do watcher "$sb" || break; sleep 0.5; done
  ERR=$(pgrep -af "corral-docker-lease")
  check "the lease watcher is gone with the container" eval '! watcher "$sb"'
  # A rollout that ends normally destroys its container: the watcher ends too.
  cp -r "$WORK/task" "$WORK/quick"
  printf '#!/bin/sh\nsleep 2\n' >"$WORK/quick/solution/solve.sh"
  "$CORRAL" --plugin-dir "$CORRAL_BUILD_PLUGIN_DIR" run "${SB[@]}" --task "$WORK/quick" --agent oracle \
    --timeout 300 >/dev/null 2>"$WORK/quick.err" &
  qpid=$!
  for _ in $(seq 300); do grep -q "starting oracle" "$WORK/quick.err" 2>/dev/null && break; sleep 0.1; done
  qsb=$(sed -n 's/.*sandbox \([a-z]*-[0-9a-f]*\) created.*/\1/p' "$WORK/quick.err")
  RC=0 OUT="" ERR=$(tail -5 "$WORK/quick.err")
  check "a rollout's container has its lease watcher" eval '[ -n "$qsb" ] && watcher "$qsb"'
  wait $qpid
  RC=$?
  for _ in $(seq 20); do watcher "$qsb" || break; sleep 0.5; done
  check "after a normal rollout no lease watcher is left" eval '[ $RC -eq 0 ] && ! watcher "$qsb"'
  finish
  exit
fi
command -v node >/dev/null && command -v npm >/dev/null || skip "node/npm missing (the pi agent)"
# Everything gc may touch is this test's own: the local state dir, the
# registry, the gate dirs (TMPDIR), and only the local backend loaded.
export CORRAL_STATE_DIR="$WORK/state" TMPDIR="$WORK/tmp"
mkdir -p "$TMPDIR"
cat >"$CORRAL_CONFIG_DIR/conf.d/10-confine.json" <<EOF2
{"sandbox": {"local": {"state_dir": "$WORK/local"}, "docker": {"enabled": false}, "e2b": {"enabled": false},
             "hf": {"enabled": false}, "islo": {"enabled": false}}}
EOF2
C() { "$CORRAL" --plugin-dir "$CORRAL_BUILD_PLUGIN_DIR" "$@"; }
HOLD="sleep 7$$3"
cat >"$WORK/replay.jsonl" <<EOF2
{"tool_calls": [{"name": "bash", "arguments": {"command": "$HOLD"}}]}
{"content": "done"}
EOF2

# "$CORRAL" itself, not the function C: $! must be corral's pid.
"$CORRAL" --plugin-dir "$CORRAL_BUILD_PLUGIN_DIR" run "${SB[@]}" --task "$SOURCE_DIR/examples/tasks/hello" --agent pi --model "replay:$WORK/replay.jsonl" \
  --timeout 900 --out "$WORK/r.json" 2>"$WORK/run.err" &
pid=$!
for _ in $(seq 600); do pgrep -f "$HOLD" >/dev/null && break; kill -0 $pid 2>/dev/null || break; sleep 0.2; done
RC=0 OUT="" ERR=$(tail -5 "$WORK/run.err")
check "the agent runs its sleeping tool call" pgrep -f "$HOLD" >/dev/null
check "the private gate's directory exists" eval '[ -n "$(ls "$TMPDIR" | grep corral-gate-)" ]'
kill -KILL $pid
wait $pid 2>/dev/null
for _ in $(seq 60); do pgrep -f "$HOLD" >/dev/null || break; sleep 0.5; done
ERR=$(pgrep -af "$HOLD")
check "within 30 s of corral's SIGKILL the sandbox's processes are gone" eval '! pgrep -f "$HOLD" >/dev/null'
run C gc
check "gc removes the dead rollout's sandbox" eval '[ $RC -eq 0 ] && has "$OUT" "its corral is gone" && [ -z "$(ls "$WORK/local")" ]'
check "gc removes the gate directory of the dead corral" eval '[ -z "$(ls "$TMPDIR" | grep corral-gate-)" ]'
pkill -KILL -f "$HOLD" 2>/dev/null
finish

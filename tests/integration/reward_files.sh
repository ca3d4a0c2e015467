# A reward file the verifier cannot read ends the rollout without a reward;
# it never falls back to scoring by exit status (a test that wrote 0 and
# exited 0 once scored 1 when reading reward.txt failed: seen with a 503
# from the hf fake in faults_rollouts_hf).  docs/rollout.md "The verifier".
#   reward_files.sh local|docker
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend "${1:-local}" reward_files.sh
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }

# task NAME TEST_SH [SOLVE_SH]: a task.json task (exit-status scoring
# applies) with that test and that solution (default: true).
task() {
  mkdir -p "$WORK/$1/tests" "$WORK/$1/solution"
  echo '{"workdir": "/workspace", "timeouts": {"agent_s": 60, "verify_s": 60}}' >"$WORK/$1/task.json"
  echo "Nothing to do." >"$WORK/$1/instruction.md"
  printf '%s\n' "$2" >"$WORK/$1/tests/test.sh"
  printf '#!/bin/bash\n%s\n' "${3:-true}" >"$WORK/$1/solution/solve.sh"
  run "$CORRAL" run "${SB[@]}" --task "$WORK/$1" --agent oracle --out "$WORK/$1.json"
}

task oversized '{ echo 0; head -c 5000 /dev/zero | tr "\0" " "; } >/logs/verifier/reward.txt; exit 0'
check "$BACKEND: a reward.txt past 4 KiB and a test that exits 0: no reward, an error naming the file" eval '
  [ $RC -eq 1 ] && [ "$(field "$WORK/oversized.json" "d[\"reward\"], d[\"error\"] is not None")" = "None True" ] &&
  has "$(field "$WORK/oversized.json" "d[\"error\"][\"message\"]")" "/logs/verifier/reward.txt"'
task directory 'mkdir -p /logs/verifier/reward.txt; exit 0'
check "$BACKEND: a reward.txt that is a directory and a test that exits 0: no reward, an error" eval '
  [ $RC -eq 1 ] && [ "$(field "$WORK/directory.json" "d[\"reward\"]")" = None ] &&
  [ "$(field "$WORK/directory.json" "d[\"error\"] is not None")" = True ]'
task absent 'exit 0'
check "$BACKEND: no reward file: scored by the exit status, as task.json tasks are" eval '
  [ $RC -eq 0 ] && [ "$(field "$WORK/absent.json" "d[\"reward\"], d[\"reward_source\"]")" = "1 exit_status" ]'
task written 'echo 0.25 >/logs/verifier/reward.txt; exit 0'
check "$BACKEND: a reward.txt that reads: its number" eval '
  [ $RC -eq 0 ] && [ "$(field "$WORK/written.json" "d[\"reward\"], d[\"reward_source\"]")" = "0.25 reward.txt" ]'
# The verifier's fresh sandbox gets the agent's workdir streamed from the
# agent's sandbox; what the archive checks refuse there is the agent's
# doing (docs/rollout.md "The verifier").
task fifo 'echo 1 >/logs/verifier/reward.txt' 'echo kept >/workspace/a.txt; mkfifo /workspace/pipe'
check "$BACKEND: an agent that leaves a FIFO in its workdir: reward 0, class agent, the FIFO named" eval '
  [ $RC -eq 1 ] && [ "$(field "$WORK/fifo.json" "d[\"reward\"], d[\"reward_source\"], d[\"error\"][\"class\"]")" = "0 agent_failure agent" ] &&
  has "$(field "$WORK/fifo.json" "d[\"error\"][\"message\"]")" "pipe"'
check "$BACKEND: neither of its two sandboxes is left" eval '
  gone "$(field "$WORK/fifo.json" "d[\"sandbox\"][\"id\"]")" && gone "$(field "$WORK/fifo.json" "d[\"sandbox\"][\"verify_id\"]")"'
task copied 'test "$(cat /workspace/a.txt)" = kept && test -x /workspace/bin/run && test -L /workspace/link && echo 1 >/logs/verifier/reward.txt' 'echo kept >/workspace/a.txt; mkdir -p /workspace/bin; printf "#!/bin/sh\\n" >/workspace/bin/run; chmod +x /workspace/bin/run; ln -s /etc/hostname /workspace/link'
check "$BACKEND: the verifier sees the agent's files, modes and links" eval '
  [ $RC -eq 0 ] && [ "$(field "$WORK/copied.json" "d[\"reward\"]")" = 1 ]'
finish

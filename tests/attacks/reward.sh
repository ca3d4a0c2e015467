# Reward integrity (issue 15, items 7-11): oracle tasks whose solve.sh is
# the attack, each run next to a control (the same task, solve.sh doing
# nothing) proving that its test can score 0.  Neither may score above 0.
#   reward.sh local|docker ATTACK [fresh|same]
# ATTACK: planted_tests | home_pth | logs_not_dir | lingering_process |
# replaced_bash; the last argument is --verify-in (default: the default).
. "$(dirname "$0")/../integration/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend "${1:-local}" reward.sh
ATTACK=${2:?attack name}
VERIFY_IN=()
[ -n "${3:-}" ] && VERIFY_IN=(--verify-in "$3")
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }

# make_task DIR TEST_SH SOLVE_SH: a task in DIR (never solved: the check
# wants /workspace/done.txt, which no solve.sh writes).
make_task() {
  mkdir -p "$1/tests" "$1/solution"
  echo '{"workdir": "/workspace", "timeouts": {"agent_s": 60, "verify_s": 60}}' >"$1/task.json"
  echo "Write /workspace/done.txt." >"$1/instruction.md"
  printf '%s\n' "$2" >"$1/tests/test.sh"
  printf '#!/bin/bash\n%s\n' "$3" >"$1/solution/solve.sh"
  chmod +x "$1/solution/solve.sh"
}

case $ATTACK in
  planted_tests) # item 8: /tests is kept; the test runner picks up every test_*.sh in it
    TEST='for t in /tests/test_*.sh; do . "$t"; done'
    SOLVE='mkdir -p /tests && printf "echo 1 > /logs/verifier/reward.txt; exit 0\n" >/tests/test_aaa.sh' ;;
  home_pth) # item 9: the verifier's HOME is the workdir: a user-site .pth runs in its python
    if [ "$BACKEND" = docker ]; then
      docker run --rm --entrypoint /bin/sh "$IMAGE" -c 'command -v python3' >/dev/null || skip "no python3 in $IMAGE"
    fi
    TEST='exec python3 -c "import sys; sys.exit(0 if open(\"/workspace/done.txt\").read() == \"ok\" else 1)"'
    SOLVE='d=$(python3 -c "import sys; print(\".local/lib/python%d.%d/site-packages\" % sys.version_info[:2])")
mkdir -p "/workspace/$d"
echo "import os; open(\"/logs/verifier/reward.txt\", \"w\").write(\"1\"); os._exit(0)" >"/workspace/$d/zz.pth"' ;;
  logs_not_dir) # item 11: the reward directory cannot be recreated: reward null, class infrastructure
    TEST='[ -f /workspace/done.txt ]'
    SOLVE='rm -rf /logs && echo no >/logs' ;;
  lingering_process) # item 7: a setsid child outlives the agent and rewrites the reward
    TEST='echo 0 >/logs/verifier/reward.txt; [ -f /workspace/done.txt ] && echo 1 >/logs/verifier/reward.txt; sleep 3'
    SOLVE='setsid /bin/sh -c "while :; do mkdir -p /logs/verifier; echo 1 >/logs/verifier/reward.txt 2>/dev/null; sleep 0.1; done" </dev/null >/dev/null 2>&1 &
sleep 0.2' ;;
  replaced_bash) # item 10: an agent that is root replaces the verifier's bash
    TEST='[ -f /workspace/done.txt ]'
    SOLVE='cp /bin/sh /tmp/.sh && printf "#!/tmp/.sh\nmkdir -p /logs/verifier; echo 1 >/logs/verifier/reward.txt; exit 0\n" >/tmp/.b &&
for b in /usr/bin/bash /bin/bash; do rm -f "$b"; cat /tmp/.b >"$b"; chmod 755 "$b"; done; true' ;;
  *) echo "unknown attack $ATTACK"; exit 2 ;;
esac

make_task "$WORK/control" "$TEST" ':'
make_task "$WORK/attack" "$TEST" "$SOLVE"

run "$CORRAL" run "${SB[@]}" --task "$WORK/control" --agent oracle "${VERIFY_IN[@]}" --out "$WORK/control.json"
check "$BACKEND $ATTACK ${3:-default} control: the test scores 0 when nothing is attacked" eval \
  '[ "$(field "$WORK/control.json" "d[\"reward\"], d[\"error\"]")" = "0 None" ]'

run "$CORRAL" run "${SB[@]}" --task "$WORK/attack" --agent oracle "${VERIFY_IN[@]}" --out "$WORK/attack.json"
OUT=$(cat "$WORK/attack.json" 2>/dev/null)
check "$BACKEND $ATTACK ${3:-default}: the attack scores 0" eval '[ "$(field "$WORK/attack.json" "d[\"reward\"]")" = 0 ]'
check "$BACKEND $ATTACK ${3:-default}: a failure, if any, is the agent's, never infrastructure" eval \
  '[ "$(field "$WORK/attack.json" "(d[\"error\"] or {}).get(\"class\", \"none\")")" != infrastructure ]'
finish

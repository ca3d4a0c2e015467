#!/bin/bash
# Issue 15 items 4 and 18: a task directory comes from a dataset nobody
# vetted.  Its files must be regular files and directories inside it: a
# symlink (to a host file or directory) is refused naming the file, never
# followed on the host; a FIFO (or any non-regular file) is refused at once
# instead of hanging `corral run`.  A symlink inside workspace/ is copied as
# a link.  Usage: input_task_files.sh local|docker
. "$(dirname "$0")/../integration/lib.sh"
rollout_backend "$1" "$0"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"

# A passing task: the oracle writes the answer, tests/test.sh checks it and
# that workspace/inside is still a link to a.txt.
mk_task() {
  local t=$1
  mkdir -p "$t/workspace" "$t/tests" "$t/solution" "$t/environment"
  echo "Write 42 to answer.txt." >"$t/instruction.md"
  echo '{}' >"$t/task.json"
  echo x >"$t/workspace/a.txt"
  ln -s a.txt "$t/workspace/inside"
  printf '#!/bin/bash\necho 42 > answer.txt\n' >"$t/solution/solve.sh"
  printf '#!/bin/bash\ntest "$(cat answer.txt)" = 42 && test -L inside && test "$(cat inside)" = x\n' >"$t/tests/test.sh"
}
mkdir -p "$WORK/host/dir"
echo HOST-SECRET-7f3a >"$WORK/host/secret.txt"
echo HOST-SECRET-7f3a >"$WORK/host/dir/secret.txt"

mk_task "$WORK/good"
run timeout 300 "$CORRAL" run "${SB[@]}" --task "$WORK/good" --agent oracle --out "$WORK/good.json"
check "control: the task with a link inside workspace/ runs and scores 1" \
  eval '[ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"reward\"])" "$WORK/good.json")" = 1 ]'

# Replace one task file with a symlink to the host; the run must be refused,
# naming the file, before any sandbox exists.
for f in instruction.md task.json workspace tests solution environment tests/test.sh solution/solve.sh; do
  t="$WORK/link-${f//\//-}"
  mk_task "$t"
  rm -rf "${t:?}/$f"
  case $f in
    workspace|tests|solution|environment) ln -s "$WORK/host/dir" "$t/$f" ;;
    *) ln -s "$WORK/host/secret.txt" "$t/$f" ;;
  esac
  run timeout 60 "$CORRAL" run "${SB[@]}" --task "$t" --agent oracle
  check "symlinked $f is refused, naming it" \
    eval '[ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && has "$ERR" "$t/$f" && has "$ERR" "symbolic link" && lacks "$OUT$ERR" HOST-SECRET'
done

# tests/ as a regular file: no silent unscored success.
t="$WORK/tests-file"; mk_task "$t"; rm -rf "$t/tests"; echo junk >"$t/tests"
run timeout 60 "$CORRAL" run "${SB[@]}" --task "$t" --agent oracle
check "tests as a regular file is refused" eval '[ "$RC" -ne 0 ] && has "$ERR" "$t/tests: must be a directory"'

# FIFOs: refused quickly (a writer-less FIFO would block the open forever).
for f in instruction.md task.json; do
  t="$WORK/fifo-${f}"; mk_task "$t"; rm -f "$t/$f"; mkfifo "$t/$f"
  run timeout 20 "$CORRAL" run "${SB[@]}" --task "$t" --agent oracle
  check "FIFO $f is refused at once" \
    eval '[ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && has "$ERR" "$t/$f" && has "$ERR" "not a regular file"'
done
mkfifo "$WORK/config.fifo"
run timeout 20 "$CORRAL" --config "$WORK/config.fifo" config check
check "FIFO --config is refused at once" \
  eval '[ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && has "$ERR" "not a regular file"'
mkfifo "$WORK/replay.fifo"
run timeout 60 "$CORRAL" run "${SB[@]}" --task "$WORK/good" --agent oracle --model "replay:$WORK/replay.fifo"
check "FIFO replay: is refused at once" \
  eval '[ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && has "$ERR" "not a regular file"'
finish

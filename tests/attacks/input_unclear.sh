#!/bin/bash
# Issue 15 item 20: cases that were silent or unclear now fail early with a
# message naming the problem.  Usage: input_unclear.sh local|docker
. "$(dirname "$0")/../integration/lib.sh"
rollout_backend "$1" "$0"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
mk_task() {
  mkdir -p "$1/solution"
  echo "Say hi." >"$1/instruction.md"
  printf '#!/bin/bash\ntrue\n' >"$1/solution/solve.sh"
}
for wd in / /proc /etc /etc/ /usr/lib /work/../etc; do
  t="$WORK/wd$RANDOM"; mk_task "$t"; printf '{"workdir": "%s"}\n' "$wd" >"$t/task.json"
  run timeout 60 "$CORRAL" run "${SB[@]}" --task "$t" --agent oracle
  check "workdir $wd is refused before a sandbox exists" \
    eval '[ "$RC" -ne 0 ] && has "$ERR" "\"workdir\" must be a directory of the task" && lacks "$ERR" "[create]"'
done
mk_task "$WORK/ok"
for id in ../../etc .hidden 'a/b' ''; do
  run "$CORRAL" run "${SB[@]}" --task "$WORK/ok" --agent oracle --rollout-id "$id"
  check "--rollout-id '$id' is refused" eval '[ "$RC" -eq 2 ] && has "$ERR" "--rollout-id takes"'
done
unset CORRAL_TEST_UNSET_KEY
run "$CORRAL" run "${SB[@]}" --task "$WORK/ok" --agent oracle --model upstream:http://127.0.0.1:9/v1 \
  --api-key-env CORRAL_TEST_UNSET_KEY
check "--api-key-env naming an unset variable is an error before the run" \
  eval '[ "$RC" -eq 2 ] && has "$ERR" "CORRAL_TEST_UNSET_KEY: that variable is not set" && lacks "$ERR" "[create]"'
for v in 1 4194303; do
  run "$CORRAL" sandbox create --backend "$BACKEND" --memory "$v"
  check "sandbox create --memory $v is refused" eval '[ "$RC" -eq 2 ] && has "$ERR" "--memory wants a number from"'
done
if [ "$BACKEND" = local ]; then
  for u in 99999999999 4294967295 1:99999999999; do
    run "$CORRAL" sandbox create --backend local --user "$u"
    check "local sandbox create --user $u is refused (no wrap)" eval '[ "$RC" -ne 0 ] && has "$ERR" "user must be numeric"'
  done
fi
run "$CORRAL" sandbox create --backend "$BACKEND" --cpus nan
check "sandbox create --cpus nan is refused" eval '[ "$RC" -eq 2 ] && has "$ERR" "--cpus wants"'
t="$WORK/testsfile"; mk_task "$t"; echo junk >"$t/tests"
run timeout 60 "$CORRAL" run "${SB[@]}" --task "$t" --agent oracle
check "tests as a regular file is refused, not an unscored success" eval '[ "$RC" -ne 0 ] && has "$ERR" "tests: must be a directory"'
printf '{"a": x\x1b]0;pwned\x07\x1b[31m}\n' >"$WORK/bad.json"
run "$CORRAL" --config "$WORK/bad.json" config check
check "a config error escapes the file's control bytes" \
  eval '[ "$RC" -eq 3 ] && has "$ERR$OUT" "invalid JSON near" && ! grep -q $'"'"'\x1b'"'"' <<<"$ERR$OUT"'
finish

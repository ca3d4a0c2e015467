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
long="/$(head -c 1000000 /dev/zero | tr '\0' a)"
for wd in / /proc /etc /etc/ /usr/lib /work/../etc "$long"; do
  t="$WORK/wd$RANDOM"; mk_task "$t"; printf '{"workdir": "%s"}\n' "$wd" >"$t/task.json"
  run timeout 60 "$CORRAL" run "${SB[@]}" --task "$t" --agent oracle
  check "workdir ${wd:0:20} (${#wd} bytes) is refused before a sandbox exists" \
    eval '[ "$RC" -ne 0 ] && has "$ERR" "\"workdir\" must" && has "$ERR" "task'"'"'s own directory" && lacks "$ERR" "[create]"'
done
# One rule for task workdirs and sandbox create --workdir (it took /proc).
for wd in / /proc /etc/ssh /sys/ /a/../etc "${long:0:100000}"; do
  run "$CORRAL" sandbox create --backend "$BACKEND" --workdir "$wd"
  check "sandbox create --workdir ${wd:0:20} (${#wd} bytes) is refused" \
    eval '[ "$RC" -eq 2 ] && has "$ERR" "sandbox create: --workdir" && has "$ERR" "must" && [ -z "$OUT" ]'
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
# Resources the backend cannot apply are named before the sandbox starts,
# not "stage 5: Operation not permitted" at the first exec.
if [ "$BACKEND" = local ]; then
  # Without a writable cgroup the pids limit is RLIMIT_NPROC, which no
  # command in the sandbox may raise: run as an unprivileged user (nobody
  # may create no cgroup here) with a hard limit below the task's.
  as_user=()
  if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$WORK/u" CORRAL_STATE_DIR="$WORK/u/state")
    mkdir -p "$WORK/u" && chmod 777 "$WORK/u" && chmod 755 "$WORK"
  fi
  t="$WORK/u/pids"; mk_task "$t"; echo '{"resources": {"pids": 200000}}' >"$t/task.json"; chmod -R a+rX "$t"
  run bash -c 'ulimit -u 4000 && exec "$@"' _ timeout 60 "${as_user[@]}" "$CORRAL" run "${SB[@]}" --task "$t" --agent oracle
  check "a pids limit above the hard RLIMIT_NPROC is refused naming both, or enforced by a cgroup" \
    eval 'lacks "$ERR" "stage 5" && { [ "$RC" -eq 0 ] || has "$ERR" "pids limit of 200000 is above this host'"'"'s hard RLIMIT_NPROC of 4000"; }'
else
  t="$WORK/cpus"; mk_task "$t"; echo '{"resources": {"cpus": 4096}}' >"$t/task.json"
  run timeout 120 "$CORRAL" run "${SB[@]}" --task "$t" --agent oracle
  check "more CPUs than the daemon has is refused naming the CPUs" eval '[ "$RC" -ne 0 ] && has "$ERR" "CPUs"'
fi
t="$WORK/testsfile"; mk_task "$t"; echo junk >"$t/tests"
run timeout 60 "$CORRAL" run "${SB[@]}" --task "$t" --agent oracle
check "tests as a regular file is refused, not an unscored success" eval '[ "$RC" -ne 0 ] && has "$ERR" "tests: must be a directory"'
printf '{"a": x\x1b]0;pwned\x07\x1b[31m}\n' >"$WORK/bad.json"
run "$CORRAL" --config "$WORK/bad.json" config check
check "a config error escapes the file's control bytes" \
  eval '[ "$RC" -eq 3 ] && has "$ERR$OUT" "invalid JSON near" && ! grep -q $'"'"'\x1b'"'"' <<<"$ERR$OUT"'
finish

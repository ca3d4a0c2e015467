# `corral task init` and `corral task check` as a user runs them: a new task
# checks clean and the oracle solves it (local backend, reward 1); every
# shipped task checks clean; each broken copy gives its error line and exit
# 1; images per --backend without a registry (task_check_images.sh has
# those); --json agrees with the lines; bad usage exits 2; init never
# touches an existing path.
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
cd "$WORK" || exit 1
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }

run "$CORRAL" task init newtask
check "init writes the four files and says what to run next" eval '[ $RC -eq 0 ] &&
  has "$OUT" "wrote newtask/tests/test.sh" && has "$OUT" "corral run --task newtask --agent oracle" &&
  [ -s newtask/instruction.md ] && [ -s newtask/task.toml ] && [ -x newtask/tests/test.sh ] && [ -x newtask/solution/solve.sh ]'
check "init's task.toml names the task and comments docker_image" eval \
  'grep -qx "name = \"newtask\"" newtask/task.toml && grep -q "^# docker_image" newtask/task.toml'
run "$CORRAL" task check newtask
check "the new task checks clean" eval '[ $RC -eq 0 ] && [ "$OUT" = "1 task checked: 1 ok, 0 with errors; 0 warnings" ]'

if command -v bwrap >/dev/null; then
  run "$CORRAL" run --sandbox local --task newtask --agent oracle --out "$WORK/new.json"
  check "local: the oracle solves the new task with reward 1" eval '[ $RC -eq 0 ] &&
    [ "$(field "$WORK/new.json" "d[\"reward\"], d[\"reward_source\"]")" = "1 reward.txt" ]'
  cp -r newtask unsolved && : >unsolved/solution/solve.sh
  run "$CORRAL" run --sandbox local --task unsolved --agent oracle --out "$WORK/unsolved.json"
  check "local: the new task's test is a real check (no solution: reward 0)" \
    eval '[ "$(field "$WORK/unsolved.json" "d[\"reward\"]")" = 0 ]'
else
  echo "skipped: the oracle run (bubblewrap is not installed)"
fi

for t in "$SOURCE_DIR"/examples/tasks/*/ "$SOURCE_DIR/tests/integration/tasks/harbor_hello"; do
  run "$CORRAL" task check "$t"
  check "check: $t is ok" eval '[ $RC -eq 0 ] && lacks "$OUT" ": error: "'
done
run "$CORRAL" task check "$SOURCE_DIR/tests/integration/tasks/harbor_hello"
check "check: task.toml warnings are shown as warnings" \
  has "$OUT" "harbor_hello: warning: $SOURCE_DIR/tests/integration/tasks/harbor_hello/task.toml: [environment] future_field"

# Broken copies of the new task, one change each: NAME CHANGE EXPECTED-ERROR.
broken() {
  rm -rf "$1"; cp -r newtask "$1"; (cd "$1" && eval "$2")
  run "$CORRAL" task check "$1"
  B_LINE="$1: error: $WORK/$1$3"
  check "check: $1 gives its error line and exit 1" eval '[ $RC -eq 1 ] && has "$OUT" "$B_LINE" &&
    has "$OUT" "1 task checked: 0 ok, 1 with errors"'
}
broken badtype 'sed -i "s/^timeout_sec = 600/timeout_sec = \"ten\"/" task.toml' "/task.toml: [agent] timeout_sec must be a number"
broken noinstr 'rm instruction.md' "/instruction.md: missing"
broken both 'echo "{}" >task.json' ": both task.json and task.toml are present"
broken notest 'rm tests/test.sh' "/tests: no test.sh in it"

# Warnings only: exit 0.
rm -rf warny && cp -r newtask warny && rm -r warny/tests warny/solution/solve.sh
printf 'echo helper\n' >warny/solution/helper.sh
printf '#!/bin/sh\necho ok\n' >warny/solution/shebang.sh
chmod -x warny/solution/helper.sh warny/solution/shebang.sh
run "$CORRAL" task check warny
check "check: no tests/ and no solve.sh are warnings, not errors" eval '[ $RC -eq 0 ] &&
  has "$OUT" "warny: warning: no tests/test.sh and no verify commands" &&
  has "$OUT" "warny: warning: no solution/solve.sh: the oracle agent cannot run this task"'
check "check: a non-executable script without #! is a warning; with #! it is fine" eval \
  'has "$OUT" "warny: warning: solution/helper.sh is neither executable nor starts with #!" && lacks "$OUT" shebang.sh'
chmod -x newtask/tests/test.sh
run "$CORRAL" task check newtask
check "check: test.sh need not be executable (Harbor runs it with bash)" eval '[ $RC -eq 0 ] && lacks "$OUT" ": warning: "'
chmod +x newtask/tests/test.sh
rm -rf imaged && cp -r newtask imaged && sed -i 's/^# docker_image.*/docker_image = "ubuntu:24.04"/' imaged/task.toml
run "$CORRAL" task check --backend e2b imaged
check "check --backend e2b: a cloud backend's image is not checked, and a note says so" eval '[ $RC -eq 0 ] &&
  has "$OUT" "imaged: note: image ubuntu:24.04: not checked: the e2b backend chooses its images its own way"'
run "$CORRAL" task check --backend nosuch imaged
check "check --backend of a backend that is not loaded exits 4, naming it" eval '[ $RC -eq 4 ] &&
  has "$ERR" "the nosuch backend is not loaded"'
rm -rf badimage && cp -r newtask badimage && sed -i 's/^# docker_image.*/docker_image = "Bad Image!"/' badimage/task.toml
run "$CORRAL" task check --backend e2b badimage
check "check: an image that is not a reference is an error naming file, field and image, on any backend; exit 1" eval '[ $RC -eq 1 ] &&
  has "$OUT" "badimage: error: task.toml: [environment] docker_image '"'Bad Image!'"' is not an image reference: "'
rm -rf built && cp -r newtask built && mkdir built/environment && echo "FROM debian" >built/environment/Dockerfile
run "$CORRAL" task check built
check "check: a Dockerfile-only task is an error on the default backend (local), naming file and backend" eval '[ $RC -eq 1 ] &&
  has "$OUT" "built: error: environment/Dockerfile: the local backend cannot build images"'
run "$CORRAL" task check --backend docker built
check "check --backend docker: a Dockerfile-only task passes (docker builds it)" eval '[ $RC -eq 0 ] &&
  has "$OUT" "built: note: environment/Dockerfile: the docker backend builds its image at run time"'

# --json over a mix agrees with the lines.
run "$CORRAL" task check --json newtask badtype warny
echo "$OUT" >"$WORK/check.json"
check "check --json: one document; ok, errors and warnings agree; exit 1" eval '[ $RC -eq 1 ] &&
  [ "$(field "$WORK/check.json" "d[\"ok\"], [(t[\"dir\"], t[\"ok\"], len(t[\"errors\"]), len(t[\"warnings\"])) for t in d[\"tasks\"]]")" = \
    "False [('"'"'newtask'"'"', True, 0, 0), ('"'"'badtype'"'"', False, 1, 0), ('"'"'warny'"'"', True, 0, 3)]" ] &&
  has "$(field "$WORK/check.json" "d[\"tasks\"][1][\"errors\"][0]")" "[agent] timeout_sec"'
run "$CORRAL" task check --json newtask
check "check --json: all ok gives ok true and exit 0" eval '[ $RC -eq 0 ] && [ "$(field <(echo "$OUT") "d[\"ok\"]")" = True ]'

# Bad usage: exit 2.
for args in "task" "task frob" "task check" "task check --bogus newtask" "task check newtask --backend" "task init" "task init a b"; do
  run "$CORRAL" $args
  check "bad usage 'corral $args' exits 2 with a line on stderr" eval '[ $RC -eq 2 ] && [ -n "$ERR" ] && [ -z "$OUT" ]'
done
run "$CORRAL" task --help
check "corral task --help shows both commands" eval '[ $RC -eq 0 ] && has "$OUT" "corral task init NAME" && has "$OUT" "corral task check [--backend NAME] [--json] DIR..."'

# init refuses, touching nothing.
mkdir existing && echo keep >existing/file
before=$(ls -laR existing | md5sum)
run "$CORRAL" task init existing
check "init over an existing directory exits 1 and leaves it as it was" eval '[ $RC -eq 1 ] &&
  has "$ERR" "existing already exists" && [ "$(ls -laR existing | md5sum)" = "$before" ]'
run "$CORRAL" task init newtask/..
check "init of a name not plain at its end exits 1 with one line" eval '[ $RC -eq 1 ] &&
  has "$ERR" "must end in a plain directory name" && [ "$(wc -l <<<"$ERR")" = 1 ]'
echo x >afile
run "$CORRAL" task init afile/sub
check "init under a parent that is not a writable directory exits 1" eval '[ $RC -eq 1 ] &&
  has "$ERR" "its parent afile/ is not a writable directory" && [ ! -e afile/sub ]'
finish

# Harbor-format tasks (task.toml, docs/harbor.md) through `corral run` as a
# user runs them: the oracle solves one (reward 1, the host's env values and
# defaults, the working directory, metadata and warnings in the result), and
# each bad task.toml gives its one clear error line and a nonzero exit.
#   harbor.sh local | docker
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend "${1:-local}" harbor.sh
T="$SOURCE_DIR/tests/integration/tasks/harbor_hello"
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }

unset CORRAL_HARBOR_GREETING
run "$CORRAL" run "${SB[@]}" --task "$T" --agent oracle --out "$WORK/hello.json"
check "$BACKEND: the oracle solves the Harbor task (reward 1 from reward.txt)" eval '[ $RC -eq 0 ] &&
  [ "$(field "$WORK/hello.json" "d[\"reward\"], d[\"reward_source\"]")" = "1 reward.txt" ]'
check "$BACKEND: test.sh ran in [environment] workdir with env defaults from task.toml" \
  has "$(field "$WORK/hello.json" "d[\"verify\"][0][\"stdout\"]")" "greeting: Hello, plain: plain value, pwd: /app"
check "$BACKEND: the result carries [task] name and version and [metadata]" eval \
  '[ "$(field "$WORK/hello.json" "d[\"task\"][\"name\"], d[\"task\"][\"version\"], d[\"task\"][\"metadata\"][\"difficulty\"]")" = "corral/harbor-hello 0.1.0 easy" ]'
check "$BACKEND: an unknown key is a warning on stderr and in the result" eval \
  'has "$ERR" "warning: $T/task.toml: [environment] future_field is not a field corral knows" &&
   has "$(field "$WORK/hello.json" "d[\"task\"][\"warnings\"]")" "future_field"'

CORRAL_HARBOR_GREETING=Howdy run "$CORRAL" run "${SB[@]}" --task "$T" --agent oracle --out "$WORK/howdy.json"
check "$BACKEND: \${VAR:-default} takes the host's value when it is set" eval '[ $RC -eq 0 ] &&
  [ "$(field "$WORK/howdy.json" "d[\"reward\"]")" = 1 ] &&
  has "$(field "$WORK/howdy.json" "d[\"verify\"][0][\"stdout\"]")" "greeting: Howdy,"'

# Harbor's reward files: reward.json (named metrics) before reward.txt, and
# neither is a task error, not a silent 0 or 1 from the exit status.
scored() { # NAME TEST.SH-BODY
  local d="$WORK/score-$1"
  rm -rf "$d"; cp -r "$T" "$d"
  printf '#!/bin/bash\n%s\n' "$2" >"$d/tests/test.sh"
  run "$CORRAL" run "${SB[@]}" --task "$d" --agent oracle --out "$WORK/score-$1.json"
}
scored metrics 'echo "{\"reward\": 0.75, \"accuracy\": 0.5, \"passed\": 3}" > /logs/verifier/reward.json; echo 1 > /logs/verifier/reward.txt'
check "$BACKEND: reward.json wins over reward.txt; its \"reward\" is the reward; the result keeps every metric" eval '[ $RC -eq 0 ] &&
  [ "$(field "$WORK/score-metrics.json" "d[\"reward\"], d[\"reward_source\"], sorted(d[\"rewards\"].items())")" = "0.75 reward.json [('"'"'accuracy'"'"', 0.5), ('"'"'passed'"'"', 3), ('"'"'reward'"'"', 0.75)]" ]'
scored single 'echo "{\"score\": 0.25}" > /logs/verifier/reward.json'
check "$BACKEND: a reward.json with one metric: that metric is the reward" eval '[ $RC -eq 0 ] &&
  [ "$(field "$WORK/score-single.json" "d[\"reward\"], d[\"reward_source\"]")" = "0.25 reward.json" ]'
scored neither 'exit 0'
check "$BACKEND: no reward file at all: a task error, no reward (not 1 from exit 0)" eval '[ $RC -eq 1 ] &&
  [ "$(field "$WORK/score-neither.json" "d[\"reward\"], d[\"error\"][\"class\"]")" = "None task" ] &&
  has "$(field "$WORK/score-neither.json" "d[\"error\"][\"message\"]")" "wrote neither /logs/verifier/reward.json nor /logs/verifier/reward.txt"'
scored malformed 'echo "[1]" > /logs/verifier/reward.json'
check "$BACKEND: a reward.json that is not an object of numbers: a task error naming it" eval '[ $RC -eq 1 ] &&
  has "$(field "$WORK/score-malformed.json" "d[\"error\"][\"message\"]")" "reward.json: must be a JSON object of named numbers"'
scored ambiguous 'echo "{\"a\": 1, \"b\": 0}" > /logs/verifier/reward.json'
check "$BACKEND: several metrics and none named reward: a task error saying so" eval '[ $RC -eq 1 ] &&
  has "$(field "$WORK/score-ambiguous.json" "d[\"error\"][\"message\"]")" "several metrics and none named \"reward\""'

scored nan 'echo nan > /logs/verifier/reward.txt'
check "$BACKEND: a reward.txt of nan is not a number: a task error, no reward" eval '[ $RC -eq 1 ] &&
  [ "$(field "$WORK/score-nan.json" "d[\"reward\"], d[\"error\"][\"class\"]")" = "None task" ] &&
  has "$(field "$WORK/score-nan.json" "d[\"error\"][\"message\"]")" "reward.txt is not a number"'

# Harbor's --timeout-multiplier: a test.sh that needs 3 s under a 2 s
# verifier timeout times out, and passes with the timeouts five times as long.
d="$WORK/slow"; rm -rf "$d"; cp -r "$T" "$d"
sed -i 's/^timeout_sec = 120.0$/timeout_sec = 2/' "$d/task.toml"
printf '#!/bin/bash\nsleep 3\necho 1 > /logs/verifier/reward.txt\n' >"$d/tests/test.sh"
run "$CORRAL" run "${SB[@]}" --task "$d" --agent oracle --out "$WORK/slow.json"
check "$BACKEND: a test.sh past [verifier] timeout_sec times out" eval '[ $RC -eq 1 ] &&
  [ "$(field "$WORK/slow.json" "d[\"verify\"][0][\"timed_out\"]")" = True ]'
run "$CORRAL" run "${SB[@]}" --task "$d" --agent oracle --timeout-multiplier 5 --out "$WORK/slow2.json"
check "$BACKEND: --timeout-multiplier 5 gives it 10 s: reward 1" eval '[ $RC -eq 0 ] &&
  [ "$(field "$WORK/slow2.json" "d[\"reward\"]")" = 1 ]'
check "$BACKEND: the result records the timeouts that applied" eval \
  '[ "$(field "$WORK/slow2.json" "d[\"timeouts_s\"][\"verify\"]")" = 10 ]'
# Harbor's per-phase multiplier replaces the global one for its phase only.
run "$CORRAL" run "${SB[@]}" --task "$d" --agent oracle --timeout-multiplier 5 --verifier-timeout-multiplier 1 \
  --agent-timeout-multiplier 2 --out "$WORK/slow3.json"
check "$BACKEND: --verifier-timeout-multiplier 1 replaces --timeout-multiplier 5 for test.sh: it times out" eval \
  '[ $RC -eq 1 ] && [ "$(field "$WORK/slow3.json" "d[\"verify\"][0][\"timed_out\"], d[\"timeouts_s\"][\"verify\"]")" = "True 2" ]'
check "$BACKEND: --agent-timeout-multiplier 2 scales the agent's timeout, the setup keeps 5" eval \
  '[ "$(field "$WORK/slow3.json" "d[\"timeouts_s\"][\"agent\"] == 2 * 300, d[\"timeouts_s\"][\"setup\"] == 5 * 600")" = "True True" ]'
run "$CORRAL" run "${SB[@]}" --task "$d" --agent oracle --agent-setup-timeout-multiplier 101
check "$BACKEND: --agent-setup-timeout-multiplier 101 is bad usage (exit 2) naming the option" eval '[ $RC -eq 2 ] &&
  has "$ERR" "--agent-setup-timeout-multiplier"'
run "$CORRAL" run "${SB[@]}" --task "$d" --agent oracle --timeout-multiplier 0
check "$BACKEND: --timeout-multiplier 0 is bad usage (exit 2) naming the option" eval '[ $RC -eq 2 ] &&
  has "$ERR" "--timeout-multiplier wants a decimal number"'

# Harbor's per-phase environments, the oracle's /solution, /logs/agent and
# /logs/artifacts collected with --artifacts, test-stdout.txt.
d="$WORK/phases"; rm -rf "$d"; cp -r "$T" "$d"
sed -i 's/^timeout_sec = 120.0$/timeout_sec = 120.0\nenv = { ANSWER = "42" }/' "$d/task.toml"
printf '\n[solution]\nenv = { HINT = "${CORRAL_HARBOR_HINT:-hint-default}" }\n' >>"$d/task.toml"
cat >"$d/solution/solve.sh" <<'SH'
#!/bin/bash
echo "$GREETING, world!" > hello.txt
echo "hint=$HINT answer=[$ANSWER] solution_at_root=$([ -f /solution/solve.sh ] && echo yes)" > /logs/agent/oracle.log
echo "an artifact" > /logs/artifacts/out.txt
SH
cat >"$d/tests/test.sh" <<'SH'
#!/bin/bash
echo "answer: $ANSWER, hint: [$HINT]"
echo "to stderr" >&2
grep -q "hint=hint-default answer=\[\] solution_at_root=yes" /logs/agent/oracle.log && [ "$ANSWER" = 42 ] &&
  echo 1 > /logs/verifier/reward.txt || echo 0 > /logs/verifier/reward.txt
SH
run "$CORRAL" run "${SB[@]}" --task "$d" --agent oracle --artifacts "$WORK/art" --out "$WORK/phases.json"
ID=$(field "$WORK/phases.json" 'd["rollout_id"]')
check "$BACKEND: [verifier] env reaches the tests only, [solution] env the oracle only, which finds /solution" eval '
  [ $RC -eq 0 ] && [ "$(field "$WORK/phases.json" "d[\"reward\"]")" = 1 ] &&
  has "$(field "$WORK/phases.json" "d[\"verify\"][0][\"stdout\"]")" "answer: 42, hint: []"'
check "$BACKEND: --artifacts: /logs/agent, /logs/artifacts and /logs/verifier copied to DIR/<id>, named in the result" eval '
  [ "$(field "$WORK/phases.json" "d[\"artifacts\"][\"dir\"]")" = "$WORK/art/$ID" ] &&
  grep -q "hint=hint-default" "$WORK/art/$ID/agent/oracle.log" && [ "$(cat "$WORK/art/$ID/artifacts/out.txt")" = "an artifact" ] &&
  [ "$(cat "$WORK/art/$ID/verifier/reward.txt")" = 1 ] && has "$ERR" "copied to $WORK/art/$ID"'
check "$BACKEND: test-stdout.txt holds test.sh stdout and stderr, as Harbor keeps it" eval '
  grep -q "answer: 42" "$WORK/art/$ID/verifier/test-stdout.txt" && grep -q "to stderr" "$WORK/art/$ID/verifier/test-stdout.txt"'
check "$BACKEND: the collect phase is timed; without --artifacts it does not run" eval '
  [ "$(field "$WORK/phases.json" "\"collect\" in d[\"timings_ms\"]")" = True ] &&
  [ "$(field "$WORK/hello.json" "\"collect\" in d[\"timings_ms\"], \"artifacts\" in d")" = "False False" ]'

printf '#!/bin/bash\necho "got this far" > /logs/agent/oracle.log\nexit 3\n' >"$d/solution/solve.sh"
run "$CORRAL" run "${SB[@]}" --task "$d" --agent oracle --artifacts "$WORK/art" --out "$WORK/phases-fail.json"
ID=$(field "$WORK/phases-fail.json" 'd["rollout_id"]')
check "$BACKEND: an agent that fails still has its /logs/agent collected" eval '[ $RC -eq 1 ] &&
  [ "$(field "$WORK/phases-fail.json" "d[\"error\"][\"class\"]")" = agent ] &&
  [ "$(cat "$WORK/art/$ID/agent/oracle.log")" = "got this far" ]'

# Harbor's `artifacts` list: a file relative to the workdir, a directory
# with a destination, a missing path (a warning in the result, not a
# failure); a path through ".." is refused before anything runs.
d="$WORK/extra"; rm -rf "$d"; cp -r "$T" "$d"
sed -i '1i artifacts = ["hello.txt", { source = "/tmp/outdir/", destination = "out/d" }, "/app/nope"]' "$d/task.toml"
printf '#!/bin/bash\necho "$GREETING, world!" > hello.txt\nmkdir -p /tmp/outdir/sub && echo deep > /tmp/outdir/sub/f\n' \
  >"$d/solution/solve.sh"
run "$CORRAL" run "${SB[@]}" --task "$d" --agent oracle --artifacts "$WORK/art" --out "$WORK/extra.json"
ID=$(field "$WORK/extra.json" 'd["rollout_id"]')
check "$BACKEND: task.toml artifacts are copied to DIR/<id>/files/ (the source's path, or its destination)" eval '
  [ $RC -eq 0 ] && [ "$(field "$WORK/extra.json" "d[\"reward\"]")" = 1 ] &&
  [ "$(cat "$WORK/art/$ID/files/app/hello.txt")" = "Hello, world!" ] &&
  [ "$(cat "$WORK/art/$ID/files/out/d/sub/f")" = deep ]'
check "$BACKEND: a missing artifact is a warning in the result, not a failure" eval '
  [ "$(field "$WORK/extra.json" "d[\"artifacts\"][\"missing\"] == [\"/app/nope\"], \"error\" in d[\"artifacts\"]")" = "True False" ] &&
  has "$ERR" "/app/nope does not exist in the sandbox"'
sed -i '1s|.*|artifacts = ["/app/../etc/passwd"]|' "$d/task.toml"
run "$CORRAL" run "${SB[@]}" --task "$d" --agent oracle --artifacts "$WORK/art" --out "$WORK/extra-bad.json"
check "$BACKEND: an artifact through .. is refused, naming the file and entry" eval '[ $RC -ne 0 ] &&
  has "$ERR$(cat "$WORK/extra-bad.json" 2>/dev/null)" "task.toml: artifacts[0]: source \"/app/../etc/passwd\" goes through \"..\""'

# [agent] user and [verifier] user: docker runs each phase as that user, with
# the directories it writes made its own; local cannot switch users and says
# so before the agent runs; a user the image lacks is the task's error.
d="$WORK/users"; rm -rf "$d"; cp -r "$T" "$d"
sed -i 's/^timeout_sec = 120.0$/timeout_sec = 120.0\nuser = "nobody"/; s/^timeout_sec = 300$/timeout_sec = 300\nuser = "nobody"/' "$d/task.toml"
printf '#!/bin/bash\necho "$GREETING, world!" > hello.txt\nid -un > /logs/agent/whoami\n' >"$d/solution/solve.sh"
printf '#!/bin/bash\necho "verifier: $(id -un) agent: $(cat /logs/agent/whoami)"\n[ "$(cat hello.txt)" = "Hello, world!" ] && echo 1 > /logs/verifier/reward.txt\n' >"$d/tests/test.sh"
run "$CORRAL" run "${SB[@]}" --task "$d" --agent oracle --out "$WORK/users.json"
if [ "$BACKEND" = docker ]; then
  check "docker: [agent] user and [verifier] user: each phase ran as nobody, reward 1" eval '[ $RC -eq 0 ] &&
    [ "$(field "$WORK/users.json" "d[\"reward\"]")" = 1 ] &&
    has "$(field "$WORK/users.json" "d[\"verify\"][0][\"stdout\"]")" "verifier: nobody agent: nobody"'
  sed -i 's/user = "nobody"/user = "no-such-user"/' "$d/task.toml"
  run "$CORRAL" run "${SB[@]}" --task "$d" --agent oracle --out "$WORK/users-bad.json"
  check "docker: a user the image does not have: a task error before the agent runs" eval '[ $RC -eq 1 ] &&
    [ "$(field "$WORK/users-bad.json" "d[\"error\"][\"class\"], d[\"error\"][\"phase\"]")" = "task hydrate" ] &&
    has "$(field "$WORK/users-bad.json" "d[\"error\"][\"message\"]")" "[agent] user no-such-user"'
else
  check "local: [agent] user other than the sandbox's: refused before the agent runs, saying why" eval '[ $RC -eq 1 ] &&
    [ "$(field "$WORK/users.json" "d[\"error\"][\"class\"], d[\"error\"][\"phase\"]")" = "infrastructure hydrate" ] &&
    has "$(field "$WORK/users.json" "d[\"error\"][\"message\"]")" "per-command user" &&
    [ "$(field "$WORK/users.json" "\"status\" in d[\"agent\"]")" = False ]'
fi

# Bad tasks: a copy of the good one with one change each; the load fails
# with exit 1 and a message naming the file and the field.
bad() { # NAME EXPECTED-MESSAGE SED-SCRIPT-OR-- [EXTRA-FILE]
  local d="$WORK/bad-$1" name=$1 want=$2
  rm -rf "$d"; cp -r "$T" "$d"
  [ "$3" = "--" ] || sed -i "$3" "$d/task.toml"
  if [ -n "${4:-}" ]; then mkdir -p "$(dirname "$d/$4")"; echo "x: 1" >"$d/$4"; fi
  run "$CORRAL" run "${SB[@]}" --task "$d" --agent oracle --out "$WORK/bad-$1.json"
  check "$BACKEND: bad task.toml ($1): exit 1, one error line naming file and field" eval '[ $RC -eq 1 ] &&
    [ "$(grep -F -- "$want" <<<"$ERR" | grep -c "rollout r-.*: reward none; error: ")" = 1 ] &&
    [ "$(field "$WORK/bad-$name.json" "d[\"error\"][\"class\"], d[\"error\"][\"phase\"]")" = "task load" ] &&
    has "$(field "$WORK/bad-$name.json" "d[\"error\"][\"message\"]")" "$want"'
}
bad wrong-type "bad-wrong-type/task.toml: [environment] cpus must be an integer (found string)" 's/^cpus = 1$/cpus = "one"/'
bad syntax "bad-syntax/task.toml: line 24, column 8: expected a value" 's/^cpus = 1$/cpus = /'
bad both-files "bad-both-files: both task.json and task.toml are present" -- task.json
bad compose "bad-compose/environment/docker-compose.yaml: multi-container" -- environment/docker-compose.yaml
bad windows "[environment] os: \"windows\" is refused" 's/^cpus = 1$/os = "windows"/'
bad gpus "[environment] gpus: no corral backend provides GPUs" 's/^cpus = 1$/gpus = 2/'
bad tpu "[environment] tpu: no corral backend provides TPUs" 's/^cpus = 1$/tpu = { type = "tpu-v6e-slice", topology = "2x2" }/'
bad healthcheck "[environment] healthcheck: healthchecks are not supported" 's/^cpus = 1$/healthcheck = { command = "true" }/'
bad mcp "[environment] mcp_servers[0].name: \"corral\" is reserved" 's/^cpus = 1$/mcp_servers = [{ name = "corral", url = "http:\/\/x" }]/'
bad steps "task.toml: steps: multi-step tasks are not supported" 's/^version = "1.0"$/version = "1.0"\nsteps = [{ name = "one" }]/'
bad unset-var "[environment.env] GREETING: the variable CORRAL_HARBOR_UNSET is not set" 's/\${CORRAL_HARBOR_GREETING:-Hello}/${CORRAL_HARBOR_UNSET}/'
bad huge "[agent] timeout_sec must be above 0 and at most 604800 seconds" 's/^timeout_sec = 300$/timeout_sec = 1e300/'
finish

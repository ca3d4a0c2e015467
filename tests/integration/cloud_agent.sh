# corral run with a real agent CLI (Pi) on each cloud fake: installed by npm
# inside the sandbox through a registry mirror that install_env passes in,
# its model calls reaching corral's gate over the network (--gate-listen +
# --gate-url), as cloud sandboxes reach an operator-given URL.
#
# The mirror's cache ($CORRAL_TEST_NPM_MIRROR, default
# $BUILD_DIR/tests/npm-mirror) makes repeated runs independent of the
# registry; the first run fills it from registry.npmjs.org.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cloud_fakes.sh"
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
for c in node npm rg; do
  command -v $c >/dev/null || { not_ok "$c is needed for the real-agent checks (Debian: nodejs npm ripgrep)"; finish; exit 1; }
done

MIRROR_CACHE=${CORRAL_TEST_NPM_MIRROR:-$BUILD_DIR/tests/npm-mirror}
python3 "$(dirname "$0")/npm_mirror.py" --cache "$MIRROR_CACHE" --port-file "$WORK/mirror.port" >/dev/null 2>"$WORK/mirror.log" &
FAKE_PIDS+=($!)
wait_file "$WORK/mirror.port" || { echo "not ok - the npm mirror did not start"; exit 1; }
MIRROR="http://127.0.0.1:$(cat "$WORK/mirror.port")"
mirror_requests() { get "$MIRROR/-/mirror/stats" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["hits"] + d["fetched"])'; }

# Install-only variables: the registry mirror, a marker that must never be
# seen outside the install step, and one that is not set (skipped).
cat >"$CORRAL_CONFIG_DIR/conf.d/50-install.json" <<'JSON'
{"install_env": ["npm_config_registry", "CRL_IT_INSTALL_ONLY", "CRL_IT_NOT_SET"]}
JSON
export npm_config_registry="$MIRROR/" CRL_IT_INSTALL_ONLY=crl-install-only-5e1f0c7a
unset CRL_IT_NOT_SET
# The agent's tool call and the verifier both report what they see of them.
cp -r "$SOURCE_DIR/examples/tasks/hello" "$WORK/task"
python3 - "$WORK/task/task.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["verify"] = ['echo "verify-sees:${npm_config_registry:-none}:${CRL_IT_INSTALL_ONLY:-none}"']
json.dump(t, open(sys.argv[1], "w"))
PY
cat >"$WORK/replay.jsonl" <<'JSONL'
{"tool_calls": [{"name": "bash", "arguments": {"command": "printf 'Hello, world!\\n' > hello.txt; echo \"agent-sees:${npm_config_registry:-none}:${CRL_IT_INSTALL_ONLY:-none}\""}}]}
{"content": "I created hello.txt containing \"Hello, world!\"."}
JSONL

for b in e2b islo hf; do
  port=$(free_port)
  before=$(mirror_requests)
  argv_scan_start "crl-install-only-5e1f0c7a" "CORRAL_MODEL_API_KEY="
  start=$(date +%s)
  run "$CORRAL" -v -v run --sandbox $b --task "$WORK/task" --agent pi --model "replay:$WORK/replay.jsonl" \
    --gate-listen "127.0.0.1:$port" --gate-url "http://127.0.0.1:$port" --out "$WORK/$b.json"
  took=$(( $(date +%s) - start ))
  argv_scan_stop
  echo "# $b: pi rollout took ${took}s"
  check "$b (fake): pi installed in the sandbox solves hello through the gate: reward 1" eval '[ $RC -eq 0 ] &&
    [ "$(field "$WORK/$b.json" "d[\"reward\"], d[\"agent\"][\"status\"], d[\"sandbox\"][\"backend\"]")" = "1 success $b" ]'
  check "$b: both model calls went through the gate, streamed" eval \
    '[ "$(field "$WORK/$b.json" "len(d[\"transcript\"]), all(c[\"stream\"] and c[\"status\"] == 200 for c in d[\"transcript\"])")" = "2 True" ]'
  check "$b: the install fetched through the registry that install_env passed" eval '[ "$(mirror_requests)" -gt "$before" ]'
  check "$b: the agent and the verifier see no install-only variable" eval \
    '[ "$(field "$WORK/$b.json" "\" \".join(e[\"output\"].strip() for e in d[\"events\"] if e[\"kind\"] == \"tool_result\"), d[\"verify\"][1][\"stdout\"].strip()")" = "agent-sees:none:none verify-sees:none:none" ]'
  check "$b: the debug log names install_env variables, never their values" eval \
    'has "$ERR" "passing CRL_IT_INSTALL_ONLY to the install step" && has "$ERR" "CRL_IT_NOT_SET is not set here; skipped" &&
     lacks "$ERR" "crl-install-only-5e1f0c7a" && ! grep -q "crl-install-only-5e1f0c7a" "$WORK/$b.json"'
  OUT="$OUT$(cat "$WORK/hits")"
  check "$b: no install-only value, key or token in any argv during the run" eval '[ ! -s "$WORK/hits" ]'
  rid=$(field "$WORK/$b.json" 'd["rollout_id"]')
  run "$CORRAL" -q sandbox ls --json
  check "$b: nothing left: no sandbox in corral or the fake, no agent process" eval \
    '! grep -qE "\"backend\":[[:space:]]*\"$b\"" <<<"$OUT" && [ "$(fake_live $b)" = "[]" ] && ! pgrep -f "corral-$rid/" >/dev/null'
done
finish

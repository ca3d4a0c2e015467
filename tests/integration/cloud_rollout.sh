# corral run on the cloud backends, each against its faithful fake server
# started here on loopback: the oracle agent on examples/tasks/hello.
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
command -v python3 >/dev/null || { echo "skipped: python3 missing"; exit 77; }
FAKES="$SOURCE_DIR/tests/fakes"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; rm -rf "$WORK"' EXIT
port_of() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }

python3 "$FAKES/e2b/fake_e2b.py" --port 0 --port-file "$WORK/e2b.port" --api-key e2b_fake_key >"$WORK/e2b.log" 2>&1 &
PIDS+=($!)
python3 "$FAKES/islo/islo_fake.py" --port-file "$WORK/islo.ports" >"$WORK/islo.log" 2>&1 &
PIDS+=($!)
python3 "$FAKES/hf/hf_fake.py" --port-file "$WORK/hf.ports" >"$WORK/hf.log" 2>&1 &
PIDS+=($!)
wait_file "$WORK/e2b.port" && wait_file "$WORK/islo.ports" && wait_file "$WORK/hf.ports" || { echo "not ok - fakes did not start"; exit 1; }
E=$(cat "$WORK/e2b.port")
cat >"$CORRAL_CONFIG_DIR/corral.json" <<JSON
{"sandbox": {
  "e2b": {"api_url": "http://127.0.0.1:$E", "envd_url": "http://127.0.0.1:$E/", "api_key_env": "FAKE_E2B_KEY"},
  "islo": {"control_url": "http://127.0.0.1:$(port_of "$WORK/islo.ports" control)/",
           "compute_url": "http://127.0.0.1:$(port_of "$WORK/islo.ports" compute)"},
  "hf": {"endpoint": "http://127.0.0.1:$(port_of "$WORK/hf.ports" hub)", "namespace": "tester",
         "sandbox_url": "http://127.0.0.1:$(port_of "$WORK/hf.ports" proxy)/{job_id}", "allow_network_none": true}}}
JSON
export FAKE_E2B_KEY=e2b_fake_key ISLO_API_KEY=ak_test_key HF_TOKEN=hf_test_token

for b in e2b islo hf; do
  run "$CORRAL" run --sandbox $b --task "$SOURCE_DIR/examples/tasks/hello" --agent oracle --out "$WORK/$b.json"
  check "$b (fake): the oracle solves hello, reward 1" eval '[ $RC -eq 0 ] &&
    [ "$(python3 -c "import json; d=json.load(open(\"$WORK/$b.json\")); print(d[\"reward\"], d[\"error\"])")" = "1 None" ]'
  run "$CORRAL" -q sandbox ls --json
  check "$b (fake): nothing left after the rollout" eval '! grep -qE "\"backend\":[[:space:]]*\"$b\"" <<<"$OUT"'
done
run "$CORRAL" run --sandbox e2b --task "$SOURCE_DIR/examples/tasks/hello" --agent pi --model "replay:$SOURCE_DIR/examples/replay/hello.jsonl"
check "a model-calling agent on a cloud backend without --gate-url is refused before the sandbox" eval '[ $RC -eq 1 ] && has "$ERR" "--gate-url"'
finish

# The three cloud fakes (tests/fakes) on loopback and a corral config that
# points the e2b, islo and hf backends at them; sourced after lib.sh.
# Sets FAKE_E2B_URL, FAKE_ISLO_CONTROL, FAKE_HF_HUB (the fakes' admin APIs)
# and CORRAL_STATE_DIR (a private registry: gc must not see other runs');
# local and docker are disabled so that `corral gc` touches nothing else.
# The fakes stop on exit.
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR" CORRAL_STATE_DIR="$WORK/state"
command -v python3 >/dev/null || { echo "skipped: python3 missing"; exit 77; }
FAKES="$SOURCE_DIR/tests/fakes"
FAKE_PIDS=()
trap 'kill "${FAKE_PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
port_of() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }

python3 "$FAKES/e2b/fake_e2b.py" --port 0 --port-file "$WORK/e2b.port" --api-key e2b_fake_key >"$WORK/e2b.log" 2>&1 &
FAKE_PIDS+=($!)
python3 "$FAKES/islo/islo_fake.py" --port-file "$WORK/islo.ports" >"$WORK/islo.log" 2>&1 &
FAKE_PIDS+=($!)
python3 "$FAKES/hf/hf_fake.py" --port-file "$WORK/hf.ports" >"$WORK/hf.log" 2>&1 &
FAKE_PIDS+=($!)
wait_file "$WORK/e2b.port" && wait_file "$WORK/islo.ports" && wait_file "$WORK/hf.ports" ||
  { echo "not ok - fakes did not start"; exit 1; }
FAKE_E2B_URL="http://127.0.0.1:$(cat "$WORK/e2b.port")"
FAKE_ISLO_CONTROL="http://127.0.0.1:$(port_of "$WORK/islo.ports" control)"
FAKE_HF_HUB="http://127.0.0.1:$(port_of "$WORK/hf.ports" hub)"
cat >"$CORRAL_CONFIG_DIR/corral.json" <<JSON
{"sandbox": {
  "local": {"enabled": false}, "docker": {"enabled": false},
  "e2b": {"api_url": "$FAKE_E2B_URL", "envd_url": "$FAKE_E2B_URL/", "api_key_env": "FAKE_E2B_KEY"},
  "islo": {"control_url": "$FAKE_ISLO_CONTROL/", "compute_url": "http://127.0.0.1:$(port_of "$WORK/islo.ports" compute)"},
  "hf": {"endpoint": "$FAKE_HF_HUB", "namespace": "tester",
         "sandbox_url": "http://127.0.0.1:$(port_of "$WORK/hf.ports" proxy)/{job_id}", "allow_network_none": true}}}
JSON
export FAKE_E2B_KEY=e2b_fake_key ISLO_API_KEY=ak_test_key HF_TOKEN=hf_test_token
# get URL: the body of a GET (the fakes' admin APIs).
get() { python3 -c "import sys,urllib.request as u; sys.stdout.write(u.urlopen(sys.argv[1], timeout=30).read().decode())" "$1"; }
# send METHOD URL [JSON]: a request with an optional JSON body (the fakes' admin APIs).
send() { python3 -c "import sys,urllib.request as u; u.urlopen(u.Request(sys.argv[2], method=sys.argv[1], data=sys.argv[3].encode() if len(sys.argv) > 3 else None, headers={'Content-Type': 'application/json'}), timeout=30)" "$@"; }
# fake_live e2b|islo|hf: the JSON of every sandbox (job) the fake still
# holds alive, as it stores them (corral ids appear in labels/metadata).
fake_live() {
  case $1 in
    e2b) get "$FAKE_E2B_URL/_fake/sandboxes" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["sandboxes"]))' ;;
    islo) get "$FAKE_ISLO_CONTROL/_state" | python3 -c 'import json,sys; print(json.dumps(list(json.load(sys.stdin)["sandboxes"].values())))' ;;
    hf) get "$FAKE_HF_HUB/_state" | python3 -c 'import json,sys; print(json.dumps([j for j in json.load(sys.stdin)["jobs"].values() if j["status"]["stage"] not in ("COMPLETED", "CANCELED", "ERROR", "DELETED")]))' ;;
  esac
}

#!/bin/sh
# Run the sandbox conformance suite against the e2b plugin pointed at the
# fake E2B server.  Usage: conformance_e2b.sh CONFORMANCE_BIN PLUGIN_DIR FAKE_PY
set -eu
bin=$1 plugdir=$2 fake=$3
dir=$(mktemp -d /tmp/corral-e2b-conf-XXXXXX)
mkdir "$dir/fake"
TMPDIR="$dir/fake" python3 "$fake" --port-file "$dir/port" --api-key e2b_conformance0123 >/dev/null &
fpid=$!
# Once the fake is stopped, no process it started (tagged by
# tests/fakes/sandbox_root.py) and no file of it may be left.
cleanup() {
  rc=$?
  kill $fpid 2>/dev/null; wait $fpid 2>/dev/null
  left=$(grep -l -a -F "CORRAL_FAKE_SANDBOX=$dir/fake/" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | tr '\n' ' ')
  [ -z "$left" ] || { echo "FAIL: the fake left processes running: $left"; rc=1; }
  [ -z "$(ls -A "$dir/fake" 2>/dev/null)" ] || { echo "FAIL: the fake left files: $(ls -A "$dir/fake")"; rc=1; }
  rm -rf "$dir"
  exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM
i=0
while [ ! -s "$dir/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
port=$(cat "$dir/port")
mkdir -p "$dir/etc"
cat >"$dir/etc/corral.json" <<JSON
{"sandbox": {"e2b": {"api_url": "http://127.0.0.1:$port", "envd_url": "http://127.0.0.1:$port",
 "api_key_env": "CONF_E2B_KEY", "backoff_ms": 20}}}
JSON
export CONF_E2B_KEY=e2b_conformance0123 CORRAL_CONFIG_DIR="$dir/etc" CORRAL_PLUGIN_PATH=
shift 3
if [ -z "${CORRAL_FAKE_FAULTS:-}" ]; then
  "$bin" --plugin e2b --plugin-dir "$plugdir" "$@"
  exit
fi
# Fault mode (tests/fakes/faults.py, see tests/fakes/conformance_fake.sh):
# tests may fail, but no command may run twice and nothing may be left.
rc=0
CORRAL_CONFORMANCE_REAP=1 "$bin" --plugin e2b --plugin-dir "$plugdir" "$@" || rc=$?
echo "conformance under faults exited $rc"
python3 - "http://127.0.0.1:$port/_fake" <<'PY'
import json, sys, urllib.request as u
get = lambda p: json.load(u.urlopen(sys.argv[1] + p))
f, st = get("/faults"), get("/sandboxes")
print("faults:", json.dumps(f))
bad = ["commands executed twice: %s" % f["double_exec"]] if f["double_exec"] else []
live = [x["sandboxID"] for x in st["sandboxes"] if x.get("state") == "running"]
if live:
    bad.append("left running: %s" % live)
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY

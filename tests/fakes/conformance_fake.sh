#!/bin/sh
# Run corral-conformance for the islo or hf plugin against its fake server.
# usage: conformance_fake.sh islo|hf <corral-conformance> <plugin-dir> [extra args...]
set -eu
backend=$1 conf=$2 plugdir=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || { echo "python3 missing: skipped"; exit 77; }
tmp=$(mktemp -d)
fake_pid=
# The fake keeps its sandboxes under $tmp/fake (TMPDIR) and tags their
# processes (sandbox_root.mark_env): once it is stopped, none may be left.
cleanup() {
  rc=$?
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null; wait 2>/dev/null
  left=$(grep -l -a -F "CORRAL_FAKE_SANDBOX=$tmp/fake/" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | tr '\n' ' ')
  if [ -n "$left" ]; then
    echo "FAIL: the fake left processes running: $left"; ps -o pid,args -p $left || true; rc=1
  fi
  if [ -n "$(ls -A "$tmp/fake" 2>/dev/null)" ]; then
    echo "FAIL: the fake left files: $(ls -A "$tmp/fake")"; rc=1
  fi
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir "$tmp/fake"
TMPDIR="$tmp/fake" python3 "$here/$backend/${backend}_fake.py" --port-file "$tmp/ports" >/dev/null &
fake_pid=$!
i=0
while [ ! -s "$tmp/ports" ]; do i=$((i + 1)); [ $i -lt 100 ] || { echo "fake did not start"; exit 1; }; sleep 0.1; done
port() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$tmp/ports" "$1"; }
post() { python3 -c "import sys,urllib.request as u; u.urlopen(u.Request(sys.argv[1], sys.argv[2].encode(), method='POST')).read()" "$1" "$2"; }
off='"local": {"enabled": false}, "docker": {"enabled": false}, "e2b": {"enabled": false}'
if [ "$backend" = islo ]; then
  export ISLO_API_KEY=ak_test_key
  post "http://127.0.0.1:$(port control)/_config" '{"ready_delay_ms": 50, "delete_delay_ms": 200}'
  cat > "$tmp/config.json" <<JSON
{"sandbox": {$off, "hf": {"enabled": false},
 "islo": {"control_url": "http://127.0.0.1:$(port control)", "compute_url": "http://127.0.0.1:$(port compute)",
          "poll_interval_ms": 50, "backoff_ms": 50, "ready_timeout_s": 30}},
 "agent": {"opencode": {"enabled": false}, "pi": {"enabled": false}, "oracle": {"enabled": false}}}
JSON
else
  export HF_TOKEN=hf_test_token
  post "http://127.0.0.1:$(port hub)/_config" '{"ready_delay_ms": 50}'
  cat > "$tmp/config.json" <<JSON
{"sandbox": {$off, "islo": {"enabled": false},
 "hf": {"endpoint": "http://127.0.0.1:$(port hub)", "namespace": "tester",
        "sandbox_url": "http://127.0.0.1:$(port proxy)/{job_id}", "poll_interval_ms": 50, "backoff_ms": 50,
        "server_api": "${HF_SERVER_API:-v0}", "allow_network_none": true}},
 "agent": {"opencode": {"enabled": false}, "pi": {"enabled": false}, "oracle": {"enabled": false}}}
JSON
fi
# The fakes run commands with the host's /bin/sh: the job test checks it is dash
# (Debian's, and the services' images'), which rejects `kill -KILL --`.
[ "$(basename "$(readlink -f /bin/sh)")" = dash ] && export CORRAL_CONFORMANCE_SHELL=dash
export CORRAL_CONFIG_DIR="$tmp/etc" CORRAL_PLUGIN_PATH=
# Each fake sandbox has its own "/" (sandbox_root.py): the job test checks
# that corral leaves no file in its /tmp.
export CORRAL_CONFORMANCE_TMP_PRIVATE=1
if [ -z "${CORRAL_FAKE_FAULTS:-}" ]; then
  "$conf" --plugin "$backend" --plugin-dir "$plugdir" --config "$tmp/config.json" "$@"
  exit
fi
# Fault mode (the fake read CORRAL_FAKE_FAULTS, tests/fakes/faults.py): the
# contract tests may fail, each failure classified; what must hold is that no
# command ran twice and nothing is left running on the fake.
rc=0
export CORRAL_CONFORMANCE_REAP=1
"$conf" --plugin "$backend" --plugin-dir "$plugdir" --config "$tmp/config.json" "$@" || rc=$?
echo "conformance under faults exited $rc"
[ "$backend" = islo ] && admin=control || admin=hub
# (corral-conformance destroyed what its registry holds: CORRAL_CONFORMANCE_REAP)
sleep 2 # asynchronous teardown on the fake
python3 - "http://127.0.0.1:$(port $admin)" "$backend" <<'PY'
import json, sys, urllib.request as u
base, backend = sys.argv[1], sys.argv[2]
get = lambda p: json.load(u.urlopen(base + p))
f, st = get("/_faults"), get("/_state")
print("faults:", json.dumps(f))
bad = []
if f["double_exec"]:
    bad.append("commands executed twice: %s" % f["double_exec"])
if backend == "islo":
    live = [n for n, s in st["sandboxes"].items() if s.get("status") not in ("deleted", "terminated")]
else:
    live = [i for i, j in st["jobs"].items() if j["status"]["stage"] not in ("COMPLETED", "CANCELED", "ERROR", "DELETED")]
if live:
    bad.append("left running: %s" % live)
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY

#!/bin/bash
# The cloud fault matrix with rollouts (issue 22): for each backend given
# (e2b, islo, hf) and each fault mode of tests/fakes/faults.py on its own
# (drop_after, reset, 503) at a seeded 20% rate, real `corral run` rollouts
# of the oracle against a fresh fake: tasks/write_file (must score 1 or fail
# with a classified error) and tasks/wrong_file (the control: must never
# score 1).  A cell passes when every rollout ended so, the fake saw no
# command run twice, nothing is left on the fake (sandboxes, jobs, corral-*
# gateway profiles) nor in corral's registry, and, once the fake is stopped,
# no process or file of it is left on the host.  A last cell per backend
# (destroy_503) answers the sandbox destroy requests with 503 for longer than
# the backend's own request retries.  Prints one row per cell.
#
# usage: rollout_matrix.sh BACKEND...   (ctest: faults_rollouts_<backend>)
# env: CORRAL, SOURCE_DIR, CORRAL_BUILD_PLUGIN_DIR (set by ctest);
#      FAULT_MATRIX_ATTEMPTS (rollouts of each task per cell, default 2),
#      FAULT_MATRIX_MODES (default "drop_after reset 503"), FAULT_MATRIX_SEED.
SOURCE_DIR=${SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SOURCE_DIR/tests/integration/lib.sh"
command -v python3 >/dev/null || { echo "skipped: python3 missing"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
fakes="$SOURCE_DIR/tests/fakes"
attempts=${FAULT_MATRIX_ATTEMPTS:-2}
modes=${FAULT_MATRIX_MODES-drop_after reset 503}
seed=${FAULT_MATRIX_SEED:-22}
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
export FAKE_E2B_KEY=e2b_fake_key ISLO_API_KEY=ak_test_key HF_TOKEN=hf_test_token
FAKE_PID=
trap 'stop_fake; rm -rf "$WORK"' EXIT
trap 'exit 1' INT TERM

# stop_fake: stops the cell's fake (it destroys what it still holds).
stop_fake() {
  [ -n "$FAKE_PID" ] || return 0
  kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null
  FAKE_PID=
}

# start_fake BACKEND MODE DIR: a fresh fake with random faults of MODE
# only, its sandboxes under DIR/fake; sets ADMIN (its admin API's base URL)
# and writes corral's config for it to $CORRAL_CONFIG_DIR.
start_fake() {
  local b=$1 mode=$2 d=$3 f="rate=0.2,seed=$seed,modes=$2" off
  mkdir -p "$d/fake"
  local argv=("$fakes/$b/${b}_fake.py" --port-file "$d/ports" --faults "$f")
  [ "$b" = e2b ] && argv=("$fakes/e2b/fake_e2b.py" --port-file "$d/ports" --faults "$f" --api-key "$FAKE_E2B_KEY")
  TMPDIR="$d/fake" python3 "${argv[@]}" >"$d/fake.log" 2>&1 &
  FAKE_PID=$!
  for _ in $(seq 100); do [ -s "$d/ports" ] && break; sleep 0.1; done
  [ -s "$d/ports" ] || { echo "not ok - the $b fake did not start"; cat "$d/fake.log"; exit 1; }
  port() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$d/ports" "$1"; }
  off='"local": {"enabled": false}, "docker": {"enabled": false}'
  case $b in
    e2b) ADMIN="http://127.0.0.1:$(cat "$d/ports")"
         echo "{\"sandbox\": {$off, \"e2b\": {\"api_url\": \"$ADMIN\", \"envd_url\": \"$ADMIN\",
               \"api_key_env\": \"FAKE_E2B_KEY\", \"backoff_ms\": 20}}}" ;;
    islo) ADMIN="http://127.0.0.1:$(port control)"
          send POST "$ADMIN/_config" '{"ready_delay_ms": 50, "delete_delay_ms": 200}'
          echo "{\"sandbox\": {$off, \"islo\": {\"control_url\": \"$ADMIN\",
                \"compute_url\": \"http://127.0.0.1:$(port compute)\", \"poll_interval_ms\": 50, \"backoff_ms\": 50}}}" ;;
    hf) ADMIN="http://127.0.0.1:$(port hub)"
        send POST "$ADMIN/_config" '{"ready_delay_ms": 50}'
        echo "{\"sandbox\": {$off, \"hf\": {\"endpoint\": \"$ADMIN\", \"namespace\": \"tester\",
              \"sandbox_url\": \"http://127.0.0.1:$(port proxy)/{job_id}\", \"poll_interval_ms\": 50,
              \"backoff_ms\": 50, \"allow_network_none\": true}}}" ;;
  esac >"$CORRAL_CONFIG_DIR/corral.json"
}
# send METHOD URL [JSON]: a request to a fake's admin API (never faulted).
send() { python3 -c "import sys,urllib.request as u; u.urlopen(u.Request(sys.argv[2], method=sys.argv[1], data=sys.argv[3].encode() if len(sys.argv) > 3 else None, headers={'Content-Type': 'application/json'}), timeout=30)" "$@"; }

# host_leftovers DIR: what the stopped fake left on the host: processes its
# sandboxes started (tagged by tests/fakes/sandbox_root.py) and files.
host_leftovers() {
  local left
  left=$(grep -l -a -F "CORRAL_FAKE_SANDBOX=$1/fake/" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | tr '\n' ' ')
  [ -z "$left" ] || echo "processes $left"
  [ -z "$(ls -A "$1/fake" 2>/dev/null)" ] || echo "files $(ls -A "$1/fake" | head -5 | tr '\n' ' ')"
}

# outage BACKEND ADMIN: the fake answers the next 5 sandbox destroy requests
# with 503, outlasting the backends' 3 or 4 request attempts (a service refusing
# for a few seconds): the rollout must still leave nothing running.
outage() {
  case $1 in
    e2b) send POST "$2/_fake/fault" '{"method": "DELETE", "path": "/sandboxes/", "status": 503, "count": 5}' ;;
    islo) send POST "$2/_fault" '{"method": "DELETE", "path": "^/sandboxes/[^/]+$", "status": 503, "count": 5}' ;;
    hf) send POST "$2/_fault" '{"method": "POST", "path": "/cancel$", "status": 503, "count": 5}' ;;
  esac
}

printf '%-5s %-11s %4s %4s %11s %7s %6s  %s\n' backend mode runs ok classified doubles leaks notes >"$WORK/table"
for b in "$@"; do
  for mode in $modes destroy_503; do
    d="$WORK/$b-$mode"
    mkdir -p "$d"
    export CORRAL_STATE_DIR="$d/state"
    start_fake "$b" "$mode" "$d"
    tasks=(--attempts "$attempts" --task "$here/tasks/write_file" --task "$here/tasks/wrong_file")
    if [ "$mode" = destroy_503 ]; then
      outage "$b" "$ADMIN"
      tasks=(--attempts 1 --task "$here/tasks/write_file")
    fi
    t0=$(date +%s)
    timeout -k 5 150 "$CORRAL" -v run --sandbox "$b" --agent oracle --concurrency 2 "${tasks[@]}" \
      --out "$d/results.jsonl" 2>"$d/corral.err"
    rc=$?
    # The fakes tear down asynchronously (islo's delete delay): wait for
    # them, then judge results, fake and registry (registry.py).
    python3 "$here/judge.py" --backend "$b" --admin "$ADMIN" --rc "$rc" --expect $(((${#tasks[@]} / 2 - 1) * ${tasks[1]})) \
      --results "$d/results.jsonl" --state-dir "$CORRAL_STATE_DIR" --row "$b $mode $(($(date +%s) - t0))s" \
      >"$d/verdict" 2>&1
    jrc=$?
    stop_fake
    host=$(host_leftovers "$d")
    row=$(tail -n 1 "$d/verdict")
    if [ -n "$host" ]; then row="$row; left on the host: $host"; jrc=1; fi
    echo "$row" >>"$WORK/table"
    echo "# $b, $mode faults: corral exited $rc"; head -n -1 "$d/verdict" | sed 's/^/#   /'
    RC=$rc OUT=$(head -n -1 "$d/verdict") ERR=$(tail -c 2000 "$d/corral.err")
    check "$b under $mode faults: every rollout scored or classified, no double execution, nothing left" [ $jrc -eq 0 ]
  done
done
cat "$WORK/table"
finish

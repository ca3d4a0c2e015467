# One trainer, many nodes: one `corral gate serve` and two `corral run --gate URL`
# processes (Pi on the local backend), a trainer over the HTTP trainer API
# answering both nodes' calls, a wrong registration token refused, and a
# dead node's rollout dropped when its lease runs out (docs/gate.md "Remote nodes").
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
command -v bwrap >/dev/null || { echo "skipped: bubblewrap missing"; exit 77; }
command -v npm >/dev/null || { echo "skipped: npm missing"; exit 77; }
rnd() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
export CORRAL_GATE_TRAINER_TOKEN="trainer-token-$(rnd)"
REG="registration-$(rnd)"
printf '%s\n' "$REG" >"$WORK/reg"; chmod 600 "$WORK/reg"
EX="$SOURCE_DIR/examples"
RC=0

CORRAL_GATE_REGISTRATION_TOKEN="$REG" "$CORRAL" gate serve --listen 127.0.0.1:0 --trainer-listen 127.0.0.1:0 \
  --lease 2 >"$WORK/serve.out" 2>"$WORK/serve.err" &
serve=$!
trap 'kill $serve ${n1:-} ${n2:-} ${n3:-} 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do grep -q trainer_url "$WORK/serve.out" && break; sleep 0.1; done
url=$(jq -r .trainer_url "$WORK/serve.out")
check "the central gate announces its trainer API" eval '[ -n "$url" ] && [ "$url" != null ]'

# A wrong registration token: refused by the API (401 and its error body) and by corral run, before any sandbox.
code=$(curl -s -o "$WORK/401.json" -w '%{http_code}' -X POST -H "Authorization: Bearer wrong-token-0123456789" \
  "$url/v1/nodes/n1/heartbeat")
check "a wrong registration token gets 401 with the API's error body" eval '[ "$code" = 401 ] &&
  [ "$(jq -r .error.code "$WORK/401.json")" = unauthorized ]'
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $REG" "$url/v1/requests/next?timeout=0")
check "the registration token cannot poll the trainer queue" eval '[ "$code" = 401 ]'
run env CORRAL_GATE_REGISTRATION_TOKEN="wrong-token-0123456789" "$CORRAL" run --gate "$url" --task "$EX/tasks/hello" \
  --agent pi --out "$WORK/wrong.json"
check "corral run with a wrong registration token fails with one clear line, before any sandbox" eval '[ $RC -eq 1 ] &&
  has "$ERR" "refused the registration token (401)" && lacks "$ERR" "[create]" && [ ! -e "$WORK/wrong.json" ]'
run env -u CORRAL_GATE_REGISTRATION_TOKEN "$CORRAL" run --gate "$url" --task "$EX/tasks/hello" --agent pi
check "corral run --gate without a token says where to put it" eval '[ $RC -eq 2 ] &&
  has "$ERR" "CORRAL_GATE_REGISTRATION_TOKEN"'

# Two nodes: one reads the token from a file, the other from the environment.
argv_scan_start "$REG" "$CORRAL_GATE_TRAINER_TOKEN"
env -u CORRAL_GATE_TRAINER_TOKEN "$CORRAL" run --gate "$url" --gate-token-file "$WORK/reg" --task "$EX/tasks/hello" \
  --agent pi --out "$WORK/n1.json" 2>"$WORK/n1.err" &
n1=$!
env -u CORRAL_GATE_TRAINER_TOKEN CORRAL_GATE_REGISTRATION_TOKEN="$REG" "$CORRAL" run --gate "$url" \
  --task "$EX/tasks/hello" --agent pi --out "$WORK/n2.json" 2>"$WORK/n2.err" &
n2=$!
timeout 500 python3 - "$url" "$EX/replay/hello.jsonl" >"$WORK/trainer.out" 2>&1 <<'PY'
import collections, json, os, sys, urllib.request
url, script = sys.argv[1], [l for l in open(sys.argv[2]) if l.strip()]
tok = os.environ["CORRAL_GATE_TRAINER_TOKEN"]
def call(method, path, body=None):
    req = urllib.request.Request(url + path, data=body, method=method,
                                 headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read()
seen = collections.Counter()
while sum(seen.values()) < 2 * len(script):
    status, body = call("GET", "/v1/requests/next?timeout=30")
    if status == 204:
        continue
    req = json.loads(body)
    n = seen[req["rollout_id"]]
    seen[req["rollout_id"]] += 1
    status, _ = call("POST", "/v1/requests/%s/response" % req["id"], script[n].encode())
    print("answered", req["rollout_id"], n, status, flush=True)
print("rollouts", len(seen))
PY
trc=$?
wait $n1; rc1=$?
wait $n2; rc2=$?
argv_scan_stop
OUT=$(cat "$WORK/trainer.out"); ERR=$(cat "$WORK/n1.err" "$WORK/n2.err")
check "the trainer answered both calls of both nodes' rollouts through one trainer API" eval '[ $trc -eq 0 ] &&
  has "$OUT" "rollouts 2" && [ "$(grep -c " 200$" "$WORK/trainer.out")" = 4 ]'
check "both rollouts completed with reward 1 and the trainer's answers in their transcripts" eval '[ $rc1 -eq 0 ] &&
  [ $rc2 -eq 0 ] && for f in n1 n2; do [ "$(jq -c "[.reward, (.transcript | length), .error]" "$WORK/$f.json")" = "[1,2,null]" ] || exit 1; done'
r1=$(jq -r .rollout_id "$WORK/n1.json"); r2=$(jq -r .rollout_id "$WORK/n2.json")
check "the trainer saw exactly the two nodes' rollout ids" eval '[ "$r1" != "$r2" ] && has "$OUT" "answered $r1 1 200" &&
  has "$OUT" "answered $r2 1 200"'
check "no token was on any command line" eval '[ ! -s "$WORK/hits" ]'
check "the nodes dropped their ended rollouts from the central gate" eval '[ "$(curl -s -H \
  "Authorization: Bearer $CORRAL_GATE_TRAINER_TOKEN" "$url/v1/health" | jq .rollouts)" = 0 ]'

# A node that dies: its rollout is dropped when its lease runs out, its pending call gets 410.
reg() { curl -s -X "$1" -H "Authorization: Bearer $REG" "${@:3}" "$url/v1/nodes/$2"; }
tok=$(reg POST dead-node/rollouts/r-dead | jq -r .token)
base=$(jq -r .url "$WORK/serve.out")/rollout/r-dead/v1
code=$(reg POST other-node/rollouts/r-dead -o /dev/null -w '%{http_code}')
check "a rollout id another node holds is refused (409)" eval '[ "$code" = 409 ]'
curl -s -o "$WORK/dead.json" -w '%{http_code}' -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
  -d '{"model":"m","messages":[{"role":"user","content":"hi"}]}' "$base/chat/completions" >"$WORK/dead.code" &
cpid=$!
sleep 1
code=$(curl -s -o "$WORK/health.json" -w '%{http_code}' -H "Authorization: Bearer $CORRAL_GATE_TRAINER_TOKEN" "$url/v1/health")
check "the dead node's call is queued for the trainer" eval '[ "$(jq -c "[.rollouts, .queued]" "$WORK/health.json")" = "[1,1]" ]'
wait $cpid
check "after the lease ran out the call got 410 and the rollout is gone" eval '[ "$(cat "$WORK/dead.code")" = 410 ] &&
  [ "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $CORRAL_GATE_TRAINER_TOKEN" \
       "$url/v1/rollouts/r-dead/transcript")" = 404 ]'
# The trainer ends a node's rollout (DELETE on the central gate) instead of answering: the node's
# pending call fails with 410 at once and the run ends, long before the call's deadline.
env -u CORRAL_GATE_TRAINER_TOKEN CORRAL_GATE_REGISTRATION_TOKEN="$REG" "$CORRAL" run --gate "$url" \
  --task "$EX/tasks/hello" --agent pi --out "$WORK/n3.json" 2>"$WORK/n3.err" &
n3=$!
timeout 120 python3 - "$url" >"$WORK/drop.out" 2>&1 <<'PY'
import json, os, sys, time, urllib.request
url, tok = sys.argv[1], os.environ["CORRAL_GATE_TRAINER_TOKEN"]
def call(method, path):
    req = urllib.request.Request(url + path, method=method, headers={"Authorization": "Bearer " + tok})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read()
while True:
    status, body = call("GET", "/v1/requests/next?timeout=30")
    if status == 200:
        break
rid = json.loads(body)["rollout_id"]
print("deleted", rid, call("DELETE", "/v1/rollouts/" + rid)[0], flush=True)
PY
t0=$(date +%s); wait $n3; rc3=$?; t3=$(( $(date +%s) - t0 ))
OUT=$(cat "$WORK/drop.out"); ERR=$(cat "$WORK/n3.err")
check "a trainer's DELETE of a node's rollout ends that run's pending call at once (410), not at its deadline" eval '
  has "$OUT" "deleted r-" && has "$OUT" " 200" && [ $t3 -lt 60 ] &&
  [ "$(jq -r .rollout_id "$WORK/n3.json")" = "$(awk "/deleted/ {print \$2}" "$WORK/drop.out")" ] &&
  [ "$(jq -r .reward "$WORK/n3.json")" != 1 ] && [ "$(jq -r ".transcript[0].status" "$WORK/n3.json")" = 410 ]'
kill -TERM $serve; wait $serve; src=$?
check "the central gate stops cleanly on SIGTERM, no token in its log" eval '[ $src -eq 0 ] &&
  lacks "$(cat "$WORK/serve.err")" "$REG"'
finish

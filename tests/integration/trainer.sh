# The RL path: `corral run --model trainer` with the real Pi CLI, every model
# call answered by an external training loop over the gate's HTTP trainer API.
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
command -v bwrap >/dev/null || { echo "skipped: bubblewrap missing"; exit 77; }
command -v npm >/dev/null || { echo "skipped: npm missing"; exit 77; }
export CORRAL_GATE_TRAINER_TOKEN="trainer-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
EX="$SOURCE_DIR/examples"

run env -u CORRAL_GATE_TRAINER_TOKEN "$CORRAL" run --task "$EX/tasks/hello" --agent pi --model trainer
check "--model trainer without a token is refused before anything starts" eval '[ $RC -eq 2 ] && has "$ERR" "CORRAL_GATE_TRAINER_TOKEN"'

"$CORRAL" run --task "$EX/tasks/hello" --agent pi --model trainer --out "$WORK/result.json" 2>"$WORK/run.err" &
corral=$!
for _ in $(seq 100); do grep -q "trainer API at" "$WORK/run.err" && break; sleep 0.1; done
url=$(sed -n 's/.*trainer API at \(http[^ ]*\).*/\1/p' "$WORK/run.err")
python3 - "$url" "$EX/replay/hello.jsonl" >"$WORK/trainer.out" 2>&1 <<'PY'
import json, os, sys, urllib.request
url, script = sys.argv[1], [l for l in open(sys.argv[2]) if l.strip()]
tok = os.environ["CORRAL_GATE_TRAINER_TOKEN"]
def call(method, path, body=None):
    req = urllib.request.Request(url + path, data=body, method=method,
                                 headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read()
# A wrong token is refused.
try:
    urllib.request.urlopen(urllib.request.Request(url + "/v1/requests/next?timeout=0",
                           headers={"Authorization": "Bearer wrong"}), timeout=10)
    print("wrong token accepted"); sys.exit(1)
except urllib.error.HTTPError as e:
    print("wrong token:", e.code)
served = 0
while served < len(script):
    status, body = call("GET", "/v1/requests/next?timeout=30")
    if status == 204:
        continue
    req = json.loads(body)
    msgs = req["request"]["messages"]
    print("request", served, "rollout", req["rollout_id"], "stream", req["request"].get("stream"), "messages", len(msgs))
    status, _ = call("POST", "/v1/requests/%s/response" % req["id"], script[served].encode())
    print("delivered", served, status)
    served += 1
PY
trc=$?
wait $corral; RC=$?
OUT=$(cat "$WORK/trainer.out"); ERR=$(cat "$WORK/run.err")
check "the trainer API URL is announced" eval '[ -n "$url" ]'
check "a wrong trainer token gets 401" eval 'has "$OUT" "wrong token: 401"'
check "the trainer took both of Pi's calls (streamed) and delivered answers" eval '[ $trc -eq 0 ] &&
  has "$OUT" "request 0 rollout r-" && has "$OUT" "stream True" && has "$OUT" "delivered 1 200"'
check "the rollout scored 1 with the trainer's answers in its transcript" eval '[ $RC -eq 0 ] &&
  [ "$(python3 -c "import json; d=json.load(open(\"$WORK/result.json\")); print(d[\"reward\"], len(d[\"transcript\"]))")" = "1 2" ]'
finish

# Issue 22 item 11: exit statuses and messages of the CLI on the cloud
# backends say what happened.  A resume of a paused Islo sandbox succeeds;
# an e2b stream that envd ends with deadline_exceeded without the command's
# timeout is not "timed out after 0 s"; a server's 400 during create is a
# backend failure (1), not bad usage (2, for the command line only).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cloud_fakes.sh"
C() { "$CORRAL" -q "$@"; }

# ---- islo: resume of a paused sandbox
run C sandbox create --backend islo --ttl 600
ID=$OUT
run C sandbox pause "$ID"
check "islo: paused" eval '[ $RC -eq 0 ] && fake_live islo | grep -q "\"status\": \"paused\""'
run C sandbox resume "$ID"
check "islo: resume of a paused sandbox exits 0" eval '[ $RC -eq 0 ]'
run C sandbox exec "$ID" -- echo up
check "islo: it runs" eval '[ $RC -eq 0 ] && [ "$OUT" = up ]'
run C sandbox resume "$ID"
check "islo: resume of a running sandbox exits 0 too" eval '[ $RC -eq 0 ]'
C sandbox rm "$ID" >/dev/null

# ---- e2b: envd's own deadline ends the stream
run C sandbox create --backend e2b --ttl 600
ID=$OUT
for t in "" "--timeout 60"; do
  send POST "$FAKE_E2B_URL/_fake/fault" '{"path": "/process.Process/Start", "kind": "envd_deadline", "after_ms": 300}'
  run C sandbox exec $t "$ID" -- sleep 5
  check "e2b ${t:-(no timeout)}: a deadline_exceeded end is said as such, not as the command's timeout" eval \
    '[ $RC -eq 125 ] && has "$ERR" deadline_exceeded && lacks "$ERR" "timed out after"'
done
run C sandbox exec --timeout 1 "$ID" -- sleep 5
check "e2b: the command's own timeout is still 124" eval '[ $RC -eq 124 ] && has "$ERR" "timed out after 1 s"'
C sandbox rm "$ID" >/dev/null

# ---- a server's 400 during create
send POST "$FAKE_ISLO_CONTROL/_fault" '{"path": "^/sandboxes$", "method": "POST", "status": 400, "count": 1,
  "body": {"code": "VALIDATION_ERROR", "message": "image not allowed"}}'
run C sandbox create --backend islo --ttl 60
check "islo: a server's 400 on create exits 1, with its message" eval '[ $RC -eq 1 ] && has "$ERR" "HTTP 400"'
send POST "$FAKE_E2B_URL/_fake/fault" '{"method": "POST", "path": "/sandboxes", "status": 400, "message": "bad template"}'
run C sandbox create --backend e2b --ttl 60
check "e2b: a server's 400 on create exits 1, with its message" eval '[ $RC -eq 1 ] && has "$ERR" "bad template"'
send POST "$FAKE_HF_HUB/_fault" '{"path": "^/api/jobs/tester$", "method": "POST", "status": 400, "count": 1,
  "body": {"error": "flavor not allowed"}}'
run C sandbox create --backend hf --ttl 60
check "hf: a server's 400 on create exits 1" eval '[ $RC -eq 1 ] && has "$ERR" "400"'
run C sandbox create --backend islo --rollout 'a b'
check "a bad --rollout is still bad usage (2)" eval '[ $RC -eq 2 ] && has "$ERR" "--rollout"'
check "nothing was left running" eval '[ "$(fake_live islo)" = "[]" ] && [ "$(fake_live hf)" = "[]" ]'
finish

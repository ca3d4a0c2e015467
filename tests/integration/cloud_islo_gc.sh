# Issue 22 item 4b: an Islo sandbox whose corral was SIGKILLed during create
# (while it waits for "running", before any label is written inside) is
# found and removed by `corral gc`, with its inline gateway profile; a
# corral-* profile whose sandbox is gone is deleted; a create in progress
# and a profile that is not corral's are left alone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cloud_fakes.sh"
C() { "$CORRAL" -q "$@"; }
# The profiles (name -> id) the fake holds.
profiles() { get "$FAKE_ISLO_CONTROL/_state" | python3 -c 'import json,sys; print(json.dumps({p["name"]: i for i, p in json.load(sys.stdin)["profiles"].items()}))'; }
# islo_api METHOD PATH [JSON]: the control host, as another Islo client would call it.
islo_api() {
  python3 - "$FAKE_ISLO_CONTROL" "$1" "$2" "${3:-}" <<'PY'
import json, sys, urllib.request as u
base, method, path, body = sys.argv[1:5]
def call(m, p, b, tok=None):
    h = {"Content-Type": "application/json"}
    if tok: h["Authorization"] = "Bearer " + tok
    return u.urlopen(u.Request(base + p, b.encode() if b else None, method=m, headers=h), timeout=30).read().decode()
tok = json.loads(call("POST", "/auth/token", json.dumps({"access_key": "ak_test_key"})))["session_token"]
sys.stdout.write(call(method, path, body, tok))
PY
}
# gc may report a gateway profile only when it is old enough: here at once.
python3 - "$CORRAL_CONFIG_DIR/corral.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["sandbox"]["islo"]["orphan_profile_grace_s"] = 0
json.dump(c, open(sys.argv[1], "w"))
PY

# ---- a create killed while it waits for "running"
send POST "$FAKE_ISLO_CONTROL/_config" '{"ready_delay_ms": 120000}'
"$CORRAL" -q sandbox create --backend islo --ttl 3600 >"$WORK/create.out" 2>&1 &
CREATOR=$!
for _ in $(seq 100); do [ "$(fake_live islo)" != "[]" ] && break; sleep 0.1; done
# Its Islo name is its corral id.
ID=$(fake_live islo | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["name"])' 2>/dev/null)
RC=0 OUT= ERR=
check "the create is under way: the sandbox exists, the registry knows it" eval '[ -n "$ID" ] &&
  [ -e "$CORRAL_STATE_DIR/sandboxes/$ID.json" ]'
run C gc
check "gc keeps a sandbox another corral is still creating" eval '[ $RC -eq 0 ] && has "$OUT" "keep     $ID islo" &&
  fake_live islo | grep -qF "$ID"'
run C sandbox exec "$ID" -- true
check "a sandbox being created is said to be so, not attached" eval '[ $RC -ne 0 ] && has "$ERR" "still being created"'
kill -KILL $CREATOR
wait $CREATOR 2>/dev/null
run C sandbox exec "$ID" -- true
check "after the creator died too" eval '[ $RC -ne 0 ] && has "$ERR" "corral gc"'
# The killed corral's sandbox has no labels (they are written once it runs).
send POST "$FAKE_ISLO_CONTROL/_config" '{"ready_delay_ms": 200}'
# The inline profile such a create makes first (only the library API asks
# for inline policies): made as the plugin names it.
islo_api POST /gateway/profiles "{\"name\": \"corral-$ID\", \"default_action\": \"deny\"}" >/dev/null
# A profile of a sandbox that is gone (a create killed before its sandbox
# was made), and one that is not corral's.
islo_api POST /gateway/profiles '{"name": "corral-islo-00000000deadbeef"}' >/dev/null
islo_api POST /gateway/profiles '{"name": "team-egress"}' >/dev/null
run C gc
check "gc removes the sandbox of the killed create" eval '[ $RC -eq 0 ] && has "$OUT" "removed  $ID islo" &&
  ! fake_live islo | grep -qF "$ID" && [ ! -e "$CORRAL_STATE_DIR/sandboxes/$ID.json" ]'
check "gc deletes the killed create's profile and the orphan one, not the team's" eval '
  P=$(profiles); ! has "$P" "corral-$ID" && ! has "$P" "corral-islo-00000000deadbeef" && has "$P" "team-egress"'
run C gc
check "a second gc finds nothing left" eval '[ $RC -eq 0 ] && lacks "$OUT" "$ID" && [ "$(fake_live islo)" = "[]" ]'

# ---- a create that fails leaves no registry entry
send POST "$FAKE_ISLO_CONTROL/_fault" '{"path": "^/sandboxes$", "method": "POST", "status": 403, "count": 1,
  "body": {"code": "ACCESS_DENIED", "message": "denied"}}'
run C sandbox create --backend islo --ttl 60
check "a refused create leaves no registry entry" eval '[ $RC -ne 0 ] && [ -z "$(ls "$CORRAL_STATE_DIR/sandboxes")" ]'
finish

# `corral sandbox create --egress FILE` on the cloud fakes (docs/egress.md,
# "Sandboxes made by hand"): E2B and Islo get the agent phase's policy at
# create in the native form a rollout gives them; HF can neither enforce a
# policy nor mount corral's proxy, so it refuses, naming why, and leaves
# no sandbox.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cloud_fakes.sh"

cat >"$WORK/policy.json" <<'JSON'
{"default": "deny",
 "rules": [{"host_pattern": "everything.example", "action": "allow"}],
 "phases": {"agent": {"default": "deny", "rules": [{"host_pattern": "pypi.org", "action": "allow"}]}}}
JSON
run "$CORRAL" sandbox create --backend hf --egress "$WORK/policy.json"
check "hf: create --egress is refused naming why, exit 1, no sandbox" eval \
  '[ $RC -eq 1 ] && has "$ERR" "can neither enforce an egress policy nor mount" && [ "$(fake_live hf)" = "[]" ] &&
   [ -z "$(ls "$CORRAL_STATE_DIR/sandboxes" 2>/dev/null)" ]'

# E2B: the agent phase's rules as allowOut/denyOut in the create body.
run "$CORRAL" -q sandbox create --backend e2b --ttl 600 --egress "$WORK/policy.json"
ID=$OUT
LOG=$(get "$FAKE_E2B_URL/_fake/network" | python3 -c 'import json,sys
for e in json.load(sys.stdin):
    if e["corral_id"] == sys.argv[1]:
        print(e["op"], e.get("allow_internet_access", "-"), json.dumps(e["network"], sort_keys=True))' "$ID")
check "e2b: create --egress sends the agent phase's policy natively" eval '[ $RC -eq 0 ] &&
  [ "$LOG" = "create True {\"allowOut\": [\"pypi.org\"], \"denyOut\": [\"0.0.0.0/0\"]}" ]'
"$CORRAL" -q sandbox rm "$ID" >/dev/null

# Islo: a gateway profile with the agent phase's rules, gone with the sandbox.
run "$CORRAL" -q sandbox create --backend islo --ttl 600 --egress "$WORK/policy.json"
ID=$OUT
RULES=$(get "$FAKE_ISLO_CONTROL/_state" | python3 -c 'import json,sys
for e in json.load(sys.stdin)["gateway_log"]:
    if e["op"] == "add_rule": print(e["rule"]["action"], e["rule"]["host_pattern"])')
check "islo: create --egress makes a profile with the agent phase's rules" eval '[ $RC -eq 0 ] &&
  [ "$RULES" = "allow pypi.org" ]'
"$CORRAL" -q sandbox rm "$ID" >/dev/null
check "islo: the profile is gone with its sandbox" eval '[ "$(fake_live islo)" = "[]" ] &&
  [ "$(get "$FAKE_ISLO_CONTROL/_state" | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"profiles\"]))")" = 0 ]'
finish

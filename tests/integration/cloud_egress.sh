# Egress policies on the cloud backends, against their fakes
# (docs/egress.md): e2b gets its native allowOut/denyOut at create and a
# PUT .../network when the verify phase's policy differs, and refuses a
# rule it cannot express; hf refuses any policy before a job exists.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cloud_fakes.sh"
TASK="$SOURCE_DIR/examples/tasks/hello"
# net_log CORRAL_ID: the fake's record of that sandbox's network bodies, one "op internet json" a line.
net_log() {
  get "$FAKE_E2B_URL/_fake/network" | python3 -c 'import json,sys
for e in json.load(sys.stdin):
    if e["corral_id"] == sys.argv[1]:
        print(e["op"], e.get("allow_internet_access", "-"), json.dumps(e["network"], sort_keys=True))' "$1"
}
# sandbox_of OUT [id|verify_id]: a sandbox's corral id from a rollout's result.
sandbox_of() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['sandbox'][sys.argv[2]])" "$1" "${2:-id}"; }

cat >"$WORK/one.json" <<'JSON'
{"default": "deny", "rules": [{"host_pattern": "pypi.org", "action": "allow"}],
 "phases": {"verify": {"default": "deny", "rules": [{"host_pattern": "10.0.0.0/8", "action": "allow"}]}}}
JSON
run "$CORRAL" run --sandbox e2b --task "$TASK" --agent oracle --verify-in same --egress "$WORK/one.json" --out "$WORK/one.out"
check "e2b: the rollout with an allow-one-domain policy solves hello" eval '[ $RC -eq 0 ] &&
  [ "$(python3 -c "import json; d=json.load(open(\"$WORK/one.out\")); print(d[\"reward\"], d[\"error\"])")" = "1 None" ]'
LOG=$(net_log "$(sandbox_of "$WORK/one.out")")
check "e2b: the agent's policy reaches E2B as allowOut [pypi.org], denyOut [0.0.0.0/0] at create" \
  eval '[ "$(sed -n 1p <<<"$LOG")" = "create True {\"allowOut\": [\"pypi.org\"], \"denyOut\": [\"0.0.0.0/0\"]}" ]'
check "e2b: the verify phase's own policy is switched to by PUT .../network" \
  eval '[ "$(sed -n 2p <<<"$LOG")" = "update - {\"allowOut\": [\"10.0.0.0/8\"], \"denyOut\": [\"0.0.0.0/0\"]}" ] &&
    [ "$(wc -l <<<"$LOG")" -eq 2 ]'

# A fresh verifier sandbox starts with the verify policy (no PUT needed).
run "$CORRAL" run --sandbox e2b --task "$TASK" --agent oracle --verify-in fresh --egress "$WORK/one.json" --out "$WORK/fresh.out"
VLOG=$(net_log "$(sandbox_of "$WORK/fresh.out" verify_id)")
check "e2b: a fresh verifier sandbox is created under the verify policy" eval '[ $RC -eq 0 ] &&
  [ "$VLOG" = "create True {\"allowOut\": [\"10.0.0.0/8\"], \"denyOut\": [\"0.0.0.0/0\"]}" ]'

# The gate stays reachable whatever the policy: its host leads allowOut.
run "$CORRAL" run --sandbox e2b --task "$TASK" --agent oracle --gate-url http://gate.example.com:9 \
  --egress "$WORK/one.json" --out "$WORK/gate.out"
GLOG=$(net_log "$(sandbox_of "$WORK/gate.out")")
check "e2b: the gate's host is allowed before the policy's rules" eval '[ $RC -eq 0 ] &&
  [ "$GLOG" = "create True {\"allowOut\": [\"gate.example.com\", \"pypi.org\"], \"denyOut\": [\"0.0.0.0/0\"]}" ]'

before=$(get "$FAKE_E2B_URL/_fake/sandboxes" | python3 -c 'import json,sys; print(json.load(sys.stdin)["created_total"])')
cat >"$WORK/methods.json" <<'JSON'
{"default": "deny", "rules": [{"host_pattern": "pypi.org", "action": "allow"},
                              {"host_pattern": "api.example.com", "action": "allow", "methods": ["GET"]}]}
JSON
run "$CORRAL" run --sandbox e2b --task "$TASK" --agent oracle --egress "$WORK/methods.json" --out "$WORK/m.out"
check "e2b: a rule with methods is refused, naming the rule" eval '[ $RC -ne 0 ] &&
  has "$ERR$OUT$(cat "$WORK/m.out")" "egress rule rules[1] (api.example.com) has methods, which E2B"'
cat >"$WORK/denydomain.json" <<'JSON'
{"default": "allow", "rules": [{"host_pattern": "evil.example.com", "action": "deny"}]}
JSON
run "$CORRAL" run --sandbox e2b --task "$TASK" --agent oracle --egress "$WORK/denydomain.json" --out "$WORK/d.out"
check "e2b: a deny rule naming a domain is refused, naming the rule" eval '[ $RC -ne 0 ] &&
  has "$(cat "$WORK/d.out")" "egress rule rules[0] (evil.example.com) denies a domain"'
cat >"$WORK/outrank.json" <<'JSON'
{"default": "allow", "rules": [{"host_pattern": "10.0.0.0/8", "action": "deny", "priority": 1},
                               {"host_pattern": "10.1.0.0/16", "action": "allow", "priority": 5}]}
JSON
run "$CORRAL" run --sandbox e2b --task "$TASK" --agent oracle --egress "$WORK/outrank.json" --out "$WORK/o.out"
check "e2b: a deny outranking an overlapping allow is refused (E2B lets allowOut win)" eval '[ $RC -ne 0 ] &&
  has "$(cat "$WORK/o.out")" "egress rule rules[0] (10.0.0.0/8) outranks the overlapping allow rule rules[1] (10.1.0.0/16)"'
after=$(get "$FAKE_E2B_URL/_fake/sandboxes" | python3 -c 'import json,sys; print(json.load(sys.stdin)["created_total"])')
check "e2b: no sandbox was created for a refused policy" eval '[ "$before" = "$after" ]'

# Islo: the profile made at create carries methods, path and rate limit
# as gateway rules; the verify phase's policy replaces its rules in place.
cat >"$WORK/islo.json" <<'JSON'
{"default": "deny",
 "rules": [{"host_pattern": "pypi.org", "action": "allow", "methods": ["HEAD", "GET"]},
           {"host_pattern": "api.example.com", "path_pattern": "/v1/*", "action": "allow", "rate_limit_rpm": 60}],
 "phases": {"verify": {"default": "allow", "rules": [{"host_pattern": "10.0.0.0/8", "action": "deny"}]}}}
JSON
run "$CORRAL" run --sandbox islo --task "$TASK" --agent oracle --verify-in same --egress "$WORK/islo.json" --out "$WORK/islo.out"
ILOG=$(get "$FAKE_ISLO_CONTROL/_state" | python3 -c 'import json,sys
for e in json.load(sys.stdin)["gateway_log"]:
    e.pop("profile")
    print(json.dumps(e, sort_keys=True))')
cat >"$WORK/islo.want" <<'EOF2'
{"default_action": "deny", "op": "create_profile"}
{"op": "add_rule", "rule": {"action": "allow", "host_pattern": "pypi.org", "methods": ["GET", "HEAD"], "priority": 10}}
{"op": "add_rule", "rule": {"action": "allow", "host_pattern": "api.example.com", "path_pattern": "/v1/*", "priority": 20, "rate_limit_rpm": 60}}
{"body": {"default_action": "deny"}, "op": "patch_profile"}
{"host_pattern": "pypi.org", "op": "delete_rule"}
{"host_pattern": "api.example.com", "op": "delete_rule"}
{"op": "add_rule", "rule": {"action": "deny", "host_pattern": "10.0.0.0/8", "priority": 10}}
{"body": {"default_action": "allow"}, "op": "patch_profile"}
EOF2
check "islo: methods, path and rate limit reach the gateway profile; the verify phase replaces its rules" eval '[ $RC -eq 0 ] &&
  [ "$ILOG" = "$(cat "$WORK/islo.want")" ]'
check "islo: the profile is gone with its sandbox" eval '[ "$(fake_live islo)" = "[]" ] &&
  [ "$(get "$FAKE_ISLO_CONTROL/_state" | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"profiles\"]))")" = 0 ]'

jobs_before=$(get "$FAKE_HF_HUB/_state" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')
run "$CORRAL" run --sandbox hf --task "$TASK" --agent oracle --egress "$WORK/one.json" --out "$WORK/hf.out"
check "hf: a policy is refused with HF's reason" eval '[ $RC -ne 0 ] &&
  has "$(cat "$WORK/hf.out")" "hf: HF jobs offer no network control"'
jobs_after=$(get "$FAKE_HF_HUB/_state" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')
check "hf: no job was created for it" eval '[ "$jobs_before" = "$jobs_after" ]'
check "nothing left on the fakes" eval '[ "$(fake_live e2b)" = "[]" ] && [ "$(fake_live hf)" = "[]" ]'
finish

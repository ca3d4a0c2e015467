# `corral sandbox create --egress FILE` on the cloud fakes (docs/egress.md,
# "Sandboxes made by hand"): HF can neither enforce a policy nor mount
# corral's proxy, so it refuses, naming why, and leaves no sandbox.  (Islo,
# which gets the agent phase's policy at create, is checked once its plugin
# reads the policy's own rule form: issue 20's native part.)
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
finish

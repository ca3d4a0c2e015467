# Attack (issue 15 item 15): a process that leaves the holder's process tree
# (setsid, double fork) must not keep a local sandbox alive past its TTL.
. "$(dirname "$0")/../integration/lib.sh"
rollout_backend local "$0"
export CORRAL_STATE_DIR="$WORK/state"
C() { "$CORRAL" --plugin-dir "$CORRAL_BUILD_PLUGIN_DIR" "$@"; }
# Unique sleep lengths name our processes for pgrep (dash has no exec -a).
TAG="sleep 7$$"

run C sandbox create --backend local --ttl 5
ID=$OUT
check "create a 5 s sandbox" eval '[ $RC -eq 0 ] && [ -n "$ID" ]'
run C sandbox exec "$ID" -- sh -c "setsid ${TAG}1 </dev/null >/dev/null 2>&1 &
  (${TAG}2 </dev/null >/dev/null 2>&1 &) ; sleep 0.5; echo started"
check "detached processes start" eval '[ $RC -eq 0 ] && [ "$OUT" = started ] && pgrep -f "${TAG}1" >/dev/null && pgrep -f "${TAG}2" >/dev/null'
sleep 8
check "after the TTL every process of the sandbox is gone" eval '! pgrep -f "$TAG" >/dev/null'
run C sandbox ls
check "the sandbox is no longer running" eval 'lacks "$(grep -F "$ID" <<<"$OUT")" running'
run C sandbox exec "$ID" -- true
check "exec into it fails" eval '[ $RC -ne 0 ]'
pkill -KILL -f "$TAG" 2>/dev/null
C sandbox rm "$ID" >/dev/null 2>&1
finish

# `corral sandbox create --egress FILE` on a backend without network
# (docs/egress.md, "Sandboxes made by hand"): each `corral sandbox exec`
# runs corral's proxy for its command; an allowed host (a.test) answers,
# a denied one (b.test) gets 403 naming the rule, a direct connection
# fails; a bad policy file is one line naming the file and the rule and
# leaves no sandbox; `corral sandbox rm` removes what create kept.
#   egress_sandbox.sh local | docker
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend "${1:-local}" egress_sandbox.sh
export CORRAL_STATE_DIR="$WORK/state"
IMG=()
[ "$BACKEND" = docker ] && IMG=(--image "$IMAGE")

. "$(dirname "$0")/egress_servers.sh"
trap 'egress_servers_stop; [ -n "${ID:-}" ] && "$CORRAL" sandbox rm "$ID" >/dev/null 2>&1; rm -rf "$WORK"' EXIT

# HTTP inside: curl where the image has it (local: the host's), else bash's
# /dev/tcp through $http_proxy (the docker test image has no curl)
cat >"$WORK/client.sh" <<'SH'
if command -v curl >/dev/null; then
  code() { curl -sS -m 10 -o /dev/null -w '%{http_code}' "$1"; }
  body() { curl -sS -m 10 "$1"; }
  direct() { curl -sS -m 5 --noproxy '*' "$1" >/dev/null 2>&1; }
else
  raw() { local p=${http_proxy#http://}; exec 3<>"/dev/tcp/${p%:*}/${p##*:}" || return 7
          printf 'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' "$1" >&3; cat <&3; exec 3<&-; }
  code() { raw "$1" | head -1 | cut -d' ' -f2; }
  body() { raw "$1" | sed '1,/^\r$/d'; }
  direct() { local hp=${1#http://}; hp=${hp%%/*}; (exec 3<>"/dev/tcp/127.0.0.1/${hp##*:}") 2>/dev/null; }
fi
SH
CLIENT=$(cat "$WORK/client.sh")

# a bad policy: one line naming the file and the rule, no sandbox, nothing kept
echo '{"rules": [{"host_pattern": "foo.*", "action": "allow"}]}' >"$WORK/bad.json"
run "$CORRAL" sandbox create --backend "$BACKEND" "${IMG[@]}" --egress "$WORK/bad.json"
check "$BACKEND: a malformed rule: exit 1, one line naming the file and rules[0], no sandbox left" eval \
  '[ $RC -eq 1 ] && [ -z "$OUT" ] && [ "$(wc -l <<<"$ERR")" = 1 ] && has "$ERR" "$WORK/bad.json" && has "$ERR" "rules[0]" &&
   [ -z "$(ls "$CORRAL_STATE_DIR/sandboxes" 2>/dev/null)" ]'
run "$CORRAL" sandbox create --backend "$BACKEND" --egress "$WORK/bad.json" --network full
check "$BACKEND: --egress with --network is bad usage" eval '[ $RC -eq 2 ] && has "$ERR" "exclude each other"'

cat >"$WORK/policy.json" <<'JSON'
{"default": "deny", "rules": [{"host_pattern": "a.test", "action": "allow"}]}
JSON
run "$CORRAL" sandbox create --backend "$BACKEND" "${IMG[@]}" --ttl 600 --egress "$WORK/policy.json"
ID=$OUT
check "$BACKEND: create --egress prints the id" eval '[ $RC -eq 0 ] && [[ "$ID" =~ ^${BACKEND}-[0-9a-f]{16}$ ]]'
# the policy file may change or go after create: the sandbox keeps its copy
rm "$WORK/policy.json"

run "$CORRAL" sandbox exec "$ID" -- bash -c "$CLIENT
body http://a.test:$PA/index.txt"
check "$BACKEND: exec reaches the allowed host through the proxy" eval '[ $RC -eq 0 ] && [ "$OUT" = "hello from a" ]'
run "$CORRAL" sandbox exec "$ID" -- bash -c "$CLIENT
code http://b.test:$PB/index.txt"
check "$BACKEND: the denied host is refused (403) and corral names the rule on stderr" eval \
  '[ $RC -eq 0 ] && [ "$OUT" = 403 ] && has "$ERR" "egress GET b.test:$PB /index.txt refused (deny, rule default)"'
run "$CORRAL" sandbox exec "$ID" -- bash -c "$CLIENT
direct http://127.0.0.1:$PA/index.txt"
check "$BACKEND: a direct connection fails (the sandbox has no network)" eval '[ $RC -ne 0 ]'
run "$CORRAL" sandbox exec "$ID" -- sh -c 'ls /run/corral-egress'
check "$BACKEND: the sandbox sees its exec's proxy socket and not the policy" eval \
  '[ $RC -eq 0 ] && [[ "$OUT" =~ ^egress-[0-9]+\.sock$ ]]'
check "$BACKEND: no proxy socket is left once an exec ends" eval \
  '[ -z "$(find "$CORRAL_STATE_DIR/sandboxes" -name "*.sock")" ] && [ -n "$(find "$CORRAL_STATE_DIR/sandboxes" -name policy.json)" ]'

run "$CORRAL" sandbox rm "$ID"
check "$BACKEND: rm removes the sandbox and the policy kept for it" eval \
  '[ $RC -eq 0 ] && [ -z "$(ls "$CORRAL_STATE_DIR/sandboxes" | grep -v "^local$")" ]'
ID=

# one past its deadline: `corral gc` removes it and what create kept for it
echo '{"default": "deny"}' >"$WORK/deny.json"
run "$CORRAL" sandbox create --backend "$BACKEND" "${IMG[@]}" --ttl 1 --egress "$WORK/deny.json"
ID=$OUT
check "$BACKEND: create --egress keeps the policy beside the registry entry" eval \
  '[ $RC -eq 0 ] && [ -L "$CORRAL_STATE_DIR/sandboxes/$ID.egress" ] && [ -n "$(find "$CORRAL_STATE_DIR/sandboxes" -name policy.json)" ]'
sleep 2
run "$CORRAL" gc
check "$BACKEND: gc removes an expired sandbox and its policy" eval \
  '[ $RC -eq 0 ] && [ -z "$(ls "$CORRAL_STATE_DIR/sandboxes" | grep -v "^local$")" ]'
ID=
finish

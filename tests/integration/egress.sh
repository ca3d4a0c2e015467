# Egress policies on a backend without network, through corral's proxy
# (docs/egress.md), as a user runs them: two HTTP servers on this host's
# loopback under test names (the proxy's host map, CORRAL_EGRESS_HOSTS); the
# agent phase may reach a.test only, the verify phase b.test only; curl
# inside the sandbox gets what the phase allows, 403 naming the rule
# otherwise, nothing at all without the proxy; every decision is in the
# result and a refusal is a progress line naming its rule.
#   egress.sh local | docker
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend "${1:-local}" egress.sh
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }

# two servers, each serving its own name
for s in a b; do
  mkdir -p "$WORK/www-$s"; echo "hello from $s" >"$WORK/www-$s/index.txt"
  python3 -m http.server --bind 127.0.0.1 0 --directory "$WORK/www-$s" >"$WORK/http-$s.log" 2>&1 &
  eval "PID_$s=$!"
done
trap 'kill $PID_a $PID_b 2>/dev/null; rm -rf "$WORK"' EXIT
port_of() { for _ in $(seq 100); do p=$(grep -o 'port [0-9]*' "$WORK/http-$1.log" | grep -o '[0-9]*'); [ -n "$p" ] && { echo "$p"; return; }; sleep 0.1; done; }
PA=$(port_of a) PB=$(port_of b)
export CORRAL_EGRESS_HOSTS="a.test=127.0.0.1,b.test=127.0.0.1"

T="$WORK/task"
mkdir -p "$T/solution" "$T/tests"
echo "fetch what you may" >"$T/instruction.md"
echo '{"workdir": "/workspace"}' >"$T/task.json"
# HTTP inside the sandbox: curl where the image has it (local: the host's),
# else bash's /dev/tcp through $http_proxy (the docker test image has no curl)
CLIENT=$(cat <<'SH'
if command -v curl >/dev/null; then
  code() { curl -sS -m 10 -o /dev/null -w '%{http_code}' -X "$1" "$2"; }
  body() { curl -sS -m 10 "$1"; }
  head_of() { curl -sS -m 10 -D - -o /dev/null "$1"; }
  direct() { curl -sS -m 5 --noproxy '*' "$1" >/dev/null 2>&1; }
else
  raw() { local p=${http_proxy#http://}; exec 3<>"/dev/tcp/${p%:*}/${p##*:}" || return 7
          printf '%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n' "$1" "$2" >&3; cat <&3; exec 3<&-; }
  code() { raw "$1" "$2" | head -1 | cut -d' ' -f2; }
  body() { raw GET "$1" | sed '1,/^\r$/d'; }
  head_of() { raw GET "$1" | sed '/^\r$/q'; }
  direct() { local hp=${1#http://}; hp=${hp%%/*}; (exec 3<>"/dev/tcp/127.0.0.1/${hp##*:}") 2>/dev/null; }
fi
SH
)
cat >"$T/solution/solve.sh" <<SH
#!/bin/bash
$CLIENT
cd /workspace
body http://a.test:$PA/index.txt >a.out
code GET http://b.test:$PB/index.txt >b.code
head_of http://b.test:$PB/index.txt >b.head
direct http://127.0.0.1:$PA/index.txt; echo \$? >direct.rc
code POST http://a.test:$PA/index.txt >post.code
exit 0
SH
cat >"$T/tests/test.sh" <<SH
#!/bin/bash
$CLIENT
cd /workspace
vb=\$(body http://b.test:$PB/index.txt)
va=\$(code GET http://a.test:$PA/index.txt)
echo "verify: b=[\$vb] a=[\$va]"
echo "agent: a=[\$(cat a.out)] b=[\$(cat b.code)] direct=[\$(cat direct.rc)] post=[\$(cat post.code)]"
grep -i x-corral-egress-rule b.head
[ "\$vb" = "hello from b" ] && [ "\$va" = 403 ] && [ "\$(cat a.out)" = "hello from a" ] && [ "\$(cat b.code)" = 403 ] &&
  [ "\$(cat direct.rc)" != 0 ] && [ "\$(cat post.code)" = 403 ]
SH
chmod +x "$T/solution/solve.sh" "$T/tests/test.sh"
cat >"$WORK/policy.json" <<'JSON'
{"default": "deny",
 "rules": [{"host_pattern": "a.test", "action": "allow", "methods": ["GET", "HEAD"]}],
 "phases": {"verify": {"rules": [{"host_pattern": "*.test", "action": "deny", "priority": 5},
                                  {"host_pattern": "b.test", "action": "allow", "priority": 1}]}}}
JSON

run "$CORRAL" run "${SB[@]}" --task "$T" --agent oracle --egress "$WORK/policy.json" --out "$WORK/r.json"
check "$BACKEND: the agent reaches a.test only, the verifier b.test only; direct connections fail (reward 1)" eval \
  '[ $RC -eq 0 ] && [ "$(field "$WORK/r.json" "d[\"reward\"]")" = 1 ]'
check "$BACKEND: a refusal names its rule (header, progress line)" eval \
  'has "$(field "$WORK/r.json" "d[\"verify\"][0][\"stdout\"]")" "X-Corral-Egress-Rule: default" &&
   has "$ERR" "egress GET b.test:$PB /index.txt refused (deny, rule default)"'
decisions() { field "$WORK/r.json" "sorted(set((e[\"phase\"], e[\"method\"], e[\"host\"], e[\"decision\"], e[\"rule\"]) for e in d[\"egress\"]))"; }
check "$BACKEND: every decision is in the result, with its phase and rule" eval \
  'D=$(decisions); has "$D" "('"'"'agent'"'"', '"'"'GET'"'"', '"'"'a.test'"'"', '"'"'allow'"'"', '"'"'rules[0]'"'"')" &&
   has "$D" "('"'"'agent'"'"', '"'"'GET'"'"', '"'"'b.test'"'"', '"'"'deny'"'"', '"'"'default'"'"')" &&
   has "$D" "('"'"'agent'"'"', '"'"'POST'"'"', '"'"'a.test'"'"', '"'"'deny'"'"', '"'"'default'"'"')" &&
   has "$D" "('"'"'verify'"'"', '"'"'GET'"'"', '"'"'b.test'"'"', '"'"'allow'"'"', '"'"'phases.verify.rules[1]'"'"')" &&
   has "$D" "('"'"'verify'"'"', '"'"'GET'"'"', '"'"'a.test'"'"', '"'"'deny'"'"', '"'"'phases.verify.rules[0]'"'"')"'
check "$BACKEND: an allowed request's entry has its path, port and bytes" eval \
  '[ "$(field "$WORK/r.json" "[(e[\"path\"], e[\"port\"], e[\"bytes\"] > 0) for e in d[\"egress\"] if e[\"decision\"] == \"allow\"][0]")" = "('"'"'/index.txt'"'"', $PA, True)" ]'

echo '{"rules": [{"host_pattern": "a..test", "action": "allow"}]}' >"$WORK/bad.json"
run "$CORRAL" run "${SB[@]}" --task "$T" --agent oracle --egress "$WORK/bad.json"
check "$BACKEND: a malformed pattern: one error naming the file and the rule, exit 1" eval \
  '[ $RC -eq 1 ] && has "$ERR" "--egress $WORK/bad.json: rules[0]: host_pattern \"a..test\" is malformed"'
echo '{"egress": {"phases": {"build": {}}}}' >"$T/task.json"
run "$CORRAL" run "${SB[@]}" --task "$T" --agent oracle
check "$BACKEND: a task's unknown phase: one error naming task.json" eval \
  '[ $RC -ne 0 ] && has "$ERR$OUT" "task.json: egress: phases: unknown phase \"build\""'
finish

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
. "$(dirname "$0")/egress_servers.sh"
trap 'egress_servers_stop; rm -rf "$WORK"' EXIT

T="$WORK/task"
mkdir -p "$T/solution" "$T/tests"
echo "fetch what you may" >"$T/instruction.md"
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
# the setup phase obeys the task-wide policy too (no policy of its own)
python3 -c 'import json, sys; print(json.dumps({"workdir": "/workspace", "setup": [
    "bash -s <<\"EOS\"\n" + sys.argv[1] + "\nbody http://a.test:" + sys.argv[2] + "/index.txt >/workspace/setup.out\nEOS"]}))' \
  "$CLIENT" "$PA" >"$T/task.json"
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
  [ "\$(cat setup.out)" = "hello from a" ] &&
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
check "$BACKEND: setup and the agent reach a.test only, the verifier b.test only; direct connections fail (reward 1)" eval \
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
   has "$D" "('"'"'verify'"'"', '"'"'GET'"'"', '"'"'a.test'"'"', '"'"'deny'"'"', '"'"'phases.verify.rules[0]'"'"')" &&
   has "$D" "('"'"'setup'"'"', '"'"'GET'"'"', '"'"'a.test'"'"', '"'"'allow'"'"', '"'"'rules[0]'"'"')"'
check "$BACKEND: an allowed request's entry has its path, port and bytes" eval \
  '[ "$(field "$WORK/r.json" "[(e[\"path\"], e[\"port\"], e[\"bytes\"] > 0) for e in d[\"egress\"] if e[\"decision\"] == \"allow\"][0]")" = "('"'"'/index.txt'"'"', $PA, True)" ]'

# The same with the tests in the agent's own sandbox: the policy switches
# between phases without a new sandbox.
run "$CORRAL" run "${SB[@]}" --task "$T" --agent oracle --egress "$WORK/policy.json" --out "$WORK/same.json" --verify-in same
check "$BACKEND: verify in the agent's sandbox: its policy replaces the agent's there (reward 1, one sandbox)" eval \
  '[ $RC -eq 0 ] && [ "$(field "$WORK/same.json" "d[\"reward\"], \"verify_id\" in d[\"sandbox\"]")" = "1 False" ] &&
   has "$(field "$WORK/same.json" "[e[\"rule\"] for e in d[\"egress\"] if e[\"phase\"] == \"verify\"]")" "phases.verify.rules[1]"'

# Local only (the host's tools are the sandbox's): wget, python3's urllib and
# git over HTTPS through the proxy, against an HTTPS server on loopback
# reached as c.test (allowed) and e.test (denied), its CA in the workspace.
if [ "$BACKEND" = local ] && command -v openssl >/dev/null && command -v git >/dev/null && command -v wget >/dev/null &&
   [ -x /usr/bin/python3 ]; then
  TT="$WORK/tools"; W="$WORK/www-c"
  mkdir -p "$TT/solution" "$TT/tests" "$TT/workspace" "$W"
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=c.test -addext "subjectAltName=DNS:c.test,DNS:e.test" -days 2 \
    -keyout "$WORK/c.key" -out "$TT/workspace/ca.pem" 2>/dev/null
  echo "hello from c" >"$W/index.txt"
  git init -q --bare "$W/repo.git" && git -C "$W/repo.git" config http.receivepack false
  git init -q "$WORK/src" && echo "cloned over https" >"$WORK/src/README" && git -C "$WORK/src" add README &&
    git -C "$WORK/src" -c user.name=t -c user.email=t@t commit -qm one && git -C "$WORK/src" push -q "$W/repo.git" HEAD:refs/heads/main &&
    git -C "$W/repo.git" symbolic-ref HEAD refs/heads/main && git -C "$W/repo.git" update-server-info
  /usr/bin/python3 - "$W" "$WORK/c.key" "$TT/workspace/ca.pem" "$WORK/https.port" <<'PY' >"$WORK/https.log" 2>&1 &
import functools, http.server, ssl, sys
d, key, cert, portfile = sys.argv[1:]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(http.server.SimpleHTTPRequestHandler, directory=d))
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(portfile, "w").write(str(srv.server_address[1]))
srv.serve_forever()
PY
  PID_c=$!
  trap 'kill $PID_a $PID_b $PID_c 2>/dev/null; rm -rf "$WORK"' EXIT
  for _ in $(seq 100); do [ -s "$WORK/https.port" ] && break; sleep 0.1; done
  PC=$(cat "$WORK/https.port")
  # a one-package npm registry (packument and tarball), reached as r.test
  R="$WORK/registry"; mkdir -p "$R/pkg/package"
  echo '{"name":"corral-egress-demo","version":"1.0.0","main":"index.js"}' >"$R/pkg/package/package.json"
  echo 'module.exports = "demo";' >"$R/pkg/package/index.js"
  tar -C "$R/pkg" -czf "$R/demo.tgz" package
  /usr/bin/python3 - "$R" "$WORK/registry.port" <<'PY' >"$WORK/registry.log" 2>&1 &
import base64, hashlib, http.server, json, sys
d, portfile = sys.argv[1:]
tgz = open(d + "/demo.tgz", "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.rstrip("/") == "/corral-egress-demo":
            v = {"name": "corral-egress-demo", "version": "1.0.0", "main": "index.js",
                 "dist": {"tarball": "http://r.test:%d/corral-egress-demo/-/corral-egress-demo-1.0.0.tgz" % port,
                          "shasum": hashlib.sha1(tgz).hexdigest(),
                          "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()}}
            body, kind = json.dumps({"name": "corral-egress-demo", "dist-tags": {"latest": "1.0.0"},
                                     "versions": {"1.0.0": v}}).encode(), "application/json"
        elif self.path.endswith(".tgz"):
            body, kind = tgz, "application/octet-stream"
        else:
            self.send_error(404); return
        self.send_response(200); self.send_header("Content-Type", kind); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
port = srv.server_address[1]
open(portfile, "w").write(str(port))
srv.serve_forever()
PY
  PID_r=$!
  trap 'kill $PID_a $PID_b $PID_c $PID_r 2>/dev/null; rm -rf "$WORK"' EXIT
  for _ in $(seq 100); do [ -s "$WORK/registry.port" ] && break; sleep 0.1; done
  PR=$(cat "$WORK/registry.port")
  echo "use the tools" >"$TT/instruction.md"
  echo '{"workdir": "/workspace"}' >"$TT/task.json"
  cat >"$TT/solution/solve.sh" <<SH
#!/bin/bash
cd /workspace
ca=/workspace/ca.pem
curl -sS -m 10 --cacert \$ca https://c.test:$PC/index.txt >curl_c.out 2>&1; echo \$? >curl_c.rc
curl -sS -m 10 --cacert \$ca https://e.test:$PC/index.txt >curl_e.out 2>&1; echo \$? >curl_e.rc
wget -q -T 10 -O wget_a.out http://a.test:$PA/index.txt; echo \$? >wget_a.rc
wget -q -T 10 -O wget_b.out http://b.test:$PB/index.txt; echo \$? >wget_b.rc
/usr/bin/python3 - >py.out 2>&1 <<'PY'
import ssl, urllib.request, urllib.error
ctx = ssl.create_default_context(cafile="/workspace/ca.pem")
print("a", urllib.request.urlopen("http://a.test:$PA/index.txt", timeout=10).read().decode().strip())
print("c", urllib.request.urlopen("https://c.test:$PC/index.txt", timeout=10, context=ctx).read().decode().strip())
try:
    urllib.request.urlopen("http://b.test:$PB/index.txt", timeout=10)
    print("b allowed")
except urllib.error.HTTPError as e:
    print("b", e.code, e.headers.get("X-Corral-Egress-Rule"))
PY
HOME=/tmp GIT_SSL_CAINFO=\$ca git clone -q https://c.test:$PC/repo.git clone >git.out 2>&1; echo \$? >git.rc
if command -v npm >/dev/null; then
  HOME=/tmp/npm-home npm_config_update_notifier=false npm_config_registry=http://r.test:$PR/ npm install --no-audit --no-fund --prefix /workspace/np \
    corral-egress-demo >npm.out 2>&1; echo \$? >npm.rc
else
  echo skipped >npm.rc
fi
exit 0
SH
  cat >"$TT/tests/test.sh" <<'SH'
#!/bin/bash
cd /workspace
for f in curl_c curl_e wget_a wget_b git npm; do echo "$f: rc $(cat $f.rc)"; done
cat py.out git.out npm.out; find np -maxdepth 3 | head
[ "$(cat curl_c.out)" = "hello from c" ] && [ "$(cat curl_e.rc)" != 0 ] && [ "$(cat wget_a.out)" = "hello from a" ] &&
  [ "$(cat wget_b.rc)" != 0 ] && grep -qx "a hello from a" py.out && grep -qx "c hello from c" py.out &&
  grep -qx "b 403 default" py.out && [ "$(cat git.rc)" = 0 ] && [ "$(cat clone/README)" = "cloned over https" ] &&
  { [ "$(cat npm.rc)" = skipped ] || [ -f np/node_modules/corral-egress-demo/index.js ]; }
SH
  chmod +x "$TT/solution/solve.sh" "$TT/tests/test.sh"
  cat >"$WORK/tools.json" <<'JSON'
{"default": "deny",
 "rules": [{"host_pattern": "a.test", "action": "allow"}, {"host_pattern": "c.test", "action": "allow"},
           {"host_pattern": "r.test", "action": "allow", "methods": ["GET"]}],
 "phases": {"verify": {"default": "deny"}}}
JSON
  CORRAL_EGRESS_HOSTS="a.test=127.0.0.1,b.test=127.0.0.1,c.test=127.0.0.1,e.test=127.0.0.1,r.test=127.0.0.1" \
    run "$CORRAL" run "${SB[@]}" --task "$TT" --agent oracle --egress "$WORK/tools.json" --out "$WORK/tools.json.out"
  check "$BACKEND: curl and python3 over HTTPS (CONNECT, SNI checked), wget and urllib over HTTP, git clone over HTTPS, npm install from a registry: only where allowed" eval \
    '[ $RC -eq 0 ] && [ "$(field "$WORK/tools.json.out" "d[\"reward\"]")" = 1 ]'
  field "$WORK/tools.json.out" "d[\"verify\"][0][\"stdout\"]" | sed 's/^/# /' # what each tool got
  check "$BACKEND: the tunnels are in the result: c.test allowed, e.test denied" eval \
    'D=$(field "$WORK/tools.json.out" "sorted(set((e[\"method\"], e[\"host\"], e[\"decision\"]) for e in d[\"egress\"]))");
     has "$D" "('"'"'CONNECT'"'"', '"'"'c.test'"'"', '"'"'allow'"'"')" && has "$D" "('"'"'CONNECT'"'"', '"'"'e.test'"'"', '"'"'deny'"'"')"'
fi

echo '{"rules": [{"host_pattern": "a..test", "action": "allow"}]}' >"$WORK/bad.json"
run "$CORRAL" run "${SB[@]}" --task "$T" --agent oracle --egress "$WORK/bad.json"
check "$BACKEND: a malformed pattern: one error naming the file and the rule, exit 1" eval \
  '[ $RC -eq 1 ] && has "$ERR" "--egress $WORK/bad.json: rules[0]: host_pattern \"a..test\" is malformed"'
echo '{"egress": {"phases": {"build": {}}}}' >"$T/task.json"
run "$CORRAL" run "${SB[@]}" --task "$T" --agent oracle
check "$BACKEND: a task's unknown phase: one error naming task.json" eval \
  '[ $RC -ne 0 ] && has "$ERR$OUT" "task.json: egress: phases: unknown phase \"build\""'
finish

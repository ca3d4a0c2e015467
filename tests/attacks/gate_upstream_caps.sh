#!/bin/bash
# Issue 15 item 14: the agent chooses "n" and "max_tokens", the operator's
# key pays.  A rollout against a fake upstream: pi asks for
# max_completion_tokens 4096 and the operator caps it with
# --upstream-max-tokens 77; the upstream sees 77 and the transcript says
# what was asked and what was sent.  (n is capped the same way; pi never
# sends one: tests/unit/test_gate.c test_upstream covers n=8 -> 1.)
source "$(dirname "$0")/../integration/lib.sh"
rollout_backend "${1:-local}" gate_upstream_caps.sh
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
python3 - "$WORK" <<'PY' &
import http.server, json, os, sys
work = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(os.path.join(work, "seen.jsonl"), "ab") as f:
            f.write(body + b"\n")
        out = json.dumps({"id": "x", "object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop",
                          "message": {"role": "assistant", "content": "done"}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(os.path.join(work, "port"), "w").write(str(s.server_port))
s.serve_forever()
PY
FAKE=$!
trap 'kill $FAKE 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
run "$CORRAL" run "${SB[@]}" --task "$SOURCE_DIR/examples/tasks/hello" --agent pi \
  --model "upstream:http://127.0.0.1:$(cat "$WORK/port")/v1" --upstream-max-tokens 77 --out "$WORK/r.json"
check "the rollout reached the upstream" [ -s "$WORK/seen.jsonl" ]
run python3 -c '
import json, sys
seen = [json.loads(l) for l in open(sys.argv[1])]
assert all(b.get("max_completion_tokens") == 77 for b in seen), [b.get("max_completion_tokens") for b in seen]
assert all(b.get("n", 1) == 1 for b in seen)
t = json.load(open(sys.argv[2]))["transcript"]
ov = t[0]["upstream_overrides"]["max_completion_tokens"]
assert ov == {"asked": 4096, "sent": 77}, ov
print("CAPPED")' "$WORK/seen.jsonl" "$WORK/r.json"
check "the upstream saw the operator's cap, the transcript what was asked" has "$OUT" CAPPED
finish

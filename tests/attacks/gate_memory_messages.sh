#!/bin/bash
# The memory bomb of gate_memory.sh through the Anthropic Messages edge
# (docs/gate-dialects.md), which, unlike the chat path, builds a JSON tree
# of the body to translate it: 16 MB bodies are refused (413, the same 4 MiB
# limit) before they are read; a 3.9 MB body of a million tiny values is
# refused (400) before any tree is built; bodies just under the value cap
# are translated and answered; the gate's resident memory stays bounded.
#   gate_memory_messages.sh [messages | responses]
# (responses: the same through the OpenAI Responses edge.)
source "$(dirname "$0")/../integration/lib.sh"
M="${1:-messages}"
run python3 - "$WORK" "$M" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["SOURCE_DIR"], "tests/attacks"))
import gate_lib as gl
p, host, port = gl.serve(sys.argv[1])
M = sys.argv[2]
if M == "responses":
    body = lambda n: ('{"model":"m","input":"' + "x" * n + '"}').encode()
    bomb = ('{"input":"x","z":[' + "0," * 1_950_000 + '0]}').encode()
    blocks = ('{"input":[{"role":"user","content":[' +
              ",".join(['{"type":"input_text","text":"ab"}'] * 38_000) + ']}]}').encode()
else:
    body = gl.messages_body
    bomb = ('{"max_tokens":8,"messages":[{"role":"user","content":"x"}],"z":[' + "0," * 1_950_000 + '0]}').encode()
    blocks = ('{"max_tokens":8,"messages":[{"role":"user","content":[' +
              ",".join(['{"type":"text","text":"ab"}'] * 38_000) + ']}]}').encode()
try:
    big = [gl.call(host, port, "bomb", body(16_000_000), path=M) for _ in range(40)]
    mid = [gl.call(host, port, "bomb", body(3_000_000), path=M) for _ in range(40)]
    values = [gl.call(host, port, "bomb", bomb, path=M) for _ in range(20)]
    under = [gl.call(host, port, "bomb", blocks, path=M) for _ in range(20)]
    rss = gl.rss_kb(p.pid) // 1024
    print("16 MB:", sorted(set(map(str, big))), "3 MB:", sorted(set(map(str, mid))),
          "values:", sorted(set(map(str, values))), "under the cap:", sorted(set(map(str, under))), "rss_mb:", rss)
    print("RSS_OK" if rss < 200 else "RSS_HIGH")
    print("REFUSED_BIG" if all(s in (413, "closed", "ConnectionResetError", "BrokenPipeError") for s in big) else "TOOK_BIG")
    print("ANSWERED_MID" if all(s in (200, 400) for s in mid) and 200 in mid else "MID_WRONG")
    print("REFUSED_VALUES" if all(s == 400 for s in values) else "TOOK_VALUES")
    print("ANSWERED_UNDER" if all(s in (200, 400) for s in under) else "UNDER_WRONG")
finally:
    p.terminate()
    p.wait()
PY
check "the memory bomb ran ($OUT)" [ "$RC" -eq 0 ]
check "16 MB $M bodies are refused (4 MiB limit)" has "$OUT" REFUSED_BIG
check "3 MB $M bodies are translated and answered" has "$OUT" ANSWERED_MID
check "a body of a million tiny values is refused before a tree is built" has "$OUT" REFUSED_VALUES
check "bodies under the value cap are translated" has "$OUT" ANSWERED_UNDER
if [ "${CORRAL_TEST_SANITIZED:-0}" = 1 ]; then
  echo "# skipped under ASan (quarantine and shadow memory): the gate's memory stays under 200 MB"
else
  check "the gate's memory stays under 200 MB" has "$OUT" RSS_OK
fi
finish

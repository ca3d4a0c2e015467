#!/bin/bash
# Issue 15 item 13: an agent must not make the gate hold unbounded memory.
# 40 x 16 MB requests and 40 x 3 MB ones (the replay script is exhausted
# after one line, so most of them fail) made `corral gate serve` keep every
# request verbatim (1.3 GB).  Now: 413 above the 4 MiB request limit, failed
# calls are recorded by size, and the transcript stops at its limit; the
# gate's resident memory stays bounded.
source "$(dirname "$0")/../integration/lib.sh"
run python3 - "$WORK" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["SOURCE_DIR"], "tests/attacks"))
import gate_lib as gl
p, host, port = gl.serve(sys.argv[1])
try:
    big = [gl.call(host, port, "bomb", gl.chat_body(16_000_000)) for _ in range(40)]
    mid = [gl.call(host, port, "bomb", gl.chat_body(3_000_000)) for _ in range(40)]
    rss = gl.rss_kb(p.pid) // 1024
    print("16 MB:", sorted(set(map(str, big))), "3 MB:", sorted(set(map(str, mid))), "rss_mb:", rss)
    print("RSS_OK" if rss < 200 else "RSS_HIGH")
    print("REFUSED_BIG" if all(s in (413, "closed", "ConnectionResetError", "BrokenPipeError") for s in big) else "TOOK_BIG")
finally:
    p.terminate()
    p.wait()
PY
check "the memory bomb ran ($OUT)" [ "$RC" -eq 0 ]
check "16 MB requests are refused (4 MiB limit)" has "$OUT" REFUSED_BIG
check "the gate's memory stays under 200 MB" has "$OUT" RSS_OK
finish

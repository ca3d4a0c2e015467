#!/bin/bash
# The reference solution does what an agent does: it starts the task's MCP
# server on stdio, says initialize, calls the `secret` tool and writes the
# word from its answer (so the oracle, too, scores 1 only if the tool ran).
set -euo pipefail
cd /workspace
ECHO_CALLS=/workspace/.mcp/calls python3 - <<'PY'
import json, re, subprocess
srv = subprocess.Popen(["python3", "/workspace/.mcp/echo_server.py"], stdin=subprocess.PIPE,
                       stdout=subprocess.PIPE, text=True)
def rpc(rid, method, params):
    srv.stdin.write(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}) + "\n")
    srv.stdin.flush()
    return json.loads(srv.stdout.readline())["result"]
rpc(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "solve", "version": "1"}})
srv.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
text = rpc(2, "tools/call", {"name": "secret", "arguments": {}})["content"][0]["text"]
open("answer.txt", "w").write(re.search(r"\S+$", text).group(0) + "\n")
srv.stdin.close()
srv.wait()
PY

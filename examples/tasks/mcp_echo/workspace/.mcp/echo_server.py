#!/usr/bin/env python3
"""A tiny MCP server on stdio (newline-delimited JSON-RPC 2.0): one tool,
`secret`, whose answer holds a word; each call is recorded in $ECHO_CALLS,
which the task's test checks, so a reward of 1 means the tool really ran."""
import json
import os
import sys

WORD = "PAPAYA-7"
TOOL = {"name": "secret", "description": "Answers with the secret word.",
        "inputSchema": {"type": "object", "properties": {}}}


def answer(req):
    method, rid = req.get("method"), req.get("id")
    if rid is None:  # a notification (notifications/initialized, cancelled)
        return None
    if method == "initialize":
        version = req.get("params", {}).get("protocolVersion", "2025-06-18")
        return {"protocolVersion": version, "capabilities": {"tools": {}},
                "serverInfo": {"name": "echo", "version": "1"}}
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": [TOOL]}
    if method == "tools/call" and req.get("params", {}).get("name") == "secret":
        with open(os.environ.get("ECHO_CALLS", "/dev/null"), "a") as f:
            f.write("secret\n")
        return {"content": [{"type": "text", "text": "The secret word is " + WORD}]}
    raise LookupError(method)


for line in sys.stdin:
    if not line.strip():
        continue
    req = json.loads(line)
    try:
        res = answer(req)
        if res is None:
            continue
        out = {"jsonrpc": "2.0", "id": req["id"], "result": res}
    except LookupError as e:
        out = {"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32601, "message": "unknown: %s" % e}}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()

#!/usr/bin/env python3
"""`corral gate serve` as an MCP server (docs/gate.md "Tools over MCP"): a
trainer registers a tool over the trainer API, an MCP client (streamable
HTTP, as agent CLIs speak it) lists and calls it on its rollout's endpoint,
the trainer answers the call from /v1/requests/next, and the transcript
records it."""
import json, os, signal, subprocess, sys, tempfile, threading, urllib.error, urllib.request

CORRAL = os.environ["CORRAL"]
failures = 0


def check(what, ok):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1


def http(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


with tempfile.TemporaryDirectory() as tmp:
    proc = subprocess.Popen([CORRAL, "gate", "serve", "--listen", "127.0.0.1:0", "--trainer-listen", "127.0.0.1:0",
                             "--secret-file", os.path.join(tmp, "secret"),
                             "--trainer-token-file", os.path.join(tmp, "trainer")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        ttok = open(os.path.join(tmp, "trainer")).read().strip()
        T = {"Authorization": "Bearer " + ttok, "Content-Type": "application/json"}
        tr = info["trainer_url"]

        st, _, b = http("POST", tr + "/v1/rollouts/r1", b"", T)
        check("the trainer registers rollout r1", st == 201)
        tok = json.loads(b)["token"]
        st, _, b = http("POST", tr + "/v1/tools", {"name": "bad name", "input_schema": {}}, T)
        check("a bad tool name is a 400 saying why", st == 400 and b"name" in b)
        st, _, b = http("POST", tr + "/v1/tools", {"name": "lookup", "description": "Look a key up.",
                                                   "input_schema": {"type": "object",
                                                                    "properties": {"key": {"type": "string"}}}}, T)
        check("the trainer registers tool lookup", st == 201)

        mcp_url = info["url"] + "/rollout/r1/mcp"
        A = {"Authorization": "Bearer " + tok, "Content-Type": "application/json",
             "Accept": "application/json, text/event-stream"}
        st, h, b = http("POST", mcp_url, {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                          "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                                     "clientInfo": {"name": "test", "version": "1"}}}, A)
        sid = {k.lower(): v for k, v in h.items()}.get("mcp-session-id", "")
        init = json.loads(b)
        check("initialize answers the version asked and a session id",
              st == 200 and init["result"]["protocolVersion"] == "2025-06-18" and len(sid) == 32)
        S = dict(A, **{"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-06-18"})
        st, _, b = http("POST", mcp_url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, S)
        check("a notification is 202 with no body", st == 202 and b == b"")
        st, _, b = http("POST", mcp_url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, S)
        tools = json.loads(b)["result"]["tools"]
        check("tools/list shows the trainer's tool", st == 200 and [t["name"] for t in tools] == ["lookup"]
              and tools[0]["inputSchema"]["properties"]["key"]["type"] == "string")
        st, _, b = http("POST", mcp_url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                        dict(S, Authorization="Bearer " + "0" * 64))
        check("a wrong token is 401", st == 401)

        answer = {}

        def agent():
            answer["r"] = http("POST", mcp_url, {"jsonrpc": "2.0", "id": "call-1", "method": "tools/call",
                                                 "params": {"name": "lookup", "arguments": {"key": "answer"}}}, S)

        th = threading.Thread(target=agent)
        th.start()
        st, _, b = http("GET", tr + "/v1/requests/next?timeout=30", None, T)
        env = json.loads(b) if st == 200 else {}
        check("the call reaches the trainer queue as a tool call",
              env.get("kind") == "tool_call" and env.get("rollout_id") == "r1"
              and env.get("request") == {"name": "lookup", "arguments": {"key": "answer"}})
        st, _, b = http("POST", tr + "/v1/requests/%s/response" % env.get("id"), {"content": "not a list"}, T)
        check("a malformed tool result is a 400", st == 400)
        st, _, _ = http("POST", tr + "/v1/requests/%s/response" % env.get("id"),
                        {"content": [{"type": "text", "text": "42"}]}, T)
        check("the trainer answers it", st == 200)
        th.join(60)
        st, _, b = answer.get("r", (0, {}, b"{}"))
        res = json.loads(b).get("result", {})
        check("the agent gets the trainer's result", st == 200 and res.get("content") == [{"type": "text", "text": "42"}]
              and res.get("isError") is False)

        st, _, b = http("GET", tr + "/v1/rollouts/r1/transcript", None, T)
        entries = [e for e in json.loads(b) if e.get("kind") == "mcp_tool"]
        check("the transcript records the tool call",
              len(entries) == 1 and entries[0]["tool"] == "lookup" and entries[0]["request"]["arguments"] == {"key": "answer"}
              and entries[0]["response"]["content"][0]["text"] == "42" and "latency_ms" in entries[0])
        st, _, _ = http("DELETE", mcp_url, None, S)
        check("DELETE ends the session", st == 200)
        st, _, _ = http("POST", mcp_url, {"jsonrpc": "2.0", "id": 2, "method": "ping"}, S)
        check("an ended session is 404", st == 404)
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
    check("the gate stops cleanly on SIGTERM", rc == 0)

sys.exit(1 if failures else 0)

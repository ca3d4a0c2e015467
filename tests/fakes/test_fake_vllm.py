#!/usr/bin/env python3
"""Pins the fake vLLM's wire (tests/fakes/fake_vllm.py): the streamed answer
reassembles into the non-streamed one (content, tool-call deltas by index),
logprob tokens read "token_id:<n>" and agree with "token_ids", the prompt's
ids come with return_token_ids only, the script is per X-Session-ID, calls
without tools get the auxiliary answer, and the refusals vLLM gives."""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "sk-fake-vllm-test"
TOOLS = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]
MSGS = [{"role": "system", "content": "You are a coder."}, {"role": "user", "content": "make hello.txt"}]


def post(port, body, session=None, key=KEY, raw=False):
    req = urllib.request.Request("http://127.0.0.1:%d/v1/chat/completions" % port, data=json.dumps(body).encode(),
                                 method="POST")
    req.add_header("Content-Type", "application/json")
    if key:
        req.add_header("Authorization", "Bearer " + key)
    if session:
        req.add_header("X-Session-ID", session)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            data = r.read()
            return r.status, (data.decode() if raw else json.loads(data))
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def sse_events(text):
    out = []
    for block in text.split("\n\n"):
        if not block:
            continue
        assert block.startswith("data: "), block
        out.append(block[6:])
    return out


class FakeVllm(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        script = os.path.join(cls.tmp, "script.jsonl")
        with open(script, "w") as f:
            f.write('# a comment\n')
            f.write(json.dumps({"content": "Let me do it.",
                                "tool_calls": [{"name": "bash", "arguments": {"command": "echo hi > hello.txt"}},
                                               {"name": "bash", "arguments": "{\"command\": \"ls\"}"}]}) + "\n")
            f.write(json.dumps({"content": "Done."}) + "\n")
        env = dict(os.environ, FAKE_VLLM_API_KEY=KEY)
        cls.log = os.path.join(cls.tmp, "log.jsonl")
        cls.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_vllm.py"), "--script", script,
                                     "--model", "m", "--log", cls.log], stdout=subprocess.PIPE, env=env)
        cls.port = json.loads(cls.proc.stdout.readline())["port"]

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait()

    def test_stream_reassembles_into_the_full_answer(self):
        body = {"model": "m", "messages": MSGS, "tools": TOOLS, "logprobs": True, "return_tokens_as_token_ids": True,
                "return_token_ids": True}
        st, full = post(self.port, body, session="full")
        self.assertEqual(st, 200)
        st, text = post(self.port, dict(body, stream=True, stream_options={"include_usage": True}), session="sse",
                        raw=True)
        self.assertEqual(st, 200)
        events = sse_events(text)
        self.assertEqual(events[-1], "[DONE]")
        chunks = [json.loads(e) for e in events[:-1]]
        self.assertEqual(chunks[0]["choices"][0]["delta"]["role"], "assistant")
        self.assertEqual(chunks[0]["prompt_token_ids"], full["prompt_token_ids"])
        self.assertTrue(all("prompt_token_ids" not in c for c in chunks[1:]))
        content, calls, ids, lps, finish = "", {}, [], [], None
        for c in chunks[:-1]:
            ch = c["choices"][0]
            d = ch["delta"]
            content += d.get("content") or ""
            for tc in d.get("tool_calls") or []:
                slot = calls.setdefault(tc["index"], {"id": None, "name": "", "arguments": ""})
                if "id" in tc:
                    self.assertIsNone(slot["id"])  # the id comes once, with the name
                    slot["id"], slot["name"] = tc["id"], tc["function"]["name"]
                slot["arguments"] += tc["function"].get("arguments", "")
            ids += ch.get("token_ids") or []
            lps += (ch.get("logprobs") or {}).get("content") or []
            finish = ch["finish_reason"] or finish
        usage = chunks[-1]
        self.assertEqual(usage["choices"], [])
        msg = full["choices"][0]["message"]
        self.assertEqual(content, msg["content"])
        self.assertEqual([(calls[i]["name"], json.loads(calls[i]["arguments"])) for i in sorted(calls)],
                         [(t["function"]["name"], json.loads(t["function"]["arguments"])) for t in msg["tool_calls"]])
        self.assertEqual(finish, "tool_calls")
        self.assertEqual(ids, full["choices"][0]["token_ids"])
        self.assertEqual([e["token"] for e in lps], ["token_id:%d" % i for i in ids])
        self.assertEqual(usage["usage"], full["usage"])
        self.assertEqual(full["usage"]["completion_tokens"], len(ids))
        self.assertEqual(full["usage"]["prompt_tokens"], len(full["prompt_token_ids"]))

    def test_plain_request_gets_no_vllm_extras(self):
        st, full = post(self.port, {"model": "m", "messages": MSGS, "tools": TOOLS}, session="plain")
        self.assertEqual(st, 200)
        self.assertNotIn("prompt_token_ids", full)
        self.assertNotIn("token_ids", full["choices"][0])
        self.assertIsNone(full["choices"][0]["logprobs"])
        st, lp = post(self.port, {"model": "m", "messages": MSGS, "tools": TOOLS, "logprobs": True},
                      session="plain")
        self.assertEqual(lp["choices"][0]["message"]["content"], "Done.")  # line 2 of this session
        self.assertFalse(lp["choices"][0]["logprobs"]["content"][0]["token"].startswith("token_id:"))

    def test_sessions_and_auxiliary_calls(self):
        st, aux = post(self.port, {"model": "m", "messages": MSGS}, session="s1")
        self.assertEqual(aux["choices"][0]["message"]["content"], "Hello task")
        st, a = post(self.port, {"model": "m", "messages": MSGS, "tools": TOOLS}, session="s1")
        self.assertEqual(a["choices"][0]["finish_reason"], "tool_calls")  # line 1: the aux call took none
        st, b = post(self.port, {"model": "m", "messages": MSGS, "tools": TOOLS}, session="s1")
        self.assertEqual(b["choices"][0]["message"]["content"], "Done.")
        st, c = post(self.port, {"model": "m", "messages": MSGS, "tools": TOOLS}, session="s1")
        self.assertEqual(st, 400)  # past the script
        with open(self.log) as f:
            seen = [json.loads(line) for line in f]
        s1 = [e for e in seen if e["headers"].get("x-session-id") == "s1"]
        self.assertEqual(len(s1), 4)
        self.assertTrue(all(e["headers"]["authorization"] == "<redacted>" for e in s1))
        with open(self.log) as f:
            self.assertNotIn(KEY, f.read())

    def test_refusals(self):
        self.assertEqual(post(self.port, {"model": "m", "messages": MSGS}, key=None)[0], 401)
        self.assertEqual(post(self.port, {"model": "m", "messages": MSGS}, key="wrong")[0], 401)
        st, e = post(self.port, {"model": "other", "messages": MSGS})
        self.assertEqual((st, e["error"]["type"]), (404, "NotFoundError"))
        self.assertEqual(post(self.port, {"model": "m", "messages": []})[0], 400)
        orphan = MSGS + [{"role": "tool", "tool_call_id": "nope", "content": "x"}]
        st, e = post(self.port, {"model": "m", "messages": orphan, "tools": TOOLS})
        self.assertEqual(st, 400)
        self.assertIn("answers no earlier tool call", e["error"]["message"])


if __name__ == "__main__":
    unittest.main()

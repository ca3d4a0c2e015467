#!/usr/bin/env python3
"""A fake of vLLM's OpenAI-compatible server (`vllm serve`), for tests that
drive an agent through corral's upstream mode (docs/gate.md, "RL capture").

Starts on 127.0.0.1 port 0 (or --port) and prints {"port": P, "pid": PID}
as one JSON line (also to --port-file).

  GET  /v1/models                 {"object": "list", "data": [{"id": <model>}]}
  POST /v1/chat/completions       a chat completion, or SSE with "stream": true
  GET  /_log                      the requests received so far (JSON array)

The wire follows vLLM's documented OpenAI-compatible server:
  - "stream": true answers "data: {chunk}\\n\\n" events and "data: [DONE]":
    a role delta first, content deltas, tool calls as "tool_calls" deltas
    (the first of a call with index, id, type and function name and empty
    arguments, then argument pieces with the index only), a chunk with the
    finish reason, and with "stream_options": {"include_usage": true} a
    usage chunk with "choices": [] before [DONE];
  - "logprobs": true gives each choice (each delta) "logprobs": {"content":
    [{"token", "logprob", "bytes", "top_logprobs"}]}; with
    "return_tokens_as_token_ids": true each token reads "token_id:<n>";
  - "return_token_ids": true adds "prompt_token_ids" at the top of the
    response (of the first chunk) and "token_ids" to each choice (chunk);
  - "usage" counts the fake's own tokens; unknown models get a 404, a
    malformed request (no messages, a "tool" message whose tool_call_id no
    earlier assistant tool call has) a 400, in the
    {"error": {"message", "type", "param", "code"}} form;
  - with --api-key (or env FAKE_VLLM_API_KEY) a request without
    "Authorization: Bearer <key>" gets a 401.

Tokens are the fake's own: text split at whitespace boundaries, each piece's
id a CRC-32 of it modulo 50000; the prompt's ids are those of the messages'
text and tool names, so a longer conversation has more prompt ids.

Answers come from --script FILE (JSONL, "#" lines are comments): each line a
short answer {"content": "...", "tool_calls": [{"name", "arguments": {..} |
"json text"}], "finish_reason"?}.  The n-th call of a session (the
X-Session-ID header, "-" without one) that offers tools gets line n; past
the end a 400.  A call without tools (an agent's title or summary request)
consumes no line and gets {"content": --aux-answer}.

Every request is recorded (--log FILE gets one JSON line each, GET /_log the
whole list): {"path", "headers": {lower-case name: value}, "body": <JSON>},
with the Authorization header's value replaced by "<redacted>".
"""
import argparse
import json
import os
import re
import sys
import threading
import time
import uuid
import zlib
from http.server import ThreadingHTTPServer

from json_handler import JsonHandler, announce_and_serve

PIECE = re.compile(r"\s*\S+|\s+")


def pieces(text):
    return PIECE.findall(text or "")


def token_id(piece):
    return zlib.crc32(piece.encode()) % 50000


def prompt_text(body):
    out = []
    for m in body.get("messages", []):
        c = m.get("content")
        if isinstance(c, str):
            out.append(c)
        elif isinstance(c, list):
            out.extend(p.get("text", "") for p in c if isinstance(p, dict))
        for tc in m.get("tool_calls") or []:
            f = tc.get("function", {})
            out.append(f.get("name", "") + f.get("arguments", ""))
    for t in body.get("tools") or []:
        out.append(t.get("function", {}).get("name", ""))
    return " ".join(out)


class Fake:
    def __init__(self, args):
        self.model = args.model
        self.key = args.api_key or os.environ.get("FAKE_VLLM_API_KEY") or None
        self.aux = args.aux_answer
        self.script = []
        if args.script:
            with open(args.script) as f:
                for line in f:
                    line = line.strip()
                    if line and not line.startswith("#"):
                        self.script.append(json.loads(line))
        self.lock = threading.Lock()
        self.next = {}
        self.log = []
        self.log_file = open(args.log, "a") if args.log else None

    def record(self, path, headers, body):
        h = {k.lower(): ("<redacted>" if k.lower() == "authorization" else v) for k, v in headers.items()}
        entry = {"path": path, "headers": h, "body": body}
        with self.lock:
            self.log.append(entry)
            if self.log_file:
                self.log_file.write(json.dumps(entry) + "\n")
                self.log_file.flush()

    def answer_for(self, session, body):
        if not body.get("tools"):
            return {"content": self.aux}
        with self.lock:
            n = self.next.get(session, 0)
            self.next[session] = n + 1
        if n >= len(self.script):
            return None
        return self.script[n]


def error(status, message, typ):
    return status, {"error": {"message": message, "type": typ, "param": None, "code": status}}


def check_request(fake, body):
    """None, or the (status, body) of vLLM's refusal."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
        return error(400, "messages: field required (a non-empty list)", "BadRequestError")
    if fake.model and body.get("model") != fake.model:
        return error(404, "The model `%s` does not exist." % body.get("model"), "NotFoundError")
    seen = set()
    for i, m in enumerate(body["messages"]):
        if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user", "assistant", "tool"):
            return error(400, "messages[%d]: unknown role" % i, "BadRequestError")
        for tc in m.get("tool_calls") or []:
            f = tc.get("function") or {}
            if not tc.get("id") or not isinstance(f.get("name"), str) or not isinstance(f.get("arguments"), str):
                return error(400, "messages[%d]: a tool call needs id, function.name, function.arguments" % i,
                             "BadRequestError")
            try:
                json.loads(f["arguments"])
            except ValueError:
                return error(400, "messages[%d]: tool call arguments are not JSON" % i, "BadRequestError")
            seen.add(tc["id"])
        if m.get("role") == "tool" and m.get("tool_call_id") not in seen:
            return error(400, "messages[%d]: tool_call_id %r answers no earlier tool call" % (i, m.get("tool_call_id")),
                         "BadRequestError")
    for t in body.get("tools") or []:
        if t.get("type") != "function" or not isinstance(t.get("function", {}).get("name"), str):
            return error(400, "tools: each needs type function and function.name", "BadRequestError")
    return None


class Completion:
    """One answer as tokens: content pieces and each tool call's argument pieces."""

    def __init__(self, body, ans):
        self.content = ans.get("content")
        self.calls = []
        for tc in ans.get("tool_calls") or []:
            a = tc.get("arguments", {})
            self.calls.append({"id": "chatcmpl-tool-" + uuid.uuid4().hex[:16], "name": tc["name"],
                               "arguments": a if isinstance(a, str) else json.dumps(a)})
        self.finish = ans.get("finish_reason") or ("tool_calls" if self.calls else "stop")
        self.as_ids = bool(body.get("return_tokens_as_token_ids"))
        self.want_lp = bool(body.get("logprobs"))
        self.want_ids = bool(body.get("return_token_ids"))
        self.prompt_ids = [token_id(p) for p in pieces(prompt_text(body))]
        self.content_pieces = pieces(self.content)
        self.call_pieces = [pieces(c["arguments"]) for c in self.calls]
        self.n_completion = len(self.content_pieces) + sum(len(p) + 1 for p in self.call_pieces)

    def lp(self, piece, k):
        tok = "token_id:%d" % token_id(piece) if self.as_ids else piece
        return {"token": tok, "logprob": -0.01 * (k % 50 + 1), "bytes": list(piece.encode()), "top_logprobs": []}

    def all_pieces(self):
        out = list(self.content_pieces)
        for c, ps in zip(self.calls, self.call_pieces):
            out.append(c["name"])
            out.extend(ps)
        return out

    def usage(self):
        return {"prompt_tokens": len(self.prompt_ids), "completion_tokens": self.n_completion,
                "total_tokens": len(self.prompt_ids) + self.n_completion}


def full_response(model, comp):
    msg = {"role": "assistant", "content": comp.content, "reasoning_content": None,
           "tool_calls": [{"id": c["id"], "type": "function", "function": {"name": c["name"],
                                                                            "arguments": c["arguments"]}}
                          for c in comp.calls]}
    ps = comp.all_pieces()
    choice = {"index": 0, "message": msg, "finish_reason": comp.finish, "stop_reason": None,
              "logprobs": {"content": [comp.lp(p, k) for k, p in enumerate(ps)]} if comp.want_lp else None}
    out = {"id": "chatcmpl-" + uuid.uuid4().hex, "object": "chat.completion", "created": int(time.time()),
           "model": model, "choices": [choice], "usage": comp.usage(), "prompt_logprobs": None}
    if comp.want_ids:
        choice["token_ids"] = [token_id(p) for p in ps]
        out["prompt_token_ids"] = comp.prompt_ids
    return out


def stream_events(model, comp, include_usage):
    cid, created = "chatcmpl-" + uuid.uuid4().hex, int(time.time())

    def chunk(delta, finish=None, piece=None, k=0, first=False):
        ch = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        if piece is not None and comp.want_lp:
            ch["logprobs"] = {"content": [comp.lp(piece, k)]}
        if comp.want_ids:
            ch["token_ids"] = [token_id(piece)] if piece is not None else []
        c = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [ch]}
        if first and comp.want_ids:
            c["prompt_token_ids"] = comp.prompt_ids
        return c

    yield chunk({"role": "assistant", "content": ""}, first=True)
    k = 0
    for p in comp.content_pieces:
        yield chunk({"content": p}, piece=p, k=k)
        k += 1
    for i, (c, ps) in enumerate(zip(comp.calls, comp.call_pieces)):
        yield chunk({"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                                     "function": {"name": c["name"], "arguments": ""}}]}, piece=c["name"], k=k)
        k += 1
        for p in ps:
            yield chunk({"tool_calls": [{"index": i, "function": {"arguments": p}}]}, piece=p, k=k)
            k += 1
    yield chunk({}, finish=comp.finish)
    if include_usage:
        yield {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [],
               "usage": comp.usage()}


class Handler(JsonHandler):
    fake = None

    def authorized(self):
        if not self.fake.key:
            return True
        if self.headers.get("Authorization", "") == "Bearer " + self.fake.key:
            return True
        self.send_json(*error(401, "Unauthorized", "AuthenticationError"))
        return False

    def do_GET(self):
        if self.path == "/_log":
            with self.fake.lock:
                return self.send_json(200, list(self.fake.log))
        if not self.authorized():
            return
        if self.path == "/v1/models":
            return self.send_json(200, {"object": "list", "data": [{"id": self.fake.model or "fake", "object": "model",
                                                                     "owned_by": "vllm"}]})
        self.send_json(*error(404, "Not Found", "NotFoundError"))

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.fake.record(self.path, self.headers, body)
        if not self.authorized():
            return
        if self.path != "/v1/chat/completions":
            return self.send_json(*error(404, "Not Found", "NotFoundError"))
        bad = check_request(self.fake, body)
        if bad:
            return self.send_json(*bad)
        ans = self.fake.answer_for(self.headers.get("X-Session-ID", "-"), body)
        if ans is None:
            return self.send_json(*error(400, "fake_vllm: the script has no answer left", "BadRequestError"))
        comp = Completion(body, ans)
        model = body.get("model") or self.fake.model or "fake"
        if not body.get("stream"):
            return self.send_json(200, full_response(model, comp))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for ev in stream_events(model, comp, include_usage):
            self.wfile.write(b"data: " + json.dumps(ev).encode() + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


def main():
    ap = argparse.ArgumentParser(description="fake vLLM OpenAI-compatible server")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--script", help="JSONL of answers, the n-th tool-offering call of a session gets line n")
    ap.add_argument("--aux-answer", default="Hello task", help="the answer to calls without tools")
    ap.add_argument("--model", help="the served model name (others get 404); default: any")
    ap.add_argument("--api-key", help="required bearer key (default: env FAKE_VLLM_API_KEY, else none)")
    ap.add_argument("--log", help="append each request as a JSON line")
    args = ap.parse_args()
    Handler.fake = Fake(args)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    return announce_and_serve(srv, args.port_file)


if __name__ == "__main__":
    sys.exit(main())

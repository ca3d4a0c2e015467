#!/usr/bin/env python3
"""A fake of Anthropic's Messages API, for tests of the gate's same-dialect
upstream (docs/gate-dialects.md, "Same-dialect upstreams").

Starts on 127.0.0.1 port 0 (or --port) and prints {"port": P, "pid": PID}
as one JSON line (also to --port-file).

  POST /v1/messages   a message; with "stream": true the SSE events of the
                      Messages API in their order: message_start,
                      content_block_start, content_block_delta (text_delta,
                      one per word), content_block_stop, message_delta
                      (stop_reason, usage), message_stop
  GET  /_log          the requests received so far (JSON array of
                      {"path", "headers", "body"})

With --api-key (or env FAKE_ANTHROPIC_API_KEY) a request without
"x-api-key: <key>" gets a 401 in Anthropic's error form
{"type": "error", "error": {"type": "authentication_error", "message"}};
so does one that also sends "Authorization" (a key must travel in one
header only).  A body without "messages" gets a 400 invalid_request_error.
The answer's text is --answer, echoing the request's "model".

Streamed requests whose "model" names a behaviour:
  claude-slow    sends message_start, then waits (up to 60 s) for the file
                 --signal-file to exist before the rest: a client that has
                 the first event before the signal proves the stream was
                 relayed as it came
  claude-reset   sends the first events, then resets the connection
  claude-long    like claude-slow, then 300 more text deltas 20 ms apart;
                 its /_log entry gets "outcome": "sent" or "aborted" (the
                 client's side closed the connection meanwhile)
  (any model)    a request offering a "Bash" tool solves examples/tasks/hello
                 as Claude Code would be led to: a streamed tool_use Bash
                 writing hello.txt, then, once a tool_result came back, a
                 final text answer
  claude-tool    a text block, then a tool_use block (name "bash", input
                 {"command": "echo hi > hello.txt"} in input_json_delta
                 pieces), stop_reason "tool_use"
"""
import argparse
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import ThreadingHTTPServer

from json_handler import JsonHandler, announce_and_serve

LOG = []
LOCK = threading.Lock()


def error(kind, message):
    return {"type": "error", "error": {"type": kind, "message": message}}


class Handler(JsonHandler):
    def solve_hello(self, body, model):
        answered = any(isinstance(b, dict) and b.get("type") == "tool_result"
                       for m in body["messages"] if isinstance(m.get("content"), list) for b in m["content"])
        if answered:
            block, stop = {"type": "text", "text": 'I created hello.txt containing "Hello, world!".'}, "end_turn"
        else:
            block = {"type": "tool_use", "id": "toolu_hello1", "name": "Bash",
                     "input": {"command": "printf 'Hello, world!\\n' > hello.txt", "description": "Create hello.txt"}}
            stop = "tool_use"
        usage = {"input_tokens": 40, "output_tokens": 12}
        msg = {"id": "msg_hello", "type": "message", "role": "assistant", "model": model, "content": [block],
               "stop_reason": stop, "stop_sequence": None, "usage": usage}
        if not body.get("stream"):
            return self.send_json(200, msg)
        start = dict(block, input={}) if block["type"] == "tool_use" else dict(block, text="")
        delta = ({"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
                 if block["type"] == "tool_use" else {"type": "text_delta", "text": block["text"]})
        events = [{"type": "message_start", "message": dict(msg, content=[], stop_reason=None,
                                                             usage={"input_tokens": 40, "output_tokens": 1})},
                  {"type": "content_block_start", "index": 0, "content_block": start},
                  {"type": "content_block_delta", "index": 0, "delta": delta},
                  {"type": "content_block_stop", "index": 0},
                  {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                   "usage": {"output_tokens": 12}},
                  {"type": "message_stop"}]
        data = "".join("event: %s\ndata: %s\n\n" % (e["type"], json.dumps(e)) for e in events).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def wait_signal(self):
        until = time.monotonic() + 60
        while not os.path.exists(self.server.signal_file or "") and time.monotonic() < until:
            time.sleep(0.02)

    def do_GET(self):
        if self.path == "/_log":
            with LOCK:
                return self.send_json(200, LOG)
        self.send_json(404, error("not_found_error", "no such route"))

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        entry = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body": raw.decode("utf-8", "replace")}
        with LOCK:
            LOG.append(entry)
        if self.path != "/v1/messages":
            return self.send_json(404, error("not_found_error", "no such route"))
        key = self.server.api_key
        if key and (self.headers.get("x-api-key") != key or self.headers.get("Authorization")):
            return self.send_json(401, error("authentication_error", "invalid x-api-key"))
        try:
            body = json.loads(raw)
        except ValueError:
            return self.send_json(400, error("invalid_request_error", "the body is not JSON"))
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return self.send_json(400, error("invalid_request_error", "messages: field required"))
        model = body.get("model", "claude")
        text = self.server.answer
        usage = {"input_tokens": 12, "output_tokens": len(text.split())}
        tools = [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
        if "Bash" in tools:
            return self.solve_hello(body, model)
        if not body.get("stream"):
            return self.send_json(200, {"id": "msg_fake1", "type": "message", "role": "assistant", "model": model,
                                        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                                        "stop_sequence": None, "usage": usage})
        events = [("message_start", {"type": "message_start", "message": {
            "id": "msg_fake1", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 12, "output_tokens": 1}}}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}})]
        if model == "claude-long":
            text = " ".join([text] + ["more"] * 300)
        words = text.split(" ")
        for i, w in enumerate(words):
            piece = w if i == len(words) - 1 else w + " "
            events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "text_delta", "text": piece}}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
        stop = "end_turn"
        if model == "claude-tool":
            stop = "tool_use"
            events.append(("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
                "type": "tool_use", "id": "toolu_fake1", "name": "bash", "input": {}}}))
            for piece in ['{"comm', 'and": "echo hi', ' > hello.txt"}']:
                events.append(("content_block_delta", {"type": "content_block_delta", "index": 1,
                                                       "delta": {"type": "input_json_delta", "partial_json": piece}}))
            events.append(("content_block_stop", {"type": "content_block_stop", "index": 1}))
        events += [("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop,
                                                                         "stop_sequence": None},
                                      "usage": {"output_tokens": usage["output_tokens"]}}),
                   ("message_stop", {"type": "message_stop"})]
        chunks = ["event: %s\ndata: %s\n\n" % (k, json.dumps(v)) for k, v in events]
        data = "".join(chunks).encode()
        if model == "claude-long":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            try:
                self.wfile.write(chunks[0].encode())
                self.wfile.flush()
                self.wait_signal()
                for c in chunks[1:]:
                    self.wfile.write(c.encode())
                    self.wfile.flush()
                    time.sleep(0.02)
                entry["outcome"] = "sent"
            except (BrokenPipeError, ConnectionResetError):
                entry["outcome"] = "aborted"
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if model == "claude-slow":
            self.wfile.write(chunks[0].encode())
            self.wfile.flush()
            self.wait_signal()
            self.wfile.write("".join(chunks[1:]).encode())
        elif model == "claude-reset":
            self.wfile.write("".join(chunks[:3]).encode())
            self.wfile.flush()
            time.sleep(0.2)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        else:
            self.wfile.write(data)


def main():
    ap = argparse.ArgumentParser(description="fake Anthropic Messages API")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--api-key", default=os.environ.get("FAKE_ANTHROPIC_API_KEY"))
    ap.add_argument("--answer", default="Hello from the fake Anthropic API")
    ap.add_argument("--signal-file", help="what model claude-slow waits for")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.api_key, srv.answer, srv.signal_file = a.api_key, a.answer, a.signal_file
    return announce_and_serve(srv, a.port_file)


if __name__ == "__main__":
    sys.exit(main())

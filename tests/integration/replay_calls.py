#!/usr/bin/env python3
"""Checks that every tool call of a replay script went through the gate and
back, from a `corral run --out` result (docs/gate-dialects.md):

  replay_calls.py RESULT.json SCRIPT.jsonl DIALECT [N:TEXT ...]

For the n-th line of SCRIPT that makes tool calls, transcript call n must
  - be a DIALECT call, answered 200, whose response (in the agent's own
    dialect) holds that tool call: the script's name and arguments;
  - be followed by a call whose raw request answers the call's id in the
    agent's dialect (tool_result / function_call_output / functionResponse /
    tool message), and whose normalized request holds the assistant's tool
    call (same id and name, the script's arguments) and a tool message for that id; with
    N:TEXT, that tool message's text must contain TEXT (the tool really ran
    and its result reached the model).
The result's events must hold one tool_call and one tool_result per call.
Prints one line per failure; exits 1 when any.
"""
import json
import sys


def raw_calls(dialect, resp):
    """The tool calls of one response in the agent's dialect: [(id, name, args)]."""
    out = []
    if dialect == "messages":
        for b in resp.get("content") or []:
            if b.get("type") == "tool_use":
                out.append((b.get("id"), b.get("name"), b.get("input")))
    elif dialect == "responses":
        for it in resp.get("output") or []:
            if it.get("type") == "function_call":
                out.append((it.get("call_id"), it.get("name"), json.loads(it.get("arguments") or "null")))
    elif dialect == "gemini":
        for p in ((resp.get("candidates") or [{}])[0].get("content") or {}).get("parts") or []:
            fc = p.get("functionCall")
            if fc:
                out.append((fc.get("id"), fc.get("name"), fc.get("args")))
    elif dialect == "chat_completions":
        for tc in ((resp.get("choices") or [{}])[0].get("message") or {}).get("tool_calls") or []:
            f = tc.get("function") or {}
            out.append((tc.get("id"), f.get("name"), json.loads(f.get("arguments") or "null")))
    return out


def raw_answers(dialect, req):
    """The tool-call ids a raw request answers with a tool result."""
    ids = set()
    if dialect == "messages":
        for m in req.get("messages") or []:
            if isinstance(m.get("content"), list):
                ids.update(b.get("tool_use_id") for b in m["content"] if b.get("type") == "tool_result")
    elif dialect == "responses":
        ids.update(i.get("call_id") for i in req.get("input") or [] if i.get("type") == "function_call_output")
    elif dialect == "gemini":
        for c in req.get("contents") or []:
            ids.update(p["functionResponse"].get("id") for p in c.get("parts") or [] if "functionResponse" in p)
    elif dialect == "chat_completions":
        ids.update(m.get("tool_call_id") for m in req.get("messages") or [] if m.get("role") == "tool")
    return ids


def echoes(sent, args):
    """The agent's echo of a call keeps every argument (Claude Code adds defaults, e.g. replace_all)."""
    return isinstance(sent, dict) and isinstance(args, dict) and all(sent.get(k) == v for k, v in args.items())


def text_of(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def main():
    if len(sys.argv) < 4:
        print("usage: replay_calls.py RESULT.json SCRIPT.jsonl DIALECT [N:TEXT ...]")
        return 2
    d = json.load(open(sys.argv[1]))
    dialect = sys.argv[3]
    want_text = {int(a.split(":", 1)[0]): a.split(":", 1)[1] for a in sys.argv[4:]}
    script = [json.loads(l) for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")]
    steps = [s["tool_calls"] for s in script if s.get("tool_calls")]
    tr = [c for c in d.get("transcript", []) if c.get("call_kind", "agent") == "agent"]
    bad = []
    if len(tr) != len(script):
        bad.append("%d agent calls in the transcript, the script has %d lines" % (len(tr), len(script)))
    for n, calls in enumerate(steps):
        if n + 1 >= len(tr):
            bad.append("step %d: no call after it" % n)
            break
        c, nxt = tr[n], tr[n + 1]
        if c.get("dialect") != dialect or c.get("status") != 200:
            bad.append("call %d: %s %s, not %s 200" % (n, c.get("dialect"), c.get("status"), dialect))
        got = raw_calls(dialect, c.get("response") or {})
        if [(g[1], g[2]) for g in got] != [(t["name"], t["arguments"]) for t in calls]:
            bad.append("call %d: the %s response holds %s, the script says %s" %
                       (n, dialect, [(g[1], g[2]) for g in got], [(t["name"], t["arguments"]) for t in calls]))
            continue
        answered = raw_answers(dialect, nxt.get("request") or {})
        # a chat-completions call is its own normalized form
        norm = nxt.get("normalized_request") or nxt.get("request") or {}
        msgs = norm.get("messages") or []
        for (cid, name, args) in got:
            if cid not in answered:
                bad.append("call %d: the next %s request does not answer tool call %s (%s)" % (n + 1, dialect, cid, name))
            asked = [tc for m in msgs if m.get("role") == "assistant" for tc in m.get("tool_calls") or []
                     if tc.get("id") == cid]
            if len(asked) != 1 or asked[0]["function"]["name"] != name or \
                    not echoes(json.loads(asked[0]["function"]["arguments"]), args):
                bad.append("call %d: the normalized request does not hold tool call %s %s" % (n + 1, cid, name))
            results = [text_of(m.get("content")) for m in msgs if m.get("role") == "tool" and m.get("tool_call_id") == cid]
            if len(results) != 1:
                bad.append("call %d: the normalized request has %d tool results for %s" % (n + 1, len(results), cid))
            elif n in want_text and want_text[n] not in results[0]:
                bad.append("call %d: the result of %s lacks %r: %r" % (n + 1, name, want_text[n], results[0][:300]))
    kinds = [e.get("kind") for e in d.get("events", [])]
    ncalls = sum(len(s) for s in steps)
    if kinds.count("tool_call") != ncalls or kinds.count("tool_result") != ncalls:
        bad.append("events: %d tool_call, %d tool_result, the script makes %d calls" %
                   (kinds.count("tool_call"), kinds.count("tool_result"), ncalls))
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""Untrusted text in corral view's page: every string of a result (values and
keys: task names, ids, error messages, command outputs, agent events, model
messages, tool calls, egress entries) holds markup, script end tags,
javascript: URLs, comment openers and U+2028.  The page must show them as
text: the file's structure is intact (its own script elements only, no
"</script" or "<!--" inside data), nothing runs in Chromium on any view, no
link, image or event-handler attribute appears, and the planted text is
visible as typed.  Then random JSON in every field (seeded, so a failure
repeats): every view draws without an error."""
import json
import os
import random
import re

from viewlib import ARTIFACTS, Page, check, corral, finish, need_chromium, work_dir, write_jsonl

need_chromium()
W = work_dir()
PAYLOADS = [
    "</script><script>window.__pwned='script-end'</script>",
    "<script>window.__pwned='script'</script>",
    "<img src=x onerror=\"window.__pwned='img'\">",
    "<svg onload=\"window.__pwned='svg'\"></svg>",
    "javascript:window.__pwned='js-url'",
    "<!--<script>window.__pwned='comment'</script>",
    "<a href=\"javascript:window.__pwned='a'\">click</a>",
    "&lt;b&gt;&amp; \u2028\u2029 ]]> <style>*{display:none}</style> <iframe src=javascript:1>",
]


def plant(x, k=[0]):
    """x with every string (and key) replaced by the next payload."""
    def nxt():
        k[0] += 1
        return PAYLOADS[k[0] % len(PAYLOADS)] + " #%d" % k[0]
    if isinstance(x, str):
        return nxt()
    if isinstance(x, list):
        return [plant(v) for v in x]
    if isinstance(x, dict):
        return {kk if kk in KEEP_KEYS else nxt() + kk: plant(v) for kk, v in x.items()} | \
               {kk: plant(v) for kk, v in x.items() if kk in KEEP_KEYS}
    return x


# Keys the page reads stay (so that the payloads land in every field it
# shows); every other key is itself a payload.
KEEP_KEYS = {"rollout_id", "task", "dir", "name", "version", "warnings", "attempt", "task_digest", "agent",
             "status", "exit_code", "timed_out", "stderr_tail", "sandbox", "backend", "id", "verify_id",
             "reward", "error", "class", "phase", "message", "timings_ms", "setup", "verify", "command", "argv",
             "stdout", "stderr", "duration_ms", "events", "kind", "seq", "input", "output", "is_error", "content",
             "type", "text", "transcript", "request", "messages", "role", "tool_calls", "function", "arguments",
             "response", "choices", "finish_reason", "usage", "latency_ms", "token_ids", "dialect", "egress",
             "reward_source", "rewards", "tool_call_id", "reasoning_content", "tools", "stream", "thinking",
             "normalized_request", "error_message", "decision", "host"}


def result(i, task):
    call = {"seq": 1, "request_id": "x", "dialect": "chat_completions", "status": 200, "latency_ms": 12,
            "stream": False, "token_ids": [1, 2, 3],
            "request": {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                                     {"role": "assistant", "content": None, "tool_calls": [
                                         {"id": "c", "type": "function",
                                          "function": {"name": "bash", "arguments": "{\"command\": \"ls\"}"}}]},
                                     {"role": "tool", "tool_call_id": "c", "content": "out"},
                                     {"role": "user", "content": [{"type": "text", "text": "part"}]}],
                        "tools": [{"type": "function", "function": {"name": "bash"}}]},
            "response": {"choices": [{"message": {"role": "assistant", "content": "answer",
                                                  "reasoning_content": "thought",
                                                  "tool_calls": [{"id": "d", "type": "function", "function": {
                                                      "name": "write", "arguments": "not json"}}]},
                                      "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 5, "completion_tokens": 7}}}
    r = {"rollout_id": "r", "task": {"dir": "d", "name": "n", "version": "v", "warnings": ["w"]}, "attempt": i,
         "task_digest": "t", "agent": {"name": "a", "version": "v", "status": "failed", "exit_code": 1,
                                       "timed_out": False, "stderr_tail": "e"},
         "sandbox": {"backend": "b", "id": "i", "verify_id": "v"}, "reward": 0.5, "reward_source": "s",
         "rewards": {"m": 1},
         "error": {"class": "agent", "phase": "agent", "message": "m", "status": "s"},
         "timings_ms": {"load": 1, "agent": 20, "total": 30},
         "setup": [{"command": "c", "exit_code": 3, "timed_out": False, "duration_ms": 1, "stdout": "o",
                    "stderr": "e"}],
         "verify": [{"argv": ["a", "b"], "exit_code": 0, "timed_out": False, "duration_ms": 1, "stdout": "o",
                     "stderr": "e"}],
         "events": [{"kind": "assistant", "seq": 0, "content": [{"type": "text", "text": "t"},
                                                                  {"type": "toolCall", "name": "n",
                                                                   "arguments": {"k": "v"}}]},
                    {"kind": "tool_call", "seq": 1, "name": "n", "input": {"k": "v"}},
                    {"kind": "tool_result", "seq": 2, "name": "n", "is_error": True, "output": "o"},
                    {"kind": "k", "seq": 3, "text": "t"}, {"kind": "other", "seq": 4, "x": "y"}],
         "transcript": [call, dict(call, seq=2)],
         "egress": [{"host": "h", "decision": "deny", "reason": "r"}]}
    r = plant(r)
    r["attempt"], r["reward"] = i, 0.5
    r["task_digest"] = "sha256:" + "%064x" % task
    return r


docs = [result(i, t) for t in range(3) for i in range(2)]
write_jsonl(W + "/evil.jsonl", docs)
html = W + "/evil.html"
rc, out, err = corral("view", "-o", html, W + "/evil.jsonl")
check("corral view wrote the page of planted results", rc == 0, err)
page = open(html, encoding="utf-8", errors="replace").read()
n = len(docs)
check("the file holds only its own script elements: 1 index, %d details, 1 script" % n,
      len(re.findall(r"<script", page, re.I)) == n + 2 and len(re.findall(r"</script", page, re.I)) == n + 2,
      len(re.findall(r"<script", page, re.I)))
blocks = re.findall(r'<script type="application/json" id="([^"]+)">(.*?)</script>', page, re.S)
check("each data block is JSON with no '<', '>', '&', U+2028 or U+2029 in it",
      len(blocks) == n + 1 and all(not re.search("[<>&\u2028\u2029]", b) for _, b in blocks), len(blocks))
ok = True
for _, b in blocks:
    try:
        json.loads(b)
    except ValueError:
        ok = False
check("each data block parses", ok)
check("the Content-Security-Policy allows no source but the page's own script and style by hash",
      re.search(r"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                r"script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-[A-Za-z0-9+/=]+'", page) is not None)

p = Page(html)
views = ["#"] + ["#t%d" % i for i in range(3)] + ["#r%d" % i for i in range(n)]
DANGER = """(function () {
  var bad = [];
  document.querySelectorAll('*').forEach(function (e) {
    for (var i = 0; i < e.attributes.length; i++) {
      var a = e.attributes[i];
      // a handler, a URL-bearing attribute (where a javascript: URL would run) or a style
      if (/^on/i.test(a.name) || /^(href|xlink:href|src|srcdoc|action|formaction|data|style)$/i.test(a.name))
        bad.push(e.tagName + ' ' + a.name + '=' + a.value.slice(0, 60));
    }
  });
  var tags = document.querySelectorAll('a, img, iframe, object, embed, form, link, base, meta[http-equiv="refresh"]');
  if (tags.length) bad.push(tags.length + ' link/img/iframe/... elements');
  if (document.querySelectorAll('script').length !== %d) bad.push('script elements: ' + document.querySelectorAll('script').length);
  return bad;
})()""" % (n + 2)
for v in views:
    p.go(v)
    # open every folded text, so that the lazily made ones are checked too
    p.eval("document.querySelectorAll('details').forEach(function (d) { d.open = true; d.dispatchEvent(new Event('toggle')); })")
    p.eval("new Promise(function (r) { setTimeout(r, 30); })")
    bad = p.eval(DANGER)
    check("view %s: no markup from the data (handlers, URLs, links, images, scripts)" % v, bad == [], bad)
    check("view %s: nothing planted ran" % v, p.eval("window.__pwned === undefined"), p.eval("window.__pwned"))
text = p.text()
check("the egress record is a table of its entries, refused ones marked",
      p.count("table.egress tr") == 2 and p.count("table.egress tr.refused") == 1, p.count("table.egress tr"))
check("the planted text shows as typed on a rollout page",
      "</script><script>window.__pwned='script-end'</script>" in text and "<img src=x onerror=" in text
      and "javascript:window.__pwned='js-url'" in text and "&lt;b&gt;&amp;" in text, text[:1500])
p.b.screenshot(os.path.join(ARTIFACTS, "report-escaping.png"))
p.clean("planted results")
p.close()

# Random JSON where results have fields (seeded): the page draws every view.
rnd = random.Random(21)


def junk(depth=0):
    c = rnd.randrange(9 if depth < 4 else 5)
    if c == 0:
        return None
    if c == 1:
        return rnd.choice([True, False])
    if c == 2:
        return rnd.choice([0, -1, 1e308, -1e-308, 2 ** 53, 0.5, 123456789])
    if c in (3, 4):
        return "".join(rnd.choice(["a", "<", "\u2028", "\u00e9", "\U0001F600", "\\", "\"", "\n", "</script", "&"])
                       for _ in range(rnd.randrange(12)))
    if c in (5, 6):
        return [junk(depth + 1) for _ in range(rnd.randrange(4))]
    return {rnd.choice(list(KEEP_KEYS) + ["x", "<b>"]): junk(depth + 1) for _ in range(rnd.randrange(5))}


fuzz = []
for i in range(60):
    d = {k: junk() for k in rnd.sample(sorted(KEEP_KEYS), 25)}
    d["rollout_id"] = "f%d" % i
    if rnd.random() < 0.5:
        d["task_digest"], d["attempt"] = "sha256:%d" % rnd.randrange(5), rnd.randrange(3)
    fuzz.append(d)
write_jsonl(W + "/fuzz.jsonl", fuzz)
rc, out, err = corral("view", "-o", W + "/fuzz.html", W + "/fuzz.jsonl")
check("corral view takes random JSON in every field", rc == 0, err)
p = Page(W + "/fuzz.html")
nrows = p.eval("document.querySelectorAll('[id^=d]').length")
for v in ["#"] + ["#t%d" % i for i in range(p.eval("document.querySelectorAll('tr.task').length"))] + \
        ["#r%d" % i for i in range(nrows)]:
    p.go(v)
    p.eval("document.querySelectorAll('details').forEach(function (d) { d.open = true; d.dispatchEvent(new Event('toggle')); })")
failed = p.eval("document.querySelectorAll('.note').length && Array.from(document.querySelectorAll('.note'))"
                ".filter(n => /could not be drawn/.test(n.innerText)).length")
check("every view of random results drew (%d rollouts)" % nrows, nrows > 0 and not failed)
p.clean("random results")
p.close()
finish()

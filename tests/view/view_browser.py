"""corral view in a real headless Chromium: a small real run (the oracle on
three tasks, and Pi answered by a replay script when node and npm are here,
else Pi's result from such a run kept in fixtures/), its report's counts and
rewards, the task table's sorting and filters, a rollout's model calls after a
click, a comparison of two runs; no console error, network request or CSP
violation anywhere; screenshots kept in BUILD_DIR/tests/view/."""
import json
import os
import shutil
import subprocess

from viewlib import (ARTIFACTS, SOURCE_DIR, Page, check, corral, finish, need_chromium, read_results, skip,
                     work_dir, write_jsonl)

need_chromium()
if not shutil.which("bwrap"):
    skip("bubblewrap is not installed (the local sandbox runs the small run)")
W = work_dir()
EX = os.path.join(SOURCE_DIR, "examples")
T = os.path.join(SOURCE_DIR, "tests", "integration", "tasks")
os.environ.update(CORRAL_CONFIG_DIR=W + "/etc", XDG_CONFIG_HOME=W + "/xdg")
os.environ.pop("CORRAL_PLUGIN_PATH", None)
os.environ["CORRAL_PLUGIN_PATH"] = os.environ.get("CORRAL_BUILD_PLUGIN_DIR", "")

rc, out, err = corral("-q", "run", "--task", EX + "/tasks/hello", "--task", T + "/wrong_answer", "--task",
                      T + "/setup_fails", "--attempts", "2", "--concurrency", "2", "--agent", "oracle",
                      "--out", W + "/oracle.jsonl")
check("the oracle ran 3 tasks x 2 attempts (setup_fails fails: exit 1)", rc in (0, 1) and len(read_results(W + "/oracle.jsonl")) == 6, err)
pi = W + "/pi.jsonl"
if shutil.which("node") and shutil.which("npm") and shutil.which("rg"):
    rc, out, err = corral("-q", "run", "--task", EX + "/tasks/hello", "--agent", "pi", "--model",
                          "replay:" + EX + "/replay/hello.jsonl", "--out", pi)
    check("Pi ran hello with the replay script (its one result written indented)", rc == 0 and
          open(pi).read().startswith("{\n"), err)
else:
    print("# node, npm or rg missing: Pi's result comes from fixtures/pi_hello.jsonl")
    shutil.copy(os.path.join(os.path.dirname(__file__), "fixtures", "pi_hello.jsonl"), pi)
calls_expected = len(read_results(pi)[0]["transcript"])

html = W + "/report.html"
rc, out, err = corral("view", "-o", html, "oracle.jsonl", "pi.jsonl", cwd=W)
check("corral view wrote the page, named after its files", rc == 0 and "oracle.jsonl, pi.jsonl" in open(html).read() and os.path.getsize(html) > 0 and "wrote" in err, err)

p = Page(html, width=1100, height=1040)
print("# small run: ready %.0f ms after navigation, page script done at %.1f ms" % (p.seconds * 1000, p.render_ms))
cards = p.eval("Array.from(document.querySelectorAll('.card')).map(c => [c.children[0].innerText, c.children[1].innerText])")
cards = dict(cards)
# Pi's hello#0 replaces the oracle's (same digest and attempt): 6 rollouts.
check("summary: 6 rollouts, 3 tasks, 2 errors, mean reward 0.500, pass@1 0.333, 1 duplicate",
      [cards.get(k) for k in ("rollouts", "tasks", "errors", "mean reward", "pass@1", "duplicates replaced")] ==
      ["6", "3", "2", "0.500", "0.333", "1"], cards)
errs = p.text("table.errors")
check("errors by class and phase: task 2 in setup", "task\t2\t2" in errs and "setup" in errs, errs)
check("a reward histogram and 10 phase timing charts are drawn as SVG",
      p.count("svg") >= 2 and p.count("tr.phase svg") == p.eval("document.querySelectorAll('tr.phase').length") >= 8,
      p.count("svg"))
rows = p.eval("Array.from(document.querySelectorAll('tr.task')).map(r => Array.from(r.cells).slice(0, 5).map(c => c.innerText))")
check("the task table: hello 2/2 reward 1, setup_fails 2 errors, wrong_answer reward 0",
      sorted(rows) == [["hello", "2", "2", "0", "1.000"], ["setup_fails", "2", "0", "2", "–"],
                       ["wrong_answer", "2", "0", "0", "0.000"]], rows)
check("six attempt chips: 2 passed, 2 errors, 2 failed",
      [p.count(".chip.pass"), p.count(".chip.err"), p.count(".chip.fail")] == [2, 2, 2])
p.b.screenshot(os.path.join(ARTIFACTS, "report-summary.png"))  # README's picture
p.b.click("table.tasks th:nth-child(5)")  # mean reward, highest first
first = p.eval("document.querySelector('tr.task td').innerText")
check("sorting by mean reward puts hello first", first == "hello", first)
p.b.click("table.tasks th:nth-child(5)")
first = p.eval("document.querySelector('tr.task td').innerText")
check("a second click reverses it (no reward last): wrong_answer first", first == "wrong_answer", first)
p.eval("var f = document.getElementById('f-name'); f.value = 'WRONG'; f.dispatchEvent(new Event('input'))")
check("filtering by name (any case) leaves wrong_answer", p.eval(
    "Array.from(document.querySelectorAll('tr.task td:first-child')).map(c => c.innerText)") == ["wrong_answer"])
p.eval("var f = document.getElementById('f-name'); f.value = ''; f.dispatchEvent(new Event('input'));"
       "var c = document.getElementById('f-class'); c.value = 'task'; c.dispatchEvent(new Event('change'))")
check("filtering by error class task leaves setup_fails", p.eval(
    "Array.from(document.querySelectorAll('tr.task td:first-child')).map(c => c.innerText)") == ["setup_fails"])
p.eval("var c = document.getElementById('f-class'); c.value = ''; c.dispatchEvent(new Event('change'));"
       "var r = document.getElementById('f-reward'); r.value = '0.5'; r.dispatchEvent(new Event('input'))")
check("filtering by mean reward >= 0.5 leaves hello", p.eval(
    "Array.from(document.querySelectorAll('tr.task td:first-child')).map(c => c.innerText)") == ["hello"])
p.clean("the summary")

# hello's first attempt is Pi's: click its chip.
p.eval("var r = document.getElementById('f-reward'); r.value = ''; r.dispatchEvent(new Event('input'))")
p.eval("Array.from(document.querySelectorAll('tr.task')).find(r => r.cells[0].innerText == 'hello')"
       ".querySelector('.chip').click()")
p.eval("new Promise(r => setTimeout(r, 50))")
check("a click on an attempt opens its rollout", p.eval("location.hash").startswith("#r"), p.eval("location.hash"))
check("the rollout page shows each of its %d model calls" % calls_expected, p.count(".call") == calls_expected,
      p.count(".call"))
app = p.text()
check("the first call shows the user's request and the bash tool call answered",
      "Create a file named `hello.txt`" in app and "→ bash" in app and "printf 'Hello, world!" in app, app[:2000])
check("each call says latency, tokens and whether token ids are present",
      p.count(".call .tokenids") == calls_expected and "latency" in app and "token ids absent" in app)
check("the second call folds the messages carried over from the first", "earlier messages as in the call before" in app)
check("the agent's events are listed (tool call and result)", p.count(".ev") == len(read_results(pi)[0]["events"])
      and "tool_result" in app, p.count(".ev"))
check("the result fields: agent pi, reward source, verify command", "pi " in app and "reward.txt" in app
      and "/tests/test.sh" in app)
long_text = p.eval("document.querySelectorAll('.call details').length")
check("the long system prompt is folded", long_text >= 1 and "characters" in app)
p.b.screenshot(os.path.join(ARTIFACTS, "report-rollout.png"))
p.clean("Pi's rollout")

p.go("#")
p.eval("Array.from(document.querySelectorAll('tr.task')).find(r => r.cells[0].innerText == 'setup_fails')"
       ".querySelector('button.link').click()")
p.eval("new Promise(r => setTimeout(r, 50))")
check("the task page lists its 2 attempts", p.count("table.attempts tr") == 3, p.text())
p.b.click("table.attempts button.link")
p.eval("new Promise(r => setTimeout(r, 50))")
app = p.text()
check("a failed setup: the error, each command's exit code and stderr",
      "task in setup" in app and "exit 3" in app and "oops" in app and "no model calls recorded" in app, app[:1500])
p.clean("a failed rollout")
p.close()

# Two runs: B is A with wrong_answer's rewards made 1 (its one change).
a = read_results(W + "/oracle.jsonl")
b = [dict(d, reward=1.0) if d["task"]["name"] == "wrong_answer" else d for d in a]
# and hello's attempt 0 in B had an egress policy: its record as the egress proxy writes it
EGRESS = [{"phase": "agent", "host": "pypi.org", "port": 443, "decision": "allow", "rule": "rules[0]",
           "method": "CONNECT", "bytes": 48213},
          {"phase": "agent", "host": "evil.test", "port": 80, "decision": "deny", "rule": "default",
           "method": "GET", "path": "/x", "bytes": 0}]
b = [dict(d, egress=EGRESS) if d["task"]["name"] == "hello" and d["attempt"] == 0 else d for d in b]
write_jsonl(W + "/a.jsonl", a)
write_jsonl(W + "/b.jsonl", b)
rc, out, err = corral("view", "-o", W + "/cmp.html", "--compare", W + "/a.jsonl", W + "/b.jsonl")
check("corral view --compare wrote the page", rc == 0, err)
p = Page(W + "/cmp.html")
p.go("#compare")
app = p.text()
check("the comparison: 1 task improved, 2 unchanged, mean reward 0.3333 -> 0.6667",
      "1 tasks improved, 0 regressed, 2 unchanged" in app and "0.3333" in app and "0.6667" in app, app[:1500])
d = p.eval("Array.from(document.querySelectorAll('tr.ctask')).map(r => [r.cells[0].innerText, r.cells[3].innerText])")
check("wrong_answer's reward delta is +1.000, the others' 0", sorted(d) ==
      [["hello", "0.000"], ["setup_fails", "–"], ["wrong_answer", "+1.000"]], d)
p.go("#")
check("the task table of the compared run has a delta column",
      "+1.000" in p.text("table.tasks"), p.text("table.tasks"))
p.eval("Array.from(document.querySelectorAll('tr.task')).find(r => r.cells[0].innerText == 'hello')"
       ".querySelector('.chip').click()")
p.eval("new Promise(r => setTimeout(r, 50))")
app = p.text()
check("a rollout's egress decisions: a table, the refused one marked",
      "Egress decisions (2 entries: allow 1, deny 1)" in app and p.count("table.egress tr.refused") == 1 and
      "evil.test" in p.text("table.egress tr.refused"), app[-1500:])
p.clean("the comparison")
p.close()
shutil.rmtree(W, ignore_errors=True)
finish()

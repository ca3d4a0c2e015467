"""corral view of a synthetic run of 10,000 rollouts (tests/view/synth.py) in
headless Chromium: the counts match what the report library says of the same
file, the task table draws 100 rows and pages on, the name filter and the
last rollout's calls work, no console error or network request.  The time
to render is printed, never asserted (tests/bench/view_render.py measures
it against a baseline)."""
import json
import os

import synth
from viewlib import ARTIFACTS, Page, check, corral, finish, need_chromium, work_dir

need_chromium()
W = work_dir()
N = 10000
synth.write(W + "/big.jsonl", N)
rc, out, err = corral("report", "--json", W + "/big.jsonl")
summary = json.loads(out)
rc, out, err = corral("view", "-o", W + "/big.html", W + "/big.jsonl")
check("corral view wrote the page of 10,000 rollouts", rc == 0, err)
p = Page(W + "/big.html")
print("# 10,000 rollouts: ready %.0f ms after navigation, page script done at %.1f ms" % (p.seconds * 1000, p.render_ms))
cards = dict(p.eval("Array.from(document.querySelectorAll('.card')).map(c => [c.children[0].innerText, c.children[1].innerText])"))
check("the summary's counts are corral report's",
      [cards.get("rollouts"), cards.get("tasks"), cards.get("errors"), cards.get("mean reward"), cards.get("pass@8")] ==
      [str(N), str(summary["tasks"]), str(summary["errors"]["total"]), "%.3f" % summary["reward"]["mean"],
       "%.3f" % summary["pass_at_k"]["8"]], (cards, summary["errors"], summary["reward"]))
errs = p.text("table.errors")
rows = dict((r[0], r[-1]) for r in p.eval(
    "Array.from(document.querySelectorAll('table.errors tr')).slice(1).map(r => Array.from(r.cells).map(c => c.innerText))"))
check("errors by class: the report's counts", rows == {k: str(v) for k, v in summary["errors"]["by_class"].items()},
      (rows, summary["errors"]))
check("the task table draws the first 100 of 1250 tasks and offers more", p.count("tr.task") == 100 and
      p.text("table.tasks + .filters") == "show 100 more", p.text("table.tasks + .filters"))
p.b.click("table.tasks + .filters button")
check("'show more' draws 100 more", p.count("tr.task") == 200, p.count("tr.task"))
p.eval("var f = document.getElementById('f-name'); f.value = 'task-0042'; f.dispatchEvent(new Event('input'))")
check("the name filter finds task-0042 and its 8 attempts", p.count("tr.task") == 1 and p.count("tr.task .chip") == 8)
p.go("#r%d" % (N - 1))
check("the last rollout opens with its 2 model calls and 3 events", p.count(".call") == 2 and p.count(".ev") == 3,
      [p.count(".call"), p.count(".ev")])
check("its second call says token ids are present", "token ids present (3)" in p.text(), p.text()[:800])
p.b.screenshot(os.path.join(ARTIFACTS, "report-large.png"))
p.clean("10,000 rollouts")
p.close()
finish()

"""corral view at scale: a synthetic run of 10,000 rollouts (1,250 tasks x 8
attempts, each with agent events and two model calls), made into a page by
`corral view`, opened in headless Chromium.  Prints the page's size, the time
`corral view` took, the time from navigation to the first full render (the
page's own performance.now() once drawn, and the wall time seen over the
DevTools pipe), and the time to open one rollout; the baseline, measured in
the same run, is a page of 80 rollouts made the same way.  Numbers only:
nothing here passes or fails on time.  The issue's goal is a render under 2 s.

    python3 tests/bench/view_render.py build/bin/corral [ROLLOUTS]
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "view"))
import cdp  # noqa: E402

corral = sys.argv[1] if len(sys.argv) > 1 else "corral"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
attempts = 8
work = tempfile.mkdtemp(prefix="corral-view-bench-")


def measure(n, label):
    rnd = random.Random(1)
    path = os.path.join(work, "results-%d.jsonl" % n)
    PHASES = ["load", "gate", "create", "hydrate", "setup", "agent", "verify", "destroy"]
    with open(path, "w") as f:
        for i in range(n):
            task, att = divmod(i, attempts)
            err = None
            r = rnd.random()
            if r < 0.03:
                err = {"class": "infrastructure", "phase": "create", "message": "sandbox create failed", "status": "transient failure"}
            elif r < 0.08:
                err = {"class": "agent", "phase": "agent", "message": "agent timed out after 900 s", "status": "timed out"}
            reward = None if err else float(rnd.random() < 0.4 + 0.5 * (task % 7) / 7)
            t = {p: int(rnd.lognormvariate(3 if p != "agent" else 9, 1)) for p in PHASES}
            t["total"] = sum(t.values())
            msgs = [{"role": "system", "content": "You are a coding agent. " * 20},
                    {"role": "user", "content": "Fix the failing test in task %d." % task}]
            call1 = {"seq": 1, "dialect": "chat_completions", "status": 200, "latency_ms": rnd.randrange(200, 4000),
                     "request": {"messages": msgs},
                     "response": {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [
                         {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{\"command\":\"pytest -x\"}"}}]},
                         "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 812, "completion_tokens": 31}}}
            msgs2 = msgs + [call1["response"]["choices"][0]["message"],
                            {"role": "tool", "tool_call_id": "c1", "content": "1 failed, 12 passed\n" * 5}]
            call2 = {"seq": 2, "dialect": "chat_completions", "status": 200, "latency_ms": rnd.randrange(200, 4000),
                     "request": {"messages": msgs2}, "token_ids": [1, 2, 3],
                     "response": {"choices": [{"message": {"role": "assistant", "content": "Fixed it."},
                                               "finish_reason": "stop"}], "usage": {"prompt_tokens": 901, "completion_tokens": 4}}}
            doc = {"rollout_id": "r-%016x" % i, "task": {"dir": "tasks/t%04d" % task, "name": "task-%04d" % task},
                   "attempt": att, "task_digest": "sha256:%064x" % task,
                   "agent": {"name": "pi", "version": "0.73.1", "status": "failed" if err else "success", "exit_code": 0,
                             "timed_out": False, "stderr_tail": ""},
                   "sandbox": {"backend": "docker", "id": "docker-%x" % i}, "reward": reward, "error": err,
                   "timings_ms": t, "setup": [], "verify": [{"argv": ["/bin/bash", "/tests/test.sh"], "exit_code": 0,
                                                              "timed_out": False, "duration_ms": 900, "stdout": "ok\n", "stderr": ""}],
                   "events": [{"kind": "tool_call", "seq": 0, "name": "bash", "input": {"command": "pytest -x"}},
                              {"kind": "tool_result", "seq": 1, "name": "bash", "is_error": False, "output": "1 failed"},
                              {"kind": "done", "seq": 2}],
                   "transcript": [call1, call2]}
            if reward is not None:
                doc["reward_source"] = "reward.txt"
            f.write(json.dumps(doc) + "\n")
    html = os.path.join(work, "report-%d.html" % n)
    t0 = time.monotonic()
    subprocess.run([corral, "view", "-o", html, path], check=True, stderr=subprocess.DEVNULL)
    gen = time.monotonic() - t0
    print("%s: rollouts: %d; results file %.1f MB; page %.1f MB; corral view took %.2f s" %
          (label, n, os.path.getsize(path) / 1e6, os.path.getsize(html) / 1e6, gen))
    renders = []
    for i in range(3):
        b = cdp.Browser()
        wall = b.open("file://" + html)
        render = float(b.eval("document.documentElement.getAttribute('data-render-ms')"))
        tasks = b.eval("document.querySelectorAll('tr.task').length")
        t1 = time.monotonic()
        b.eval("location.hash = '#r%d'" % (n - 1))
        b.eval("new Promise(r => requestAnimationFrame(() => r()))")
        opened = time.monotonic() - t1
        calls = b.eval("document.querySelectorAll('.call').length")
        errors = b.console_errors()
        b.close()
        print("run %d: rendered at %.0f ms (page clock), ready after %.0f ms (wall, from navigation); "
              "%d task rows drawn; last rollout opened in %.0f ms with %d calls; console errors: %d" %
              (i + 1, render, wall * 1000, tasks, opened * 1000, calls, len(errors)))
        renders.append(render)
    return sorted(renders)[1]


base = measure(80, "baseline")
big = measure(n, "run")
print("median render: %.0f ms for %d rollouts, %.0f ms for 80: %.1fx" % (big, n, base, big / base))

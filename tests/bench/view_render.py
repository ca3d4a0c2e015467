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
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "view"))
import cdp  # noqa: E402
import synth  # noqa: E402

corral = sys.argv[1] if len(sys.argv) > 1 else "corral"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
attempts = 8
work = tempfile.mkdtemp(prefix="corral-view-bench-")


def measure(n, label):
    path = os.path.join(work, "results-%d.jsonl" % n)
    synth.write(path, n, attempts)
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

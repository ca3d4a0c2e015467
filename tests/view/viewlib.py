"""Shared by the corral view browser tests: TAP-style checks, running the
corral CLI, and a Chromium page with the checks every report must pass (no
console error, no network request, no CSP violation, no dialog)."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402

CORRAL = os.environ.get("CORRAL", "corral")
SOURCE_DIR = os.environ.get("SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.environ.get("BUILD_DIR", ".")
ARTIFACTS = os.path.join(BUILD_DIR, "tests", "view")
_run = 0
_failed = 0


def check(desc, cond, detail=""):
    global _run, _failed
    _run += 1
    if cond:
        print("ok - " + desc)
    else:
        _failed += 1
        print("not ok - " + desc)
        if detail:
            print("  " + str(detail)[:3000].replace("\n", "\n  "))
    return cond


def finish():
    print("%d passed, %d failed" % (_run - _failed, _failed))
    sys.exit(1 if _failed else 0)


def skip(why):
    if os.environ.get("CORRAL_REQUIRE_BACKENDS"):
        print("not ok - " + why)
        sys.exit(1)
    print("skipped: " + why)
    sys.exit(77)


def need_chromium():
    if not cdp.find_chromium():
        skip("chromium is not installed (scripts/install-deps installs it)")


def work_dir():
    d = tempfile.mkdtemp(prefix="corral-view-")
    os.makedirs(ARTIFACTS, exist_ok=True)
    return d


def corral(*args, stdin=None, cwd=None):
    """Run the CLI; returns (rc, stdout, stderr)."""
    p = subprocess.run([CORRAL] + list(args), input=stdin, capture_output=True, text=True, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def write_jsonl(path, docs):
    with open(path, "w") as f:
        for d in docs:
            f.write(json.dumps(d) + "\n")


def read_results(path):
    """One pretty document (a single `corral run`) or JSONL."""
    text = open(path).read()
    try:
        return [json.loads(text)]
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


class Page:
    """A browser with the report open; `clean(what)` checks what every page must."""

    def __init__(self, html, width=1280, height=900):
        self.url = "file://" + os.path.abspath(html)
        self.b = cdp.Browser(width=width, height=height)
        self.seconds = self.b.open(self.url)
        self.render_ms = float(self.b.eval("document.documentElement.getAttribute('data-render-ms')") or -1)

    def eval(self, expr):
        return self.b.eval(expr)

    def go(self, hash_):
        self.b.eval("location.hash = %s" % json.dumps(hash_))
        self.b.eval("new Promise(function (r) { setTimeout(r, 30); })")

    def text(self, selector="#app"):
        return self.b.eval("(document.querySelector(%s) || {innerText: ''}).innerText" % json.dumps(selector))

    def count(self, selector):
        return self.b.eval("document.querySelectorAll(%s).length" % json.dumps(selector))

    def clean(self, what):
        self.b.pump(0.2)
        errors = self.b.console_errors()
        check(what + ": no console error or exception", not errors, errors)
        others = [u for u in self.b.requests() if u != self.url and not u.startswith(self.url + "#")]
        check(what + ": no network request but the file itself", not others, others)
        csp = self.b.eval("window.__csp")
        check(what + ": no Content-Security-Policy violation", csp == [], csp)
        check(what + ": no dialog opened", not self.b.dialogs(), self.b.dialogs())

    def close(self):
        self.b.close()

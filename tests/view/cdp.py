"""A headless Chromium driven over the DevTools protocol, stdlib only.

Chromium runs with --remote-debugging-pipe: it reads NUL-terminated JSON
commands on its fd 3 and writes NUL-terminated JSON answers and events on its
fd 4.  One page (target) is attached in flat mode; everything the page does
that a test cares about is recorded as it arrives: console messages,
uncaught exceptions, log entries, network requests, dialogs, and the
Content-Security-Policy violations the page reports.
"""
import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium():
    for n in CHROMIUM_NAMES:
        p = shutil.which(n)
        if p:
            return p
    return None


class CDPError(Exception):
    pass


class Browser:
    def __init__(self, width=1280, height=900, timeout=60):
        exe = find_chromium()
        if not exe:
            raise CDPError("no chromium")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="corral-cdp-")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        # Out of the way of 3 and 4 before the child puts them there; close
        # on exec, so that only the dup2'ed 3 and 4 reach Chromium.
        hi_r2, hi_w2 = fcntl_dupfd(to_child_r, 10), fcntl_dupfd(from_child_w, 10)
        os.close(to_child_r), os.close(from_child_w)

        def child():
            os.dup2(hi_r2, 3)
            os.dup2(hi_w2, 4)

        args = [exe, "--headless", "--remote-debugging-pipe", "--user-data-dir=" + self.profile,
                "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
                "--disable-background-networking", "--disable-sync", "--disable-component-update",
                "--disable-dev-shm-usage", "--mute-audio", "--window-size=%d,%d" % (width, height)]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        args.append("about:blank")
        env = dict(os.environ)
        for k in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            env.pop(k, None)
        self.proc = subprocess.Popen(args, close_fds=False, preexec_fn=child, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(hi_r2), os.close(hi_w2)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for m in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            self.call(m)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        # Runs before the page's own script, whatever its CSP says.
        self.call("Page.addScriptToEvaluateOnNewDocument", {"source":
                  "window.__csp=[];document.addEventListener('securitypolicyviolation',"
                  "function(e){window.__csp.push(e.violatedDirective+' '+e.blockedURI)});"})

    def _send(self, msg):
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self.to_child, data)
            data = data[n:]

    def _read_one(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("chromium did not answer in time")
            r, _, _ = select.select([self.from_child], [], [], left)
            if r:
                chunk = os.read(self.from_child, 1 << 20)
                if not chunk:
                    raise CDPError("chromium closed its pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, timeout=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        self._send(msg)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            m = self._read_one(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise CDPError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)
                if m["method"] == "Page.javascriptDialogOpening":
                    # Answer it, or the page would hang; the test sees the event.
                    self._send({"id": 10 ** 9 + len(self.events), "method": "Page.handleJavaScriptDialog",
                                "params": {"accept": False}, "sessionId": self.session})

    def pump(self, seconds):
        """Collect events for a while."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                m = self._read_one(deadline)
                if "method" in m:
                    self.events.append(m)
        except CDPError as e:
            if "in time" not in str(e):
                raise

    def eval(self, expr, timeout=None):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True},
                      timeout=timeout)
        if "exceptionDetails" in r:
            raise CDPError("evaluating %r: %s" % (expr, json.dumps(r["exceptionDetails"])[:500]))
        return r["result"].get("value")

    def open(self, url, ready="!!document.documentElement && document.documentElement.getAttribute('data-ready') === '1'", timeout=60):
        """Navigate and wait until `ready` is true; returns seconds taken."""
        t0 = time.monotonic()
        self.call("Page.navigate", {"url": url})
        while not self.eval(ready):
            if time.monotonic() - t0 > timeout:
                raise CDPError("the page was not ready after %d s" % timeout)
            time.sleep(0.02)
        return time.monotonic() - t0

    def click(self, selector):
        ok = self.eval("(function(){var e=document.querySelector(%s); if(!e) return false; e.click(); return true;})()"
                       % json.dumps(selector))
        if not ok:
            raise CDPError("nothing matches %s" % selector)

    def screenshot(self, path, full=False):
        params = {"format": "png"}
        if full:
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", params)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    # What the page did, from the recorded events.
    def console_errors(self):
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
                out.append("console.%s: %s" % (p["type"], " ".join(str(a.get("value", a.get("description")))
                                                                  for a in p.get("args", []))))
            elif e["method"] == "Runtime.exceptionThrown":
                out.append("exception: %s" % json.dumps(p.get("exceptionDetails"))[:500])
            elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
                out.append("log: %s" % p["entry"].get("text"))
        return out

    def requests(self):
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    def dialogs(self):
        return [e["params"].get("message") for e in self.events if e["method"] == "Page.javascriptDialogOpening"]

    def close(self):
        try:
            self._send({"id": 0, "method": "Browser.close"})
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_child)
        os.close(self.from_child)
        shutil.rmtree(self.profile, ignore_errors=True)


def fcntl_dupfd(fd, lowest):
    import fcntl
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, lowest)

#!/usr/bin/env python3
"""A faithful fake of the Hugging Face Jobs API plus the hf-sandbox 0.1
sandbox server, reached through the Jobs proxy (docs/backends/hf.md).

Two listeners on 127.0.0.1 port 0; the ports go to stdout as one JSON line
and to --port-file: {"hub": P1, "proxy": P2, "pid": PID}.

hub (https://huggingface.co):
  POST /api/jobs/{ns}                 run a Job   -> JobInfo
  GET  /api/jobs/{ns}                 list Jobs   -> [JobInfo]
  GET  /api/jobs/{ns}/{id}            inspect     -> JobInfo
  POST /api/jobs/{ns}/{id}/cancel     cancel
  GET  /api/jobs/{ns}/{id}/logs       logs (plain text)
  Authorization: Bearer <HF token> (env HF_FAKE_TOKEN, default hf_test_token).

proxy (https://<job_id>--8000.hf.jobs, here http://127.0.0.1:P2/<job_id>):
  checks Authorization: Bearer <HF token>, then speaks the sandbox server:
  GET /health (no sandbox token) -> {"ok": true}
  POST /exec {cmd, workdir, stdin, timeout} -> {rc, stdout, stderr}
  POST /write {path, content_b64 | content} -> {ok: true}
  POST /read {path} -> {content_b64}
  X-Sandbox-Token must equal the job's HF_SANDBOX_TOKEN secret: wrong -> 401
  {"detail": "Unauthorized"}, missing -> 422.
  The successor server's routes (huggingface/sandbox-server) are served too:
  POST /v1/exec {cmd, env, cwd, timeout, stdin} -> NDJSON events start /
  stdout / stderr / ping / exit{exit_code, signal, timed_out, duration_ms};
  GET /v1/files/read?path= (raw), PUT /v1/files/write?path=&mode= (raw body,
  parents created); a wrong X-Sandbox-Token -> 403 {"error": ..}, checked only
  when the job's SBX_TOKEN secret is set (as sandbox-server does).

The fake does not execute the job's bootstrap command: a job "starts" the
sandbox server in-process, with a temp dir standing for the container's
root; commands run under bubblewrap with that root as "/" (host /usr and
/etc read-only), with the job's environment and secrets as env.

Admin (hub listener): POST /_fault (same shape as the Islo fake), POST /_fault/clear,
POST /_config {"ready_delay_ms": .., "exec_delay_ms": ..},
POST /_job/<id>/stage {"stage": "ERROR"}, GET /_state, GET /_log.
"""
import argparse
import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import sandbox_root  # noqa: E402  (tests/fakes/sandbox_root.py)
import faults  # noqa: E402  (tests/fakes/faults.py: seeded random faults, off by default)

LOCK = threading.RLock()
TOKEN = os.environ.get("HF_FAKE_TOKEN", "hf_test_token")
CFG = {"ready_delay_ms": 200}
JOBS = {}
FAULTS = []
RANDOM = faults.RandomFaults()  # CORRAL_FAKE_FAULTS / --faults
LOG = []
BASE = tempfile.mkdtemp(prefix="hf-fake-")
BWRAP = sandbox_root.usable_bwrap("HF_FAKE_NO_BWRAP", ("workspace", "root"))
STAGES_DONE = ("COMPLETED", "CANCELED", "ERROR", "DELETED")


class Reset(Exception):
    pass


def take_fault(method, path):
    with LOCK:
        for f in FAULTS:
            if (f.get("method") and f["method"] != method) or not re.search(f["path"], path) or f["left"] <= 0:
                continue
            f["left"] -= 1
            return dict(f)
    return None


def make_root(root):
    """Lay out a job's root (sandbox_root.py) with the container's own directories."""
    sandbox_root.make_root(root, ("workspace", "root"))


def host_path(job, p):
    """Map an absolute in-sandbox path into the job's root, symlinks
    resolved inside it (sandbox_root.host_path); None if not absolute."""
    return sandbox_root.host_path(job["root"], p)


def job_view(j):
    return {"id": j["id"], "createdAt": j["createdAt"], "dockerImage": j.get("dockerImage"),
            "spaceId": j.get("spaceId"), "command": j["command"], "arguments": j["arguments"],
            "environment": j["environment"], "secrets": {k: None for k in j["secrets"]}, "flavor": j["flavor"],
            "labels": j.get("labels"), "status": {"stage": j["stage"], "message": j.get("message")},
            "owner": {"id": "5e9e0000", "name": j["ns"], "type": "user"}}


def cancel(j, stage="CANCELED"):
    j["stage"] = stage
    for p in j["procs"]:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    sandbox_root.kill_marked(j["root"])  # and what they started in other sessions
    shutil.rmtree(j["root"], ignore_errors=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    role = "hub"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, obj=None, raw=None, ctype="application/json"):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with LOCK:
            LOG.append([self.command, self.path, status])

    def reset(self):
        with LOCK:
            LOG.append([self.command, self.path, "reset"])
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        self.close_connection = True
        raise Reset()

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        self.raw = raw
        try:
            v = json.loads(raw or b"{}")
            return v if isinstance(v, dict) else None
        except ValueError:
            return None

    def hf_authed(self):
        if self.headers.get("Authorization", "") != "Bearer " + TOKEN:
            self.send(401, {"error": "Invalid credentials in Authorization header"})
            return False
        return True

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def dispatch(self, method):
        path = urlsplit(self.path).path
        self.query = parse_qs(urlsplit(self.path).query)
        body = self.body() if method in ("POST", "PUT") else {}
        try:
            if path.startswith("/_"):
                if self.role != "hub":
                    return self.send(404, {"error": "not found"})
                if path == "/_faults":
                    return self.send(200, RANDOM.summary())
                return self.admin(method, path, body)
            f = take_fault(method, path) or RANDOM.pick(method, path)
            if f and f.get("delay_ms"):
                time.sleep(f["delay_ms"] / 1000.0)
            if f and f.get("reset_mode") == "before":
                self.reset()
            if f and f.get("status"):
                return self.send(f["status"], f.get("body") or {"error": "injected fault"})
            out = {}
            real = self.send
            self.send = lambda *a, **k: out.update(a=a, k=k)
            try:
                (self.hub if self.role == "hub" else self.proxy)(method, path, body)
            finally:
                self.send = real
            ex = re.fullmatch(r"/([^/]+)/(v1/)?exec", path)
            if ex and method == "POST" and self.role != "hub":
                RANDOM.note_exec(ex.group(1), path, json.dumps(body, sort_keys=True), f)
            if f and f.get("reset_mode") == "after":
                self.reset()
            self.send(*out.get("a", (500, {"error": "no answer"})), **out.get("k", {}))
        except (Reset, BrokenPipeError):
            return

    # ---- Jobs API ----
    def hub(self, method, path, body):
        m = re.fullmatch(r"/api/jobs/([^/]+)(?:/([^/]+)(?:/(cancel|logs))?)?", path)
        if not m:
            return self.send(404, {"error": "Sorry, we can't find the page you are looking for."})
        if not self.hf_authed():
            return
        ns, jid, op = unquote(m.group(1)), m.group(2), m.group(3)
        with LOCK:
            if jid is None and method == "POST":
                return self.run_job(ns, body)
            if jid is None and method == "GET":
                return self.send(200, [job_view(j) for j in JOBS.values() if j["ns"] == ns])
            j = JOBS.get(jid)
            if j is None or j["ns"] != ns:
                return self.send(404, {"error": "Job not found"})
            if op is None and method == "GET":
                return self.send(200, job_view(j))
            if op == "cancel" and method == "POST":
                if j["stage"] not in STAGES_DONE:
                    cancel(j)
                return self.send(200, {})
            if op == "logs" and method == "GET":
                return self.send(200, raw=b"data: {\"data\": \"sandbox server listening on 0.0.0.0:8000\"}\n\n",
                                 ctype="text/event-stream")
        return self.send(405, {"error": "method not allowed"})

    def run_job(self, ns, b):
        if b is None:
            return self.send(400, {"error": "Invalid JSON body"})
        if not (isinstance(b.get("dockerImage"), str) or isinstance(b.get("spaceId"), str)):
            return self.send(400, {"error": "dockerImage or spaceId is required"})
        cmd = b.get("command")
        if not isinstance(cmd, list) or not cmd or any(not isinstance(c, str) for c in cmd):
            return self.send(400, {"error": "command must be a non-empty array of strings"})
        for k in ("environment", "secrets", "labels"):
            v = b.get(k, {})
            if not isinstance(v, dict) or any(not isinstance(x, str) for x in v.values()):
                return self.send(400, {"error": "%s must map strings to strings" % k})
        if "HF_SANDBOX_TOKEN" not in (b.get("secrets") or {}):
            # a job that is not a sandbox server: accepted, but it serves nothing
            pass
        jid = secrets.token_hex(12)
        root = tempfile.mkdtemp(prefix=jid + "-", dir=BASE)
        make_root(root)
        JOBS[jid] = {"id": jid, "ns": ns, "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                     "dockerImage": b.get("dockerImage"), "spaceId": b.get("spaceId"), "command": cmd,
                     "arguments": b.get("arguments", []), "environment": b.get("environment") or {},
                     "secrets": b.get("secrets") or {}, "flavor": b.get("flavor", "cpu-basic"),
                     "labels": b.get("labels"), "timeoutSeconds": b.get("timeoutSeconds"), "stage": "RUNNING",
                     "root": root, "procs": [],
                     "ready_at": time.time() + CFG["ready_delay_ms"] / 1000.0, "started": time.time()}
        return self.send(200, job_view(JOBS[jid]))

    # ---- the Jobs proxy in front of the sandbox server ----
    def proxy(self, method, path, body):
        parts = path.split("/", 2)
        if len(parts) < 3:
            return self.send(404, {"error": "not found"})
        jid, sub = parts[1], "/" + parts[2]
        if not self.hf_authed():
            return
        with LOCK:
            j = JOBS.get(jid)
            if j and j.get("timeoutSeconds") and time.time() > j["started"] + j["timeoutSeconds"] and \
                    j["stage"] == "RUNNING":
                cancel(j, "COMPLETED")
        if not j or j["stage"] != "RUNNING" or time.time() < j["ready_at"]:
            return self.send(502, raw=b"Bad Gateway", ctype="text/plain")
        if sub == "/health" and method == "GET":
            return self.send(200, {"ok": True})
        if sub.startswith("/v1/"):
            return self.v1(j, method, sub, body)
        tok = self.headers.get("X-Sandbox-Token")
        if tok is None:
            return self.send(422, {"detail": [{"loc": ["header", "x-sandbox-token"], "msg": "field required",
                                               "type": "value_error.missing"}]})
        if tok != j["secrets"].get("HF_SANDBOX_TOKEN"):
            return self.send(401, {"detail": "Unauthorized"})
        if body is None:
            return self.send(422, {"detail": [{"loc": ["body"], "msg": "invalid JSON", "type": "value_error"}]})
        if sub == "/exec" and method == "POST":
            return self.sb_exec(j, body)
        if sub == "/write" and method == "POST":
            hp = host_path(j, body.get("path"))
            if hp is None:
                return self.send(500, raw=b"Internal Server Error", ctype="text/plain")
            try:
                data = base64.b64decode(body["content_b64"], validate=True) if "content_b64" in body \
                    else body["content"].encode()
                with open(hp, "wb") as f:
                    f.write(data)
            except (OSError, KeyError, ValueError, AttributeError):
                return self.send(500, raw=b"Internal Server Error", ctype="text/plain")
            return self.send(200, {"ok": True})
        if sub == "/read" and method == "POST":
            hp = host_path(j, body.get("path"))
            if hp is None or not os.path.isfile(hp):
                return self.send(404, {"detail": "file not found: %s" % body.get("path")})
            with open(hp, "rb") as f:
                return self.send(200, {"content_b64": base64.b64encode(f.read()).decode()})
        return self.send(404, {"detail": "Not Found"})

    # ---- the successor server (huggingface/sandbox-server) ----
    def v1(self, j, method, sub, body):
        # sandbox-server checks X-Sandbox-Token only when SBX_TOKEN is set
        # (HF_SANDBOX_TOKEN is hf-sandbox 0.1's name, unknown to it).
        want = j["secrets"].get("SBX_TOKEN")
        if want is not None and self.headers.get("X-Sandbox-Token") != want:
            return self.send(403, {"error": "forbidden"})
        q = lambda k: (self.query.get(k) or [None])[0]
        if sub == "/v1/files/read" and method == "GET":
            hp = host_path(j, q("path"))
            if hp is None or not os.path.isfile(hp):
                return self.send(404, {"error": "not found: %s" % q("path")})
            with open(hp, "rb") as f:
                return self.send(200, raw=f.read(), ctype="application/octet-stream")
        if sub == "/v1/files/write" and method == "PUT":
            hp = host_path(j, q("path"))
            if hp is None:
                return self.send(400, {"error": "bad path"})
            try:
                os.makedirs(os.path.dirname(hp), exist_ok=True)
                with open(hp, "wb") as f:
                    f.write(self.raw)
                if q("mode"):
                    os.chmod(hp, int(q("mode"), 8))
            except (OSError, ValueError) as e:
                return self.send(500, {"error": str(e)})
            return self.send(200, {"path": q("path"), "size": len(self.raw)})
        if sub == "/v1/exec" and method == "POST":
            if body is None:
                return self.send(400, {"error": "invalid JSON"})
            cmd = body.get("cmd")
            if isinstance(cmd, str):
                cmd = ["/bin/sh", "-c", cmd]
            if not isinstance(cmd, list) or not cmd or any(not isinstance(c, str) for c in cmd):
                return self.send(400, {"error": "missing 'cmd' (string or array of strings)"})
            cwd = body.get("cwd") or "/"
            if host_path(j, cwd) is None or not os.path.isdir(host_path(j, cwd)):
                return self.send(400, {"error": "failed to spawn '%s': bad cwd" % cmd[0]})
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root"}
            env.update(j["environment"])
            env.update(j["secrets"])  # the container's environment, the token included
            env.update(body.get("env") or {})
            sandbox_root.mark_env(env, j["root"])
            argv = cmd
            if BWRAP:
                argv = sandbox_root.bwrap_argv(BWRAP, j["root"], cwd, cmd)
            t0 = time.time()
            p = subprocess.Popen(argv, cwd=j["root"] if BWRAP else host_path(j, cwd), env=env,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 start_new_session=True)
            with LOCK:
                j["procs"].append(p)
            timed_out = False
            try:
                out, err = p.communicate(input=(body.get("stdin") or "").encode(), timeout=body.get("timeout"))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)  # the whole group, as sandbox-server does
                out, err = p.communicate()
                timed_out = True
            rc = p.returncode
            lines = [{"event": "start", "pid": p.pid}]
            if out:
                lines.append({"event": "stdout", "data": out.decode("utf-8", "replace")})
            if err:
                lines.append({"event": "stderr", "data": err.decode("utf-8", "replace")})
            lines.append({"event": "ping"})
            lines.append({"event": "exit", "exit_code": rc if rc >= 0 else None, "signal": -rc if rc < 0 else None,
                          "timed_out": timed_out, "duration_ms": int((time.time() - t0) * 1000)})
            return self.send(200, raw="".join(json.dumps(x) + "\n" for x in lines).encode(),
                             ctype="application/x-ndjson")
        return self.send(404, {"error": "not found"})

    def sb_exec(self, j, body):
        cmd = body.get("cmd")
        if not isinstance(cmd, list) or not cmd or any(not isinstance(c, str) for c in cmd):
            return self.send(500, raw=b"Internal Server Error", ctype="text/plain")
        wd = body.get("workdir") or "/root"
        if host_path(j, wd) is None or not os.path.isdir(host_path(j, wd)):
            return self.send(500, raw=b"Internal Server Error", ctype="text/plain")
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root"}
        env.update(j["environment"])
        env.update(j["secrets"])
        sandbox_root.mark_env(env, j["root"])
        argv = cmd
        if BWRAP:
            argv = sandbox_root.bwrap_argv(BWRAP, j["root"], wd, cmd)
        else:
            env["HOME"] = host_path(j, "/root")
        stdin = body.get("stdin")
        try:
            p = subprocess.Popen(argv, cwd=j["root"] if BWRAP else host_path(j, wd), env=env,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 start_new_session=True)
        except OSError:
            return self.send(500, raw=b"Internal Server Error", ctype="text/plain")
        with LOCK:
            j["procs"].append(p)
        try:
            out, err = p.communicate(input=(stdin or "").encode(), timeout=int(body.get("timeout", 600)))
        except subprocess.TimeoutExpired:
            p.kill()  # the direct child only, as the real server does
            p.communicate()
            return self.send(200, {"rc": -1, "stdout": "", "stderr": "timeout"})
        if BWRAP and p.returncode == 1 and err.startswith(b"bwrap: execvp"):
            return self.send(500, raw=b"Internal Server Error", ctype="text/plain")
        # hf-sandbox answers Python's returncode: -N for a command killed by
        # signal N.  bwrap folds that death into 128+N, so it is unfolded
        # here (an explicit exit 129..192 then reads as a signal too).
        rc = p.returncode
        if BWRAP and 128 < rc <= 128 + 64:
            rc = 128 - rc
        return self.send(200, {"rc": rc, "stdout": out.decode("utf-8", "replace"),
                               "stderr": err.decode("utf-8", "replace")})

    # ---- admin ----
    def admin(self, method, path, body):
        body = body or {}
        with LOCK:
            if path == "/_fault" and method == "POST":
                f = {"path": body.get("path", ".*"), "method": body.get("method")}
                if "reset" in body:
                    f.update(reset_mode="before", left=int(body["reset"]))
                elif "reset_after" in body:
                    f.update(reset_mode="after", left=int(body["reset_after"]))
                else:
                    f.update(status=body.get("status"), body=body.get("body"), delay_ms=body.get("delay_ms"),
                             left=int(body.get("count", 1)))
                FAULTS.append(f)
                return self.send(200, {"ok": True})
            if path == "/_fault/clear" and method == "POST":
                FAULTS.clear()
                return self.send(200, {"ok": True})
            if path == "/_config" and method == "POST":
                CFG.update(body)
                return self.send(200, CFG)
            m = re.fullmatch(r"/_job/([^/]+)/stage", path)
            if m and method == "POST" and m.group(1) in JOBS:
                JOBS[m.group(1)]["stage"] = body["stage"]
                return self.send(200, job_view(JOBS[m.group(1)]))
            if path == "/_state":
                return self.send(200, {"jobs": {i: dict(job_view(j), secrets=j["secrets"],
                                                        timeoutSeconds=j["timeoutSeconds"], root=j["root"])
                                                for i, j in JOBS.items()},
                                       "running": sum(1 for j in JOBS.values() if j["stage"] == "RUNNING")})
            if path == "/_log":
                return self.send(200, LOG)
        return self.send(404, {"error": "not found"})


def serve(role):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), type("H" + role, (Handler,), {"role": role}))
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--faults", help="seeded random faults (faults.py), e.g. rate=0.2,seed=7")
    ap.add_argument("--port-file")
    args = ap.parse_args()
    if args.faults:
        RANDOM.__init__(args.faults)
    hub, proxy = serve("hub"), serve("proxy")
    line = json.dumps({"hub": hub.server_address[1], "proxy": proxy.server_address[1], "pid": os.getpid()})
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(line + "\n")
        os.rename(args.port_file + ".tmp", args.port_file)
    print(line, flush=True)

    def stop(*_):
        with LOCK:
            for j in JOBS.values():
                if j["stage"] == "RUNNING":
                    cancel(j)
                else:
                    sandbox_root.kill_marked(j["root"])
        shutil.rmtree(BASE, ignore_errors=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A faithful fake of the Islo sandbox API (docs/backends/islo.md).

Two listeners on 127.0.0.1 port 0, as the real service has two hosts:
  control: POST /auth/token, /gateway/profiles* (profiles and rules CRUD)
  compute: /sandboxes* (CRUD, pause/resume/stop, exec + result polling,
           single-file IO, files-archive tar.gz download/upload)
A route asked of the wrong host answers 404, so a client that mixes the two
base URLs fails.  The ports are printed as one JSON line on stdout and, with
--port-file, written there: {"control": P1, "compute": P2, "pid": PID}.

State is real: each sandbox owns a temp dir standing for its root ("/" inside
the sandbox maps to <root>/), files live there, and exec runs the argv on
this host (no shell added) in its own process group under bubblewrap with
that root as "/" (host /usr and /etc read-only), so absolute paths in
commands and in the files API agree.  Without bwrap (or with
ISLO_FAKE_NO_BWRAP=1) commands run on the host with only cwd mapped.

Fault injection (test-controlled), on the control listener only:
  POST /_fault  {"path": "<regex>", "method": "POST"?, "status": 503,
                 "count": N, "body": {...}?}        -> next N matches answer status
                {"path":..., "reset": N}            -> next N matches: connection reset
                {"path":..., "reset_after": N}      -> next N matches: do the work,
                                                       then reset (a lost response)
                {"path":..., "delay_ms": D, "count": N} -> slow answers
  POST /_config {"token_max_age": 600, "ready_delay_ms": 200,
                 "delete_delay_ms": 300, "exec_max_s": 0, "expire_tokens": true,
                 "exec_status": "failed"}           -> knobs
  POST /_sandbox/<name>/status {"status": "paused"}  -> force a state
  GET  /_state                                       -> whole state as JSON
  GET  /_log                                         -> requests seen
"""
import argparse
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import sandbox_root  # noqa: E402  (tests/fakes/sandbox_root.py)
import faults  # noqa: E402  (tests/fakes/faults.py: seeded random faults, off by default)

LOCK = threading.RLock()
API_KEY = os.environ.get("ISLO_FAKE_API_KEY", "ak_test_key")
CFG = {
    "image_dirs": ["workspace", "var/tmp", "home/islo"],  # the image's own directories (tests drop some)
    "token_max_age": 600,
    "ready_delay_ms": 200,
    "delete_delay_ms": 300,
    "exec_max_s": 0,          # server-side exec limit -> status "timeout" (0 = none)
    "exec_status": None,      # force the terminal status of the next execs
}
TOKENS = {}                   # token -> expiry (epoch seconds)
SANDBOXES = {}                # name -> dict
RESERVED = {}                 # name -> release time (async teardown)
PROFILES = {}                 # id -> dict (with "rules": [..])
EXECS = {}                    # exec_id -> dict
FAULTS = []                   # list of dicts
RANDOM = faults.RandomFaults()  # CORRAL_FAKE_FAULTS / --faults
LOG = []                      # [method, path, status]
BASE = tempfile.mkdtemp(prefix="islo-fake-")


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def err(code, message, **extra):
    d = {"code": code, "message": message, "request_id": "req_" + secrets.token_hex(6)}
    d.update(extra)
    return d


class Reset(Exception):
    pass


def take_fault(method, path):
    with LOCK:
        for f in FAULTS:
            if f.get("method") and f["method"] != method:
                continue
            if not re.search(f["path"], path):
                continue
            if f["left"] <= 0:
                continue
            f["left"] -= 1
            return dict(f)
    return None


def sandbox_view(sb):
    refresh(sb)
    d = {
        "id": sb["id"], "name": sb["name"], "image": sb["image"], "status": sb["status"],
        "created_at": sb["created_at"], "created_by": "fake-user", "workdir": sb["workdir"],
        "spec": {"vcpus": sb.get("vcpus", 2), "memory_mb": sb.get("memory_mb", 4096),
                 "disk_gb": sb.get("disk_gb", 10)},
    }
    if sb.get("lifecycle"):
        d["lifecycle"] = sb["lifecycle"]
    return d


def refresh(sb):
    """Advance time-driven transitions (starting -> running)."""
    if sb["status"] == "starting" and time.time() >= sb["ready_at"]:
        sb["status"] = "running"


def host_path(sb, p):
    """Map an absolute in-sandbox path into the sandbox root, symlinks
    resolved inside it (sandbox_root.host_path); None if not absolute."""
    return sandbox_root.host_path(sb["root"], p)


def reap_reserved():
    t = time.time()
    for n in [n for n, until in RESERVED.items() if until <= t]:
        del RESERVED[n]


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def destroy_sandbox(sb):
    for ex in EXECS.values():
        if ex["sandbox"] == sb["name"] and ex["status"] == "running" and ex.get("proc"):
            kill_group(ex["proc"])
    sandbox_root.kill_marked(sb["root"])  # and what they started in other sessions
    shutil.rmtree(sb["root"], ignore_errors=True)


BWRAP = sandbox_root.usable_bwrap("ISLO_FAKE_NO_BWRAP", tuple(CFG["image_dirs"]))


def make_root(root):
    """Lay out a sandbox root (sandbox_root.py) with Islo's own directories."""
    sandbox_root.make_root(root, tuple(CFG["image_dirs"]))


def sandboxed(sb, argv, workdir):
    """The argv that runs `argv` with the sandbox root as / (bubblewrap)."""
    return sandbox_root.bwrap_argv(BWRAP, sb["root"], workdir, argv) if BWRAP else argv


def run_exec(ex, sb, argv, cwd, env, limit):
    try:
        proc = subprocess.Popen(sandboxed(sb, argv, ex["workdir"]), cwd=cwd,
                                env=sandbox_root.mark_env(dict(env), sb["root"]), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except (OSError, ValueError) as e:
        with LOCK:
            ex.update(status="failed", exit_code=None, stderr=str(e))
        return
    ex["proc"] = proc
    try:
        out, errb = proc.communicate(timeout=limit if limit else None)
        timed_out = False
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, errb = proc.communicate()
        timed_out = True
    cap = 1 << 20
    with LOCK:
        trunc = len(out) > cap or len(errb) > cap
        ex.update(stdout=out[:cap].decode("utf-8", "replace"), stderr=errb[:cap].decode("utf-8", "replace"),
                  truncated=trunc)
        forced = CFG.get("exec_status")
        if timed_out:
            ex.update(status="timeout", exit_code=None)
        elif BWRAP and proc.returncode == 1 and errb.startswith(b"bwrap: execvp"):
            ex.update(status="failed", exit_code=None)
        elif forced:
            ex.update(status=forced, exit_code=None if forced != "completed" else proc.returncode)
        else:
            rc = proc.returncode
            ex.update(status="completed", exit_code=rc if rc >= 0 else 128 - rc)


def multipart_file(ctype, body):
    """The bytes of the one part named `file` of a multipart/form-data body."""
    m = re.search(r'boundary="?([^";]+)"?', ctype or "")
    if not m:
        return None
    b = b"--" + m.group(1).encode()
    for part in body.split(b)[1:]:
        if part.startswith(b"--"):
            break
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        if re.search(rb'name="file"', head):
            return data[:-2] if data.endswith(b"\r\n") else data
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    role = "compute"

    def log_message(self, fmt, *args):
        pass

    # ---- plumbing -------------------------------------------------------
    def send(self, status, obj=None, raw=None, ctype="application/json", headers=None):
        body = raw if raw is not None else (b"" if obj is None else json.dumps(obj).encode())
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(0 if status == 204 else len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if status != 204:
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

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                line = self.rfile.readline().strip()
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return data
        return self.rfile.read(n) if n else b""

    def json_body(self, raw):
        try:
            v = json.loads(raw or b"{}")
        except ValueError:
            return None
        return v if isinstance(v, dict) else None

    def authed(self):
        h = self.headers.get("Authorization", "")
        if not h.startswith("Bearer "):
            self.send(401, err("AUTH_REQUIRED", "missing bearer token"))
            return False
        tok = h[7:]
        with LOCK:
            exp = TOKENS.get(tok)
        if exp is None:
            self.send(401, err("AUTH_TOKEN_INVALID", "invalid token"))
            return False
        if exp <= time.time():
            self.send(401, err("AUTH_TOKEN_EXPIRED", "token expired"))
            return False
        return True

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def dispatch(self, method):
        u = urlsplit(self.path)
        path, q = u.path, parse_qs(u.query)
        raw = self.read_body()
        try:
            if path.startswith("/_"):
                if self.role != "control":
                    return self.send(404, {"detail": "Not Found"})
                if path == "/_faults":
                    return self.send(200, RANDOM.summary())
                return self.admin(method, path, raw)
            f = take_fault(method, path) or RANDOM.pick(method, path)
            if f and f.get("delay_ms"):
                time.sleep(f["delay_ms"] / 1000.0)
            if f and f.get("reset_mode") == "before":
                self.reset()
            if f and f.get("status"):
                return self.send(f["status"], f.get("body") or err("INTERNAL_ERROR", "injected fault"))
            routed = self.route(method, path, q, raw)
            ex = re.fullmatch(r"/sandboxes/([^/]+)/exec", path)
            if ex and method == "POST":
                body = self.json_body(raw)
                safe = isinstance(body, dict) and faults.rerun_safe(body.get("command"))
                RANDOM.note_exec(ex.group(1), "exec", raw, f, safe)
            if f and f.get("reset_mode") == "after":
                self.reset()
            routed()
        except Reset:
            return
        except BrokenPipeError:
            return

    def route(self, method, path, q, raw):
        """Do the work now and return a closure that sends the answer (so an
        injected reset_after can lose the answer after the state changed)."""
        out = {}

        def deferred(*a, **k):
            out["a"], out["k"] = a, k

        real_send, self.send = self.send, deferred
        try:
            self.handle_api(method, path, q, raw)
        finally:
            self.send = real_send
        a = out.get("a", (500, err("INTERNAL_ERROR", "no answer")))
        k = out.get("k", {})
        return lambda: self.send(*a, **k)

    # ---- API ------------------------------------------------------------
    def handle_api(self, method, path, q, raw):
        if self.role == "control":
            if path == "/auth/token" and method == "POST":
                return self.auth_token(raw)
            if path.startswith("/gateway/profiles"):
                if not self.authed():
                    return
                return self.gateway(method, path, raw)
            return self.send(404, {"detail": "Not Found"})
        if not path.startswith("/sandboxes"):
            return self.send(404, {"detail": "Not Found"})
        if not self.authed():
            return
        parts = [unquote(p) for p in path.split("/")[2:]]
        if parts == [] or parts == [""]:
            if method == "GET":
                return self.list_sandboxes(q)
            if method == "POST":
                return self.create_sandbox(raw)
            return self.send(405, {"detail": "Method Not Allowed"})
        name = parts[0]
        with LOCK:
            reap_reserved()
            sb = SANDBOXES.get(name)
        if sb is None:
            return self.send(404, err("SANDBOX_NOT_FOUND", "Sandbox '%s' not found" % name))
        rest = parts[1:]
        if rest == [] and method == "GET":
            with LOCK:
                return self.send(200, sandbox_view(sb))
        if rest == [] and method == "DELETE":
            return self.delete_sandbox(sb)
        if len(rest) == 1 and method == "POST" and rest[0] in ("pause", "resume", "stop"):
            return self.transition(sb, rest[0])
        if rest[:1] == ["exec"]:
            return self.exec_route(sb, method, rest[1:], raw)
        if rest == ["files"]:
            return self.files(sb, method, q, raw)
        if rest == ["files-archive"]:
            return self.archive(sb, method, q, raw)
        return self.send(404, {"detail": "Not Found"})

    def auth_token(self, raw):
        body = self.json_body(raw)
        if body is None or not isinstance(body.get("access_key"), str):
            return self.send(422, {"detail": [{"loc": ["body", "access_key"], "msg": "field required",
                                               "type": "value_error.missing"}]})
        if body["access_key"] != API_KEY:
            return self.send(401, err("AUTH_TOKEN_INVALID", "invalid access key"))
        tok = "jwt-" + secrets.token_hex(12)
        with LOCK:
            age = int(CFG["token_max_age"])
            TOKENS[tok] = time.time() + age
        return self.send(200, {"session_token": tok, "cookie_max_age": age})

    def list_sandboxes(self, q):
        prefix = (q.get("name_prefix") or [""])[0]
        statuses = q.get("status") or []
        limit = int((q.get("limit") or ["50"])[0])
        offset = int((q.get("offset") or ["0"])[0])
        with LOCK:
            items = [sandbox_view(s) for n, s in sorted(SANDBOXES.items()) if n.startswith(prefix)]
        if statuses:
            items = [i for i in items if i["status"] in statuses]
        page = items[offset:offset + limit]
        return self.send(200, {"items": page, "total": len(items), "limit": limit, "offset": offset})

    def create_sandbox(self, raw):
        body = self.json_body(raw)
        if body is None:
            return self.send(400, err("INVALID_REQUEST", "body must be a JSON object"))
        for k, v in body.items():
            if v is None:
                return self.send(422, {"detail": [{"loc": ["body", k], "msg": "none is not an allowed value",
                                                   "type": "type_error.none.not_allowed"}]})
        name = body.get("name") or "sb-" + secrets.token_hex(4)
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", name):
            return self.send(400, err("VALIDATION_ERROR", "invalid sandbox name '%s'" % name))
        env = body.get("env") or {}
        if not isinstance(env, dict) or any(not isinstance(v, (str, type(None))) for v in env.values()):
            return self.send(400, err("VALIDATION_ERROR", "env must map strings to strings"))
        with LOCK:
            reap_reserved()
            if name in SANDBOXES or name in RESERVED:
                return self.send(409, err("SANDBOX_ALREADY_EXISTS", "Sandbox '%s' already exists" % name))
            gp = body.get("gateway_profile")
            if gp is not None and not any(p["id"] == gp or p["name"] == gp for p in PROFILES.values()):
                return self.send(400, err("INVALID_REQUEST", "gateway profile '%s' not found" % gp))
            prof = None
            if gp is not None:
                prof = next(p["id"] for p in PROFILES.values() if p["id"] == gp or p["name"] == gp)
            root = tempfile.mkdtemp(prefix=name + "-", dir=BASE)
            workdir = body.get("workdir") or "/workspace"
            if not workdir.startswith("/"):
                workdir = "/workspace/" + workdir
            make_root(root)
            os.makedirs(os.path.join(root, workdir.lstrip("/")), exist_ok=True)
            sb = {
                "id": str(uuid.uuid4()), "name": name, "image": body.get("image") or "islo/default:latest",
                "status": "starting", "created_at": now_iso(), "workdir": workdir, "root": root,
                "env": {k: v for k, v in env.items() if v is not None}, "gateway_profile": prof,
                "internet_enabled": body.get("internet_enabled"), "lifecycle": body.get("lifecycle"),
                "vcpus": body.get("vcpus"), "memory_mb": body.get("memory_mb"), "disk_gb": body.get("disk_gb"),
                "ready_at": time.time() + CFG["ready_delay_ms"] / 1000.0, "body": body,
            }
            SANDBOXES[name] = sb
            return self.send(200, sandbox_view(sb))

    def delete_sandbox(self, sb):
        with LOCK:
            destroy_sandbox(sb)
            del SANDBOXES[sb["name"]]
            # Teardown is asynchronous: the name stays reserved and the profile in use.
            RESERVED[sb["name"]] = time.time() + CFG["delete_delay_ms"] / 1000.0
            if sb.get("gateway_profile"):
                PENDING_PROFILE_USE.append((sb["gateway_profile"], RESERVED[sb["name"]]))
        return self.send(204)

    def transition(self, sb, op):
        with LOCK:
            refresh(sb)
            st = sb["status"]
            if op == "pause":
                if st != "running":
                    return self.send(409, err("SANDBOX_INVALID_STATE", "cannot pause a %s sandbox" % st))
                sb["status"] = "paused"
                return self.send(200, sandbox_view(sb))
            if op == "stop":
                if st not in ("running", "paused"):
                    return self.send(409, err("SANDBOX_INVALID_STATE", "cannot stop a %s sandbox" % st))
                for ex in EXECS.values():
                    if ex["sandbox"] == sb["name"] and ex.get("proc") and ex["status"] == "running":
                        kill_group(ex["proc"])
                sb["status"] = "stopped"
                return self.send(204)
            if st not in ("paused", "stopped"):
                return self.send(409, err("SANDBOX_INVALID_STATE", "cannot resume a %s sandbox" % st))
            sb["status"] = "starting"
            sb["ready_at"] = time.time() + CFG["ready_delay_ms"] / 1000.0
            return self.send(200, sandbox_view(sb))

    def require_running(self, sb):
        with LOCK:
            refresh(sb)
            if sb["status"] != "running":
                self.send(409, err("SANDBOX_INVALID_STATE", "sandbox is %s" % sb["status"]))
                return False
        return True

    def exec_route(self, sb, method, rest, raw):
        if rest == [] and method == "POST":
            body = self.json_body(raw)
            cmd = body.get("command") if body else None
            if not isinstance(cmd, list) or not cmd or any(not isinstance(c, str) for c in cmd):
                return self.send(400, err("INVALID_REQUEST", "command must be a non-empty list of strings"))
            if not self.require_running(sb):
                return
            wd = host_path(sb, body.get("workdir") or sb["workdir"])
            if wd is None or not os.path.isdir(wd):
                return self.send(400, err("INVALID_REQUEST", "workdir does not exist"))
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/home/islo", "ISLO_SANDBOX": sb["name"]}
            if not BWRAP:
                env.update(PATH=os.environ.get("PATH", "/usr/bin:/bin"), HOME=os.path.join(sb["root"], "home/islo"))
            env.update(sb["env"])
            for k, v in (body.get("env") or {}).items():
                if v is None:
                    env.pop(k, None)
                else:
                    env[k] = v
            ex = {"exec_id": "ex_" + secrets.token_hex(8), "sandbox": sb["name"], "status": "running",
                  "stdout": "", "stderr": "", "exit_code": None, "truncated": False, "body": body,
                  "workdir": body.get("workdir") or sb["workdir"]}
            with LOCK:
                EXECS[ex["exec_id"]] = ex
            limit = CFG["exec_max_s"] or None
            threading.Thread(target=run_exec, args=(ex, sb, cmd, wd, env, limit), daemon=True).start()
            return self.send(200, {"exec_id": ex["exec_id"], "sandbox_id": sb["id"], "status": "running"})
        if len(rest) == 1 and method == "GET":
            with LOCK:
                ex = EXECS.get(rest[0])
                if ex is None or ex["sandbox"] != sb["name"]:
                    return self.send(404, err("RESOURCE_NOT_FOUND", "exec not found"))
                return self.send(200, {k: ex[k] for k in ("exec_id", "status", "stdout", "stderr", "exit_code",
                                                         "truncated")})
        return self.send(404, {"detail": "Not Found"})

    def files(self, sb, method, q, raw):
        p = (q.get("path") or [""])[0]
        hp = host_path(sb, p)
        if hp is None:
            return self.send(400, err("INVALID_REQUEST", "path must be absolute inside the sandbox"))
        if not self.require_running(sb):
            return
        if method == "GET":
            if not os.path.isfile(hp):
                return self.send(404, err("FILE_NOT_FOUND", "File not found: %s" % p))
            with open(hp, "rb") as f:
                return self.send(200, raw=f.read(), ctype="application/octet-stream")
        if method == "POST":
            data = multipart_file(self.headers.get("Content-Type"), raw)
            if data is None:
                return self.send(422, {"detail": [{"loc": ["body", "file"], "msg": "field required",
                                                   "type": "value_error.missing"}]})
            if not os.path.isdir(os.path.dirname(hp)):
                return self.send(400, err("FILE_OPERATION_ERROR", "parent directory does not exist: %s" % p))
            with open(hp, "wb") as f:
                f.write(data)
            return self.send(200, {"status": "uploaded"})
        return self.send(405, {"detail": "Method Not Allowed"})

    def archive(self, sb, method, q, raw):
        p = (q.get("path") or [""])[0]
        hp = host_path(sb, p)
        if hp is None:
            return self.send(400, err("INVALID_REQUEST", "path must be absolute inside the sandbox"))
        if not self.require_running(sb):
            return
        if method == "GET":
            if not os.path.isdir(hp):
                return self.send(404, err("FILE_NOT_FOUND", "Directory not found: %s" % p))
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as t:
                for entry in sorted(os.listdir(hp)):
                    t.add(os.path.join(hp, entry), arcname=entry)
            return self.send(200, raw=buf.getvalue(), ctype="application/gzip")
        if method == "POST":
            data = multipart_file(self.headers.get("Content-Type"), raw)
            if data is None:
                return self.send(422, {"detail": [{"loc": ["body", "file"], "msg": "field required",
                                                   "type": "value_error.missing"}]})
            try:
                t = tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")
                members = t.getmembers()
            except (tarfile.TarError, OSError, EOFError) as e:
                return self.send(400, err("FILE_OPERATION_ERROR", "not a tar.gz archive: %s" % e))
            for m in members:
                dest = os.path.normpath(os.path.join(hp, m.name))
                if m.name.startswith("/") or not (dest == hp or dest.startswith(hp + "/")):
                    return self.send(400, err("FILE_OPERATION_ERROR", "unsafe member %s" % m.name))
                if m.issym() or m.islnk():
                    base = os.path.dirname(dest) if m.issym() else hp
                    target = os.path.normpath(os.path.join(base, m.linkname))
                    if m.linkname.startswith("/") or not (target == hp or target.startswith(hp + "/")):
                        return self.send(400, err("FILE_OPERATION_ERROR", "unsafe link %s" % m.name))
            os.makedirs(hp, exist_ok=True)
            t.extractall(hp, filter="tar") if hasattr(tarfile, "data_filter") else t.extractall(hp)
            return self.send(200, {"status": "extracted"})
        return self.send(405, {"detail": "Method Not Allowed"})

    # ---- gateway profiles (control) ----------------------------------------
    def gateway(self, method, path, raw):
        parts = [unquote(p) for p in path.split("/")[3:]]
        body = self.json_body(raw) if method in ("POST", "PATCH") else {}
        if body is None:
            return self.send(422, {"detail": [{"loc": ["body"], "msg": "invalid JSON", "type": "value_error"}]})
        with LOCK:
            if parts in ([], [""]):
                if method == "GET":
                    return self.send(200, [profile_view(p) for p in PROFILES.values()])
                if method == "POST":
                    if not isinstance(body.get("name"), str):
                        return self.send(422, {"detail": [{"loc": ["body", "name"], "msg": "field required",
                                                           "type": "value_error.missing"}]})
                    if any(p["name"] == body["name"] for p in PROFILES.values()):
                        return self.send(409, err("INVALID_REQUEST", "profile name already exists"))
                    if body.get("default_action", "allow") not in ("allow", "deny"):
                        return self.send(422, {"detail": [{"loc": ["body", "default_action"],
                                                           "msg": "must be allow or deny", "type": "value_error"}]})
                    p = {"id": "gp_" + secrets.token_hex(6), "name": body["name"],
                         "description": body.get("description"),
                         "default_action": body.get("default_action", "allow"),
                         "internet_enabled": bool(body.get("internet_enabled", True)),
                         "is_default": bool(body.get("is_default", False)), "rules": [],
                         "created_at": now_iso(), "updated_at": now_iso()}
                    PROFILES[p["id"]] = p
                    GATEWAY_LOG.append({"op": "create_profile", "profile": p["name"],
                                        "default_action": p["default_action"]})
                    return self.send(200, profile_view(p))
                return self.send(405, {"detail": "Method Not Allowed"})
            p = PROFILES.get(parts[0])
            if p is None:
                return self.send(404, {"detail": "profile not found"})
            if len(parts) == 1:
                if method == "GET":
                    v = profile_view(p)
                    v["rules"] = p["rules"]
                    return self.send(200, v)
                if method == "DELETE":
                    if profile_in_use(p["id"]):
                        return self.send(409, err("INVALID_REQUEST", "profile is in use by a sandbox"))
                    del PROFILES[p["id"]]
                    return self.send(204)
                if method == "PATCH":
                    if body.get("default_action", "allow") not in ("allow", "deny"):
                        return self.send(422, {"detail": [{"loc": ["body", "default_action"],
                                                           "msg": "must be allow or deny", "type": "value_error"}]})
                    for k in ("name", "description", "default_action", "internet_enabled", "is_default"):
                        if k in body:
                            p[k] = body[k]
                    GATEWAY_LOG.append({"op": "patch_profile", "profile": p["name"], "body": dict(body)})
                    return self.send(200, profile_view(p))
                return self.send(405, {"detail": "Method Not Allowed"})
            if parts[1] != "rules":
                return self.send(404, {"detail": "Not Found"})
            if len(parts) == 2 and method == "POST":
                why = rule_error(body)
                if why:
                    return self.send(422, {"detail": [{"loc": ["body", why[0]], "msg": why[1], "type": "value_error"}]})
                hp = body.get("host_pattern")
                if not isinstance(hp, str) or not hp:
                    return self.send(422, {"detail": [{"loc": ["body", "host_pattern"], "msg": "field required",
                                                       "type": "value_error.missing"}]})
                if body.get("action", "allow") not in ("allow", "deny"):
                    return self.send(422, {"detail": [{"loc": ["body", "action"], "msg": "must be allow or deny",
                                                       "type": "value_error"}]})
                for k, v in body.items():
                    if v is None:
                        return self.send(422, {"detail": [{"loc": ["body", k], "msg": "none is not allowed",
                                                           "type": "type_error"}]})
                r = {"id": "gr_" + secrets.token_hex(6), "priority": body.get("priority", 100), "host_pattern": hp,
                     "action": body.get("action", "allow")}
                for k in ("path_pattern", "methods", "rate_limit_rpm", "provider_key"):
                    if k in body:
                        r[k] = body[k]
                p["rules"].append(r)
                p["rules"].sort(key=lambda x: x["priority"])
                GATEWAY_LOG.append({"op": "add_rule", "profile": p["name"], "rule": dict(body)})
                return self.send(200, r)
            if len(parts) == 3:
                r = next((r for r in p["rules"] if r["id"] == parts[2]), None)
                if r is None:
                    return self.send(404, {"detail": "rule not found"})
                if method == "DELETE":
                    p["rules"].remove(r)
                    GATEWAY_LOG.append({"op": "delete_rule", "profile": p["name"], "host_pattern": r["host_pattern"]})
                    return self.send(204)
                if method == "PATCH":
                    r.update({k: v for k, v in body.items() if k != "id"})
                    return self.send(200, r)
            return self.send(405, {"detail": "Method Not Allowed"})

    # ---- admin ------------------------------------------------------------
    def admin(self, method, path, raw):
        body = self.json_body(raw) or {}
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
            if path == "/_fault" and method == "DELETE":
                FAULTS.clear()
                return self.send(200, {"ok": True})
            if path == "/_config" and method == "POST":
                if body.pop("expire_tokens", False):
                    for t in TOKENS:
                        TOKENS[t] = 0
                CFG.update(body)
                return self.send(200, CFG)
            m = re.fullmatch(r"/_sandbox/([^/]+)/status", path)
            if m and method == "POST":
                sb = SANDBOXES.get(m.group(1))
                if not sb:
                    return self.send(404, {"detail": "no such sandbox"})
                sb["status"] = body["status"]
                return self.send(200, sandbox_view(sb))
            if path == "/_state":
                return self.send(200, {
                    "sandboxes": {n: dict(sandbox_view(s), env=s["env"], root=s["root"], body=s["body"],
                                          gateway_profile=s["gateway_profile"]) for n, s in SANDBOXES.items()},
                    "profiles": {i: dict(profile_view(p), rules=p["rules"]) for i, p in PROFILES.items()},
                    "gateway_log": GATEWAY_LOG,
                    "execs": {i: {k: v for k, v in e.items() if k != "proc"} for i, e in EXECS.items()},
                    "tokens_issued": len(TOKENS)})
            if path == "/_log":
                return self.send(200, LOG)
        return self.send(404, {"detail": "Not Found"})


PENDING_PROFILE_USE = []      # (profile id, until): async sandbox teardown keeps the profile busy
GATEWAY_LOG = []              # every accepted rule add/delete and profile patch, in order (for tests)
HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"}
RULE_KEYS = {"host_pattern", "path_pattern", "methods", "action", "rate_limit_rpm", "priority", "provider_key",
             "auth_strategy", "content_filter"}


def rule_error(body):
    """(field, message) when the gateway would refuse a rule body, else None."""
    for k in body:
        if k not in RULE_KEYS:
            return (k, "extra fields not permitted")
    m = body.get("methods")
    if m is not None and (not isinstance(m, list) or not m or
                          not all(isinstance(x, str) and x in HTTP_METHODS for x in m)):
        return ("methods", "must be a non-empty list of upper-case HTTP methods")
    rl = body.get("rate_limit_rpm")
    if rl is not None and (isinstance(rl, bool) or not isinstance(rl, int) or rl < 1):
        return ("rate_limit_rpm", "must be a positive integer")
    pp = body.get("path_pattern")
    if pp is not None and (not isinstance(pp, str) or not pp.startswith("/")):
        return ("path_pattern", "must start with '/'")
    pr = body.get("priority")
    if pr is not None and (isinstance(pr, bool) or not isinstance(pr, int)):
        return ("priority", "must be an integer")
    return None


def profile_in_use(pid):
    t = time.time()
    PENDING_PROFILE_USE[:] = [(p, u) for p, u in PENDING_PROFILE_USE if u > t]
    if any(p == pid for p, _ in PENDING_PROFILE_USE):
        return True
    return any(s.get("gateway_profile") == pid for s in SANDBOXES.values())


def profile_view(p):
    v = {k: p[k] for k in ("id", "name", "default_action", "internet_enabled", "is_default", "created_at",
                           "updated_at")}
    if p.get("description"):
        v["description"] = p["description"]
    v["rule_count"] = len(p["rules"])
    return v


def serve(role):
    cls = type("H" + role, (Handler,), {"role": role})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), cls)
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
    c, s = serve("control"), serve("compute")
    info = {"control": c.server_address[1], "compute": s.server_address[1], "pid": os.getpid()}
    line = json.dumps(info)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(line + "\n")
        os.rename(tmp, args.port_file)
    print(line, flush=True)

    def stop(*_):
        with LOCK:
            for sb in SANDBOXES.values():
                destroy_sandbox(sb)
        shutil.rmtree(BASE, ignore_errors=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()

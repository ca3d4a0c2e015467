#!/usr/bin/env python3
"""A faithful fake of the E2B control plane (REST) and envd (Connect RPC over
HTTP/1.1 with the JSON codec), for testing corral's e2b plugin offline.

Wire reference: docs/backends/e2b.md (from the E2B OpenAPI spec, envd's
process/filesystem protos and handlers).  One listener serves both
planes: control-plane paths (/sandboxes, /v2/sandboxes) and envd paths
(/process.Process/*, /filesystem.Filesystem/*, /files) do not collide;
/health is the API's unless the request carries envd routing
(E2b-Sandbox-Id header or a 49983-<id>.<domain> Host).

Processes really run, as host subprocesses.  Each sandbox has a private
directory that stands for its root (a microVM has its own file system);
when bubblewrap works, processes run with that directory as "/" (host /usr
and /etc read-only, see ../sandbox_root.py) and envd's standard PATH,
otherwise only the cwd and the file APIs are mapped.  Like envd, a started process is NOT put into its own
process group (envd's Go handler sets no Setpgid); clients that need group
kills create their own session.  Destroying a sandbox kills every process
whose environment carries its id (the stand-in for the VM going away).

Usage: fake_e2b.py [--port N] [--port-file F] [--api-key K]
Prints "PORT=<n>" on stdout once listening.  Test-only admin endpoints live
under /_fake/ (no auth): see handle_admin().
"""
import argparse
import base64
import ipaddress
import json
import os
import random
import secrets
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import sandbox_root  # noqa: E402  (tests/fakes/sandbox_root.py)
import faults  # noqa: E402  (tests/fakes/faults.py: seeded random faults, off by default)

RANDOM = faults.RandomFaults()  # CORRAL_FAKE_FAULTS / --faults

ENVD_PORT = 49983
ENVD_VERSION = "0.6.13"
CLIENT_ID = "6532622b"
MAX_TIMEOUT_S = 24 * 3600
ID_ALPHABET = string.ascii_lowercase + string.digits
ENVD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
IMAGE_DIRS = ("home/user", "root")  # what the base template has beyond the system

# connect-go code -> HTTP status for unary errors.
CONNECT_STATUS = {
    "canceled": 499, "unknown": 500, "invalid_argument": 400, "deadline_exceeded": 504,
    "not_found": 404, "already_exists": 409, "permission_denied": 403,
    "resource_exhausted": 429, "failed_precondition": 400, "aborted": 409, "out_of_range": 400,
    "unimplemented": 501, "internal": 500, "unavailable": 503, "data_loss": 500,
    "unauthenticated": 401,
}
SIGNALS = {"SIGNAL_SIGKILL": signal.SIGKILL, "SIGNAL_SIGTERM": signal.SIGTERM, 9: signal.SIGKILL,
           15: signal.SIGTERM}


def rfc3339(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def b64(data):
    return base64.b64encode(data).decode("ascii")


def envelope(payload, flags=0):
    data = json.dumps(payload, separators=(",", ":")).encode()
    return struct.pack(">BI", flags, len(data)) + data


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class Reset(Exception):
    """Drop the connection without an answer (RST)."""


# ---------------------------------------------------------------- processes

class Proc:
    """One process started through process.Process/Start."""

    def __init__(self, sbx, req, user):
        self.sbx = sbx
        cfg = req.get("process") or {}
        self.cmd = cfg.get("cmd")
        if not self.cmd:
            raise RpcError("invalid_argument", "process.cmd is required")
        self.args = list(cfg.get("args") or [])
        self.envs = dict(cfg.get("envs") or {})
        self.tag = req.get("tag")
        home = "/root" if user == "root" else "/home/" + user
        cwd = cfg.get("cwd") or home
        if cwd.startswith("~"):
            cwd = home + cwd[1:]
        if not cwd.startswith("/"):
            cwd = home + "/" + cwd
        self.cwd = cwd
        host_cwd = sbx.host_path(cwd, follow_last=True)
        if not os.path.isdir(host_cwd):
            raise RpcError("invalid_argument", "cwd '%s' does not exist" % cwd)
        env = {"PATH": ENVD_PATH if sbx.server.bwrap else os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
               "USER": user, "LOGNAME": user}
        env.update(sbx.env_vars)
        env["E2B_SANDBOX"] = "true"
        env.update(self.envs)
        env["E2B_FAKE_SANDBOX_ID"] = sbx.id  # lets the fake find the sandbox's processes
        stdin_open = req.get("stdin", True) is not False  # absent => open (old SDKs)
        argv = ["/bin/sh", "-c", 'exec "$@"', "--", self.cmd] + self.args
        if sbx.server.bwrap:
            argv = sandbox_root.bwrap_argv(sbx.server.bwrap, sbx.root, cwd, argv)
            run_cwd = None
        else:
            env["HOME"] = sbx.host_path(home)
            run_cwd = host_cwd
        self.lock = threading.Condition()
        # The starting request's subscription exists before the process
        # does, so no early output is lost (envd subscribes before start).
        self.first_sub = []
        self.subscribers = [self.first_sub]
        self.end = None
        try:
            self.p = subprocess.Popen(argv, cwd=run_cwd, env=sandbox_root.mark_env(env, sbx.root),
                                      stdin=subprocess.PIPE if stdin_open else subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as e:
            raise RpcError("invalid_argument", "error starting process '%s': %s" % (self.cmd, e))
        self.pid = self.p.pid
        self.readers = [threading.Thread(target=self._read, args=(self.p.stdout, "stdout"), daemon=True),
                        threading.Thread(target=self._read, args=(self.p.stderr, "stderr"), daemon=True)]
        for t in self.readers:
            t.start()
        threading.Thread(target=self._wait, daemon=True).start()

    def subscribe(self, q=None):
        if q is not None:
            return q
        q = []
        with self.lock:
            self.subscribers.append(q)
        return q

    def unsubscribe(self, q):
        with self.lock:
            if q in self.subscribers:
                self.subscribers.remove(q)

    def _publish(self, ev):
        with self.lock:
            for q in self.subscribers:
                q.append(ev)
            self.lock.notify_all()

    def _read(self, f, name):
        while True:
            chunk = f.read1(32 << 10) if hasattr(f, "read1") else f.read(32 << 10)
            if not chunk:
                break
            self._publish({"data": {name: b64(chunk)}})

    def _wait(self):
        rc = self.p.wait()
        for t in self.readers:
            t.join()
        end = {}
        if rc < 0:
            end["exitCode"] = -1
            end["status"] = "signal: " + {9: "killed", 15: "terminated"}.get(-rc, str(-rc))
            end["error"] = end["status"]
        else:
            if rc:
                end["exitCode"] = rc
                end["error"] = "exit status %d" % rc
            end["exited"] = True
            end["status"] = "exit status %d" % rc
        with self.lock:
            self.end = end
        self._publish({"end": end})
        self.sbx.forget(self)

    def kill(self, sig=signal.SIGKILL):
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def send_input(self, data):
        if self.p.stdin is None:
            raise RpcError("failed_precondition", "stdin not enabled or closed")
        try:
            self.p.stdin.write(data)
            self.p.stdin.flush()
        except (BrokenPipeError, ValueError) as e:
            raise RpcError("internal", "error writing to stdin of process '%d': %s" % (self.pid, e))

    def close_stdin(self):
        if self.p.stdin is not None:
            try:
                self.p.stdin.close()
            except OSError:
                pass

    def info(self):
        cfg = {"cmd": self.cmd}
        if self.args:
            cfg["args"] = self.args
        if self.envs:
            cfg["envs"] = self.envs
        cfg["cwd"] = self.cwd
        out = {"config": cfg, "pid": self.pid}
        if self.tag:
            out["tag"] = self.tag
        return out


# ---------------------------------------------------------------- network rules

CREATE_NETWORK_KEYS = {"allowPublicTraffic": bool, "allowOut": list, "denyOut": list, "egressProxy": (dict, type(None)),
                       "maskRequestHost": str, "rules": dict}
UPDATE_NETWORK_KEYS = {"allowOut": list, "denyOut": list}


def is_ip_or_cidr(v):
    addr, _, prefix = v.partition("/")
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    if not _:
        return True
    return prefix.isdigit() and int(prefix) <= ip.max_prefixlen


def is_domain(v):
    d = v[2:] if v.startswith("*.") else v
    labels = d.split(".")
    return len(d) <= 253 and len(labels) >= 2 and all(
        l and len(l) <= 63 and all(c.isalnum() or c == "-" for c in l) for l in labels)


def network_error(net, keys):
    """Why E2B would refuse a network object (None when it is fine)."""
    if not isinstance(net, dict):
        return "network must be an object"
    for k, v in net.items():
        if k not in keys:
            return "unknown network field %r" % k
        if not isinstance(v, keys[k]):
            return "network.%s has the wrong type" % k
    for k in ("allowOut", "denyOut"):
        for e in net.get(k, []):
            if not isinstance(e, str):
                return "network.%s entries must be strings" % k
            if k == "denyOut" and not is_ip_or_cidr(e):
                return "invalid denyOut entry %r: only IP addresses and CIDR ranges can be denied" % e
            if k == "allowOut" and not (is_ip_or_cidr(e) or is_domain(e)):
                return "invalid allowOut entry %r: expected an IP address, a CIDR range or a domain" % e
    return None


# ---------------------------------------------------------------- sandboxes

class Sandbox:
    def __init__(self, server, body):
        self.server = server
        while True:
            sid = "".join(random.choice(ID_ALPHABET) for _ in range(20))
            if sid not in server.sandboxes:
                break
        self.id = sid
        self.template = body["templateID"]
        self.metadata = {str(k): str(v) for k, v in (body.get("metadata") or {}).items()}
        self.env_vars = {str(k): str(v) for k, v in (body.get("envVars") or {}).items()}
        self.auto_pause = bool(body.get("autoPause", False))
        self.secure = bool(body.get("secure", False))
        self.allow_internet = body.get("allow_internet_access")
        self.network = body.get("network")
        self.token = secrets.token_hex(16) if self.secure else None
        self.started = time.time()
        self.end_at = self.started + int(body.get("timeout", 15))
        self.state = "running"
        self.root = tempfile.mkdtemp(prefix="fake-e2b-%s-" % sid)
        sandbox_root.make_root(self.root, IMAGE_DIRS)
        self.procs = {}

    def host_path(self, path, follow_last=False):
        """The host path of a sandbox path, symlinks resolved inside the
        sandbox's root (sandbox_root.host_path); the last component is
        followed only when `follow_last` (the file APIs that open it)."""
        hp = sandbox_root.host_path(self.root, "/" + path.lstrip("/"), follow_last)
        if hp is None:
            raise RpcError("invalid_argument", "too many levels of symbolic links: %s" % path)
        return hp

    def sandbox_path(self, host):
        rel = os.path.relpath(host, self.root)
        return "/" if rel == "." else "/" + rel

    def forget(self, proc):
        with self.server.lock:
            self.procs.pop(proc.pid, None)

    def all_pids(self):
        """Every host process that belongs to this sandbox (by environment)."""
        marker = ("E2B_FAKE_SANDBOX_ID=%s" % self.id).encode()
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/environ" % d, "rb") as f:
                    if marker in f.read().split(b"\0"):
                        pids.append(int(d))
            except OSError:
                pass
        return pids

    def signal_all(self, sig):
        for pid in self.all_pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def destroy(self):
        self.signal_all(signal.SIGCONT)
        self.signal_all(signal.SIGKILL)
        sandbox_root.kill_marked(self.root)  # what its commands left in other sessions
        shutil.rmtree(self.root, ignore_errors=True)

    def base(self):
        return {"templateID": self.template, "alias": self.template, "sandboxID": self.id,
                "clientID": CLIENT_ID, "envdVersion": ENVD_VERSION}

    def created(self):
        out = self.base()
        out["envdAccessToken"] = self.token
        out["trafficAccessToken"] = None
        out["domain"] = None
        return out

    def listed(self):
        out = self.base()
        out.update({"startedAt": rfc3339(self.started), "endAt": rfc3339(self.end_at), "cpuCount": 2,
                    "memoryMB": 512, "diskSizeMB": 1024, "metadata": self.metadata, "state": self.state})
        return out

    def detail(self):
        out = self.listed()
        out["envdAccessToken"] = self.token
        out["allowInternetAccess"] = self.allow_internet
        out["network"] = self.network or {}
        out["lifecycle"] = {"autoResume": False, "onTimeout": "pause" if self.auto_pause else "kill"}
        out["domain"] = None if self.state == "paused" else None
        return out


# ---------------------------------------------------------------- server

class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, api_key):
        super().__init__(addr, Handler)
        self.api_key = api_key
        self.lock = threading.RLock()
        self.sandboxes = {}
        self.faults = []
        self.log = []
        self.created_total = 0
        self.network_log = []  # every network body accepted (create, PUT .../network), for tests
        self.bwrap = sandbox_root.usable_bwrap("FAKE_E2B_NO_BWRAP", IMAGE_DIRS)
        threading.Thread(target=self._reaper, daemon=True).start()


    def _reaper(self):
        while True:
            time.sleep(0.1)
            now = time.time()
            with self.lock:
                expired = [s for s in self.sandboxes.values() if s.state == "running" and s.end_at <= now]
                for s in expired:
                    if s.auto_pause:
                        s.signal_all(signal.SIGSTOP)
                        s.state = "paused"
                    else:
                        del self.sandboxes[s.id]
            for s in expired:
                if not s.auto_pause:
                    s.destroy()

    def take_fault(self, method, path):
        with self.lock:
            for f in self.faults:
                if f.get("method", method) != method:
                    continue
                if not path.startswith(f.get("path", "")):
                    continue
                if f.get("count", 1) <= 0:
                    continue
                f["count"] = f.get("count", 1) - 1
                return dict(f)
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-e2b/1"

    def log_message(self, fmt, *args):
        if os.environ.get("FAKE_E2B_VERBOSE"):
            sys.stderr.write("fake-e2b: " + (fmt % args) + "\n")

    # -- plumbing

    def body(self):
        if hasattr(self, "_body"):
            return self._body
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
            self._body = data
        else:
            self._body = self.rfile.read(n) if n else b""
        return self._body

    def send(self, status, body=b"", ctype="application/json", headers=None):
        if getattr(self, "drop_answer", False):
            raise Reset()
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        if body or status not in (204, 304):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def api_error(self, status, message, **extra):
        body = {"code": status, "message": message}
        body.update(extra)
        self.send(status, body)

    def reset(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    def dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        self.url_path = url.path
        self.query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        method = self.command
        # One handler serves every request of a kept-alive connection: drop
        # the previous request's body.
        self.__dict__.pop("_body", None)
        self.lost_response = False
        self.drop_answer = False
        self.envd_deadline_ms = None
        # Read the whole request body first so that an early answer (auth,
        # routing, injected faults) never leaves bytes on a kept-alive
        # connection.
        self.body()
        if self.url_path.startswith("/_fake/"):
            return self.handle_admin(method)
        with self.server.lock:
            self.server.log.append({"method": method, "path": self.url_path,
                                    "connect_timeout_ms": self.headers.get("Connect-Timeout-Ms"),
                                    "content_type": self.headers.get("Content-Type"),
                                    "sandbox_id": self.headers.get("E2b-Sandbox-Id"),
                                    "timeout": self.logged_timeout()})
        fault = self.server.take_fault(method, self.url_path)
        self.fault = fault or RANDOM.pick(method, self.url_path)
        if not fault and self.fault:  # a random fault in this fake's kinds
            fault = {"kind": "reset"} if self.fault.get("reset_mode") == "before" else \
                {"kind": "drop_after"} if self.fault.get("reset_mode") == "after" else {"kind": "status"}
        try:
            if fault:
                kind = fault.get("kind", "status")
                if kind == "status":
                    self.body()
                    return self.api_error(int(fault.get("status", 503)), fault.get("message", "injected fault"))
                if kind == "reset":
                    return self.reset()
                if kind == "slow":
                    time.sleep(fault.get("delay_ms", 1000) / 1000.0)
                if kind == "lost_create":
                    self.lost_response = True
                if kind == "drop_after":  # do the work, then drop the answer
                    self.drop_answer = True
                if kind == "envd_deadline":  # envd's own limit ends the stream: deadline_exceeded
                    self.envd_deadline_ms = int(fault.get("after_ms", 200))
            if self.is_envd():
                return self.handle_envd(method)
            return self.handle_api(method)
        except Reset:
            return self.reset()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def logged_timeout(self):
        """The "timeout" of a JSON control-plane body (create, connect), for tests."""
        if not self.url_path.endswith(("/connect", "/sandboxes")):
            return None
        try:
            v = json.loads(self.body() or b"null")
        except ValueError:
            return None
        return v.get("timeout") if isinstance(v, dict) else None

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = lambda self: self.dispatch()

    def is_envd(self):
        if self.headers.get("E2b-Sandbox-Id"):
            return True
        host = (self.headers.get("Host") or "").split(":")[0]
        return host.startswith("%d-" % ENVD_PORT)

    # -- admin (test control)

    def handle_admin(self, method):
        p = self.url_path[len("/_fake"):]
        s = self.server
        if p == "/faults" and method == "GET":
            return self.send(200, RANDOM.summary())
        if p == "/fault" and method == "POST":
            f = json.loads(self.body() or b"{}")
            f.setdefault("count", 1)
            with s.lock:
                s.faults.append(f)
            return self.send(204)
        if p == "/faults" and method == "DELETE":
            with s.lock:
                s.faults.clear()
            return self.send(204)
        if p == "/sandboxes" and method == "GET":
            with s.lock:
                out = [dict(x.detail(), root=x.root) for x in s.sandboxes.values()]
            return self.send(200, {"sandboxes": out, "created_total": s.created_total, "bwrap": bool(s.bwrap)})
        if p.startswith("/expire/") and method == "POST":
            with s.lock:
                sbx = s.sandboxes.get(p[len("/expire/"):])
                if sbx:
                    sbx.end_at = time.time()
            return self.send(204 if sbx else 404)
        if p.startswith("/pause/") and method == "POST":
            # E2B's idle auto-pause, behind the client's back.
            with s.lock:
                sbx = s.sandboxes.get(p[len("/pause/"):])
                if sbx and sbx.state == "running":
                    sbx.signal_all(signal.SIGSTOP)
                    sbx.state = "paused"
            return self.send(204 if sbx else 404)
        if p == "/network" and method == "GET":
            with s.lock:
                return self.send(200, s.network_log)
        if p == "/log" and method == "GET":
            with s.lock:
                return self.send(200, s.log)
        if p == "/log" and method == "DELETE":
            with s.lock:
                s.log.clear()
            return self.send(204)
        return self.send(404, {"code": 404, "message": "no such admin endpoint"})

    # -- control plane

    def check_key(self):
        key = self.headers.get("X-API-Key")
        if not key:
            self.api_error(401, "Invalid API key, missing X-API-Key header")
            return False
        if not secrets.compare_digest(key, self.server.api_key):
            self.api_error(401, "Invalid API key, please visit https://e2b.dev/docs/api-key to get a valid API key")
            return False
        return True

    def json_body(self):
        try:
            v = json.loads(self.body() or b"null")
        except ValueError:
            self.api_error(400, "Request body is not valid JSON")
            return None
        if not isinstance(v, dict):
            self.api_error(400, "Request body must be a JSON object")
            return None
        return v

    def not_found(self, sid):
        self.api_error(404, 'Sandbox "%s" doesn\'t exist or you don\'t have access to it' % sid)

    def handle_api(self, method):
        p = self.url_path
        if p == "/health" and method == "GET":
            return self.send(200, "Health check successful", ctype="text/plain")
        if not self.check_key():
            return None
        parts = [x for x in p.split("/") if x]
        s = self.server
        if parts == ["sandboxes"] and method == "POST":
            return self.create()
        if parts == ["v2", "sandboxes"] and method == "GET":
            return self.list_v2()
        if parts == ["sandboxes"] and method == "GET":
            return self.list_v1()
        if len(parts) >= 2 and parts[0] == "sandboxes":
            sid = parts[1]
            with s.lock:
                sbx = s.sandboxes.get(sid)
            if len(parts) == 2 and method == "GET":
                return self.send(200, sbx.detail()) if sbx else self.not_found(sid)
            if len(parts) == 2 and method == "DELETE":
                if not sbx:
                    return self.not_found(sid)
                with s.lock:
                    s.sandboxes.pop(sid, None)
                sbx.destroy()
                return self.send(204)
            if len(parts) == 3 and method == "POST":
                return self.lifecycle(sbx, sid, parts[2])
            if len(parts) == 3 and parts[2] == "network" and method == "PUT":
                return self.update_network(sbx, sid)
        return self.api_error(404, "Not found: %s %s" % (method, p))

    def create(self):
        body = self.json_body()
        if body is None:
            return None
        if not isinstance(body.get("templateID"), str) or not body["templateID"]:
            return self.api_error(400, "templateID is required")
        timeout = body.get("timeout", 15)
        if not isinstance(timeout, int) or timeout <= 0:
            return self.api_error(400, "Timeout must be greater than 0")
        if timeout > MAX_TIMEOUT_S:
            return self.api_error(400, "Timeout cannot be greater than 24 hours")
        for k in ("metadata", "envVars"):
            v = body.get(k)
            if v is not None and (not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values())):
                return self.api_error(400, "%s must be an object of strings" % k)
        if "allow_internet_access" in body and not isinstance(body["allow_internet_access"], bool):
            return self.api_error(400, "allow_internet_access must be a boolean")
        if "network" in body:
            why = network_error(body["network"], CREATE_NETWORK_KEYS)
            if why:
                return self.api_error(400, why)
        net = body.get("network") or {}
        if net.get("allowPublicTraffic") is False and not body.get("secure"):
            return self.api_error(400, "allowPublicTraffic=false requires secure=true")
        if body["templateID"] == "missing-template":
            return self.api_error(404, "template 'missing-template' not found")
        sbx = Sandbox(self.server, body)
        with self.server.lock:
            self.server.sandboxes[sbx.id] = sbx
            self.server.created_total += 1
            if "network" in body:
                self.server.network_log.append({"op": "create", "sandboxID": sbx.id, "corral_id": sbx.metadata.get("corral.id"),
                                                "allow_internet_access": body.get("allow_internet_access"),
                                                "network": body["network"]})
        if getattr(self, "lost_response", False):
            raise Reset()
        return self.send(201, sbx.created())

    def filtered(self, states):
        raw = self.query.get("metadata", [""])[0]
        want = urllib.parse.parse_qsl(raw, keep_blank_values=True) if raw else []
        with self.server.lock:
            out = [x for x in self.server.sandboxes.values()
                   if x.state in states and all(x.metadata.get(k) == v for k, v in want)]
        return out

    def list_v2(self):
        states = set(",".join(self.query.get("state", ["running,paused"])).split(","))
        if not states <= {"running", "paused"}:
            return self.api_error(400, "invalid state filter")
        try:
            limit = int(self.query.get("limit", ["100"])[0])
            start = int(self.query.get("nextToken", ["0"])[0] or 0)
        except ValueError:
            return self.api_error(400, "invalid limit or nextToken")
        if not 1 <= limit <= 100:
            return self.api_error(400, "limit must be between 1 and 100")
        items = sorted(self.filtered(states), key=lambda x: x.started,
                       reverse=self.query.get("order", ["desc"])[0] != "asc")
        page = items[start:start + limit]
        headers = {"X-Total-Running": str(sum(1 for x in items if x.state == "running"))}
        if start + limit < len(items):
            headers["X-Next-Token"] = str(start + limit)
        return self.send(200, [x.listed() for x in page], headers=headers)

    def list_v1(self):
        return self.send(200, [x.listed() for x in self.filtered({"running"})])

    def update_network(self, sbx, sid):
        """PUT /sandboxes/{id}/network: 204, 404 unknown, 409 not running."""
        body = self.json_body()
        if body is None:
            return None
        if not sbx:
            return self.not_found(sid)
        if sbx.state != "running":
            return self.api_error(409, "Sandbox \"%s\" is not running" % sid)
        why = network_error(body, UPDATE_NETWORK_KEYS)
        if why:
            return self.api_error(400, why)
        with self.server.lock:
            sbx.network = dict(sbx.network or {}, **body)
            self.server.network_log.append({"op": "update", "sandboxID": sid, "corral_id": sbx.metadata.get("corral.id"),
                                            "network": body})
        return self.send(204)

    def lifecycle(self, sbx, sid, action):
        if action not in ("timeout", "refreshes", "pause", "connect", "resume"):
            return self.api_error(404, "Not found")
        body = {}
        if self.body():
            body = self.json_body()
            if body is None:
                return None
        if not sbx:
            return self.not_found(sid)
        now = time.time()
        if action == "timeout":
            t = body.get("timeout")
            if not isinstance(t, int) or t < 0:
                return self.api_error(400, "timeout is required")
            if t > MAX_TIMEOUT_S:
                return self.api_error(400, "Timeout cannot be greater than 24 hours")
            sbx.end_at = now + t
            return self.send(204)
        if action == "refreshes":
            d = body.get("duration", 0)
            sbx.end_at = max(sbx.end_at, now + int(d))
            return self.send(204)
        if action == "pause":
            if sbx.state == "paused":
                return self.api_error(409, "Sandbox %s is already paused" % sid)
            sbx.signal_all(signal.SIGSTOP)
            sbx.state = "paused"
            return self.send(204)
        t = body.get("timeout", 15 if action == "resume" else None)
        if not isinstance(t, int) or t <= 0:
            return self.api_error(400, "timeout is required and must be greater than 0")
        if sbx.state == "running":
            if action == "resume":
                return self.api_error(409, "Sandbox %s is already running" % sid)
            sbx.end_at = max(sbx.end_at, now + t)
            return self.send(200, sbx.created())
        sbx.signal_all(signal.SIGCONT)
        sbx.state = "running"
        sbx.end_at = now + t
        return self.send(201, sbx.created())

    # -- envd

    def sandbox_for_envd(self):
        sid = self.headers.get("E2b-Sandbox-Id")
        if not sid:
            host = (self.headers.get("Host") or "").split(":")[0]
            sid = host.split(".")[0].split("-")[1] if "-" in host else ""
        with self.server.lock:
            sbx = self.server.sandboxes.get(sid)
        if not sbx or sbx.state != "running":
            self.send(502, {"sandboxId": sid, "message": "The sandbox was not found", "code": 502})
            return None
        if sbx.secure and self.url_path != "/health":
            tok = self.headers.get("X-Access-Token")
            if self.url_path == "/files" and not tok and "signature" in self.query:
                return sbx  # pre-signed URLs are not modelled: accept the form
            if not tok or not secrets.compare_digest(tok, sbx.token):
                self.body()
                self.send(401, {"code": 401, "message": "unauthorized access, please provide a valid access "
                                                       "token or method signing if supported"})
                return None
        return sbx

    def rpc_user(self):
        auth = self.headers.get("Authorization")
        if not auth:
            return "user"
        if not auth.startswith("Basic "):
            raise RpcError("unauthenticated", "invalid authorization header")
        try:
            user = base64.b64decode(auth[6:]).decode().split(":")[0]
        except ValueError:
            raise RpcError("unauthenticated", "invalid authorization header")
        if user not in ("user", "root"):
            raise RpcError("unauthenticated", "error looking up user '%s'" % user)
        return user

    def handle_envd(self, method):
        sbx = self.sandbox_for_envd()
        if not sbx:
            return None
        p = self.url_path
        if p == "/health" and method == "GET":
            self.send_response(204)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if p == "/files":
            return self.files(sbx, method)
        if p == "/envs" and method == "GET":
            return self.send(200, dict(sbx.env_vars, E2B_SANDBOX="true"))
        if method != "POST" or not (p.startswith("/process.Process/") or p.startswith("/filesystem.Filesystem/")):
            return self.send(404, "404 page not found\n", ctype="text/plain; charset=utf-8")
        rpc = p[1:]
        if rpc in ("process.Process/Start", "process.Process/Connect", "filesystem.Filesystem/WatchDir"):
            return self.stream_rpc(sbx, rpc)
        return self.unary_rpc(sbx, rpc)

    def unary_rpc(self, sbx, rpc):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/json":
            self.body()
            return self.send(415, b"", ctype="text/plain")
        try:
            try:
                req = json.loads(self.body() or b"{}")
            except ValueError as e:
                raise RpcError("invalid_argument", "unmarshal message: %s" % e)
            user = self.rpc_user()
            fn = UNARY.get(rpc)
            if not fn:
                raise RpcError("unimplemented", "%s is not implemented" % rpc)
            out = fn(self, sbx, req, user)
        except RpcError as e:
            return self.send(CONNECT_STATUS[e.code], {"code": e.code, "message": e.message})
        return self.send(200, out)

    def stream_rpc(self, sbx, rpc):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/connect+json":
            self.body()
            return self.send(415, b"", ctype="text/plain")
        raw = self.body()
        self.send_response(200)
        self.send_header("Content-Type", "application/connect+json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if len(raw) < 5:
                raise RpcError("invalid_argument", "protocol error: incomplete envelope")
            flags, n = struct.unpack(">BI", raw[:5])
            if os.environ.get("FAKE_E2B_VERBOSE"):
                sys.stderr.write("envelope: %d bytes, header says %d, CL=%s\n" % (len(raw), n, self.headers.get("Content-Length")))
            if len(raw) != 5 + n or flags & 0x01:
                raise RpcError("invalid_argument", "protocol error: bad envelope")
            try:
                req = json.loads(raw[5:])
            except ValueError as e:
                raise RpcError("invalid_argument", "unmarshal message: %s" % e)
            user = self.rpc_user()
            timeout = self.headers.get("Connect-Timeout-Ms")
            deadline = None
            if timeout is not None:
                if not timeout.isdigit() or len(timeout) > 10:
                    raise RpcError("invalid_argument", "protocol error: invalid Connect-Timeout-Ms")
                deadline = time.monotonic() + int(timeout) / 1000.0
            if self.envd_deadline_ms is not None:
                mine = time.monotonic() + self.envd_deadline_ms / 1000.0
                deadline = mine if deadline is None else min(deadline, mine)
            ka = self.headers.get("Keepalive-Ping-Interval")
            keepalive = float(ka) if ka and ka.isdigit() and int(ka) > 0 else None
            if rpc == "process.Process/Start":
                proc = Proc(sbx, req, user)
                with self.server.lock:
                    sbx.procs[proc.pid] = proc
                RANDOM.note_exec(sbx.id, rpc, self.body(), {"reset_mode": "after"} if self.drop_answer else None)
                if self.drop_answer:
                    raise Reset()
                if deadline is not None:
                    threading.Thread(target=self._deadline_kill, args=(proc, deadline), daemon=True).start()
                self.follow(proc, deadline, keepalive, first={"start": {"pid": proc.pid}}, q=proc.first_sub)
            elif rpc == "process.Process/Connect":
                proc = find_proc(sbx, req)
                self.follow(proc, deadline, keepalive, first={"start": {"pid": proc.pid}})
            else:
                raise RpcError("unimplemented", "%s is not implemented by the fake" % rpc)
            self.chunk(envelope({}, 0x02))
        except RpcError as e:
            self.chunk(envelope({"error": {"code": e.code, "message": e.message}}, 0x02))
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    @staticmethod
    def _deadline_kill(proc, deadline):
        while time.monotonic() < deadline:
            with proc.lock:
                if proc.end is not None:
                    return
            time.sleep(0.02)
        proc.kill(signal.SIGKILL)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
        self.wfile.flush()

    def follow(self, proc, deadline, keepalive, first, q=None):
        q = proc.subscribe(q)
        try:
            self.chunk(envelope({"event": first}))
            last = time.monotonic()
            while True:
                with proc.lock:
                    while not q and proc.end is None:
                        now = time.monotonic()
                        waits = [0.5]
                        if deadline is not None:
                            waits.append(deadline - now)
                        if keepalive is not None:
                            waits.append(last + keepalive - now)
                        w = min(waits)
                        if w <= 0:
                            break
                        proc.lock.wait(w)
                    events, q[:] = list(q), []
                    ended = proc.end is not None
                for ev in events:
                    self.chunk(envelope({"event": ev}))
                    last = time.monotonic()
                    if "end" in ev:
                        return
                if ended and not events:
                    # The end event was published before we subscribed (or
                    # was already delivered): send it once.
                    self.chunk(envelope({"event": {"end": proc.end}}))
                    return
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    raise RpcError("deadline_exceeded", "context deadline exceeded")
                if keepalive is not None and now - last >= keepalive:
                    self.chunk(envelope({"event": {"keepalive": {}}}))
                    last = now
        finally:
            proc.unsubscribe(q)

    # -- /files

    def files(self, sbx, method):
        path = self.query.get("path", [None])[0]
        user = self.query.get("username", ["user"])[0] or "user"
        if user not in ("user", "root"):
            self.body()
            return self.api_error(401, "error looking up user '%s'" % user)
        home = "/root" if user == "root" else "/home/" + user
        resolve = (lambda q: q if q.startswith("/") else home + "/" + q)
        if method == "GET":
            if not path:
                return self.api_error(400, "path is required")
            sp = resolve(path)
            hp = sbx.host_path(sp, follow_last=True)
            if os.path.isdir(hp):
                return self.api_error(400, "path '%s' is a directory" % sp)
            if not os.path.exists(hp):
                return self.api_error(404, "path '%s' does not exist" % sp)
            with open(hp, "rb") as f:
                data = f.read()
            return self.send(200, data, ctype="application/octet-stream",
                             headers={"Content-Disposition": 'inline; filename="%s"' % os.path.basename(sp)})
        if method != "POST":
            return self.api_error(405, "method not allowed")
        ctype = self.headers.get("Content-Type") or ""
        body = self.body()
        writes = []
        if ctype.startswith("application/octet-stream"):
            if not path:
                return self.api_error(400, "path is required for application/octet-stream uploads")
            writes.append((resolve(path), body))
        elif ctype.startswith("multipart/form-data"):
            try:
                parts = parse_multipart(ctype, body)
            except ValueError as e:
                return self.api_error(400, "error parsing multipart form: %s" % e)
            for name, filename, data in parts:
                if name != "file":
                    continue
                target = path or filename
                if not target:
                    return self.api_error(400, "no path for the uploaded file")
                writes.append((resolve(target), data))
            if len({w[0] for w in writes}) != len(writes):
                return self.api_error(400, "two files resolve to the same path")
        else:
            return self.api_error(400, "unsupported Content-Type %r" % ctype)
        out = []
        for sp, data in writes:
            hp = sbx.host_path(sp, follow_last=True)
            if os.path.isdir(hp):
                return self.api_error(400, "path '%s' is a directory" % sp)
            os.makedirs(os.path.dirname(hp), exist_ok=True)
            with open(hp, "wb") as f:
                f.write(data)
            out.append({"path": sp, "name": os.path.basename(sp), "type": "file"})
        # envd sets no Content-Type here; Go sniffs one.
        return self.send(200, json.dumps(out), ctype="text/plain; charset=utf-8")


def parse_multipart(ctype, body):
    boundary = None
    for item in ctype.split(";")[1:]:
        k, _, v = item.strip().partition("=")
        if k.lower() == "boundary":
            boundary = v.strip('"')
    if not boundary:
        raise ValueError("no boundary")
    delim = b"--" + boundary.encode()
    chunks = body.split(delim)
    if len(chunks) < 3:
        raise ValueError("no parts")
    out = []
    for c in chunks[1:]:
        if c.startswith(b"--"):
            break
        c = c[2:] if c.startswith(b"\r\n") else c
        head, sep, data = c.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("part without headers")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        name = filename = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-disposition":
                for attr in v.split(";")[1:]:
                    ak, _, av = attr.strip().partition("=")
                    av = av.strip('"')
                    if ak == "name":
                        name = av
                    elif ak == "filename":
                        filename = av
        out.append((name, filename, data))
    return out


def find_proc(sbx, req):
    sel = req.get("process") or {}
    with sbx.server.lock:
        if "pid" in sel:
            proc = sbx.procs.get(int(sel["pid"]))
            if not proc:
                raise RpcError("not_found", "process with pid %s not found" % sel["pid"])
            return proc
        if "tag" in sel:
            for proc in sbx.procs.values():
                if proc.tag == sel["tag"]:
                    return proc
            raise RpcError("not_found", "process with tag %s not found" % sel["tag"])
    raise RpcError("invalid_argument", "process selector is required")


# ---------------------------------------------------------------- unary RPCs

def rpc_list(h, sbx, req, user):
    with sbx.server.lock:
        procs = [p.info() for p in sbx.procs.values()]
    return {"processes": procs} if procs else {}


def rpc_signal(h, sbx, req, user):
    proc = find_proc(sbx, req)
    sig = SIGNALS.get(req.get("signal"))
    if sig is None:
        raise RpcError("invalid_argument", "invalid signal: %r" % req.get("signal"))
    proc.kill(sig)
    return {}


def rpc_send_input(h, sbx, req, user):
    proc = find_proc(sbx, req)
    inp = req.get("input") or {}
    if "stdin" not in inp:
        raise RpcError("invalid_argument", "input.stdin is required")
    proc.send_input(base64.b64decode(inp["stdin"]))
    return {}


def rpc_close_stdin(h, sbx, req, user):
    find_proc(sbx, req).close_stdin()
    return {}


def entry_info(sbx, sp):
    hp = sbx.host_path(sp)
    st = os.lstat(hp)
    import stat as st_mod
    if st_mod.S_ISDIR(st.st_mode):
        t = "FILE_TYPE_DIRECTORY"
    elif st_mod.S_ISLNK(st.st_mode):
        t = "FILE_TYPE_SYMLINK"
    else:
        t = "FILE_TYPE_FILE"
    out = {"name": os.path.basename(sp) or "/", "type": t, "path": sp, "size": str(st.st_size),
           "mode": st.st_mode & 0o7777, "permissions": st_mod.filemode(st.st_mode), "owner": "user",
           "group": "user", "modifiedTime": rfc3339(st.st_mtime)}
    if t == "FILE_TYPE_SYMLINK":
        out["symlinkTarget"] = os.readlink(hp)
    return out


def fs_path(req, user, key="path"):
    p = req.get(key)
    if not p:
        raise RpcError("invalid_argument", "%s is required" % key)
    home = "/root" if user == "root" else "/home/" + user
    return os.path.normpath(p if p.startswith("/") else home + "/" + p)


def rpc_stat(h, sbx, req, user):
    sp = fs_path(req, user)
    if not os.path.lexists(sbx.host_path(sp)):
        raise RpcError("not_found", "file not found: %s" % sp)
    return {"entry": entry_info(sbx, sp)}


def rpc_list_dir(h, sbx, req, user):
    sp = fs_path(req, user)
    hp = sbx.host_path(sp)
    if not os.path.lexists(hp):
        raise RpcError("not_found", "path not found: %s" % sp)
    if not os.path.isdir(hp):
        raise RpcError("invalid_argument", "path is not a directory: %s" % sp)
    depth = int(req.get("depth") or 1)
    entries = []

    def walk(d, level):
        for name in sorted(os.listdir(sbx.host_path(d))):
            child = d.rstrip("/") + "/" + name
            entries.append(entry_info(sbx, child))
            if level < depth and os.path.isdir(sbx.host_path(child)) and not os.path.islink(sbx.host_path(child)):
                walk(child, level + 1)
    walk(sp, 1)
    return {"entries": entries} if entries else {}


def rpc_make_dir(h, sbx, req, user):
    sp = fs_path(req, user)
    hp = sbx.host_path(sp)
    if os.path.isdir(hp):
        raise RpcError("already_exists", "directory already exists: %s" % sp)
    if os.path.lexists(hp):
        raise RpcError("invalid_argument", "path already exists but it is not a directory: %s" % sp)
    os.makedirs(hp)
    return {"entry": entry_info(sbx, sp)}


def rpc_move(h, sbx, req, user):
    src = fs_path(req, user, "source")
    dst = fs_path(req, user, "destination")
    if not os.path.lexists(sbx.host_path(src)):
        raise RpcError("not_found", "source file not found: %s" % src)
    os.makedirs(os.path.dirname(sbx.host_path(dst)), exist_ok=True)
    os.rename(sbx.host_path(src), sbx.host_path(dst))
    return {"entry": entry_info(sbx, dst)}


def rpc_remove(h, sbx, req, user):
    sp = fs_path(req, user)
    hp = sbx.host_path(sp)
    if os.path.isdir(hp) and not os.path.islink(hp):
        shutil.rmtree(hp, ignore_errors=True)
    elif os.path.lexists(hp):
        os.unlink(hp)
    return {}


UNARY = {
    "process.Process/List": rpc_list,
    "process.Process/SendSignal": rpc_signal,
    "process.Process/SendInput": rpc_send_input,
    "process.Process/CloseStdin": rpc_close_stdin,
    "filesystem.Filesystem/Stat": rpc_stat,
    "filesystem.Filesystem/ListDir": rpc_list_dir,
    "filesystem.Filesystem/MakeDir": rpc_make_dir,
    "filesystem.Filesystem/Move": rpc_move,
    "filesystem.Filesystem/Remove": rpc_remove,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--api-key", default=os.environ.get("FAKE_E2B_API_KEY", "e2b_0123456789abcdef"))
    ap.add_argument("--faults", help="seeded random faults (faults.py), e.g. rate=0.2,seed=7")
    a = ap.parse_args()
    if a.faults:
        RANDOM.__init__(a.faults)
    srv = FakeServer(("127.0.0.1", a.port), a.api_key)
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, a.port_file)
    print("PORT=%d" % port, flush=True)

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.1)
    finally:
        with srv.lock:
            boxes = list(srv.sandboxes.values())
            srv.sandboxes.clear()
        for s in boxes:
            s.destroy()


if __name__ == "__main__":
    main()

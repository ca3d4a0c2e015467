#!/usr/bin/env python3
"""Pins the Islo fake's wire format (docs/backends/islo.md) so the C plugin's tests
rest on something checked: paths, hosts, auth, status codes, error bodies."""
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


class Fake:
    def __init__(self):
        self.p = subprocess.Popen([sys.executable, os.path.join(HERE, "islo_fake.py")], stdout=subprocess.PIPE)
        info = json.loads(self.p.stdout.readline())
        self.control = "http://127.0.0.1:%d" % info["control"]
        self.compute = "http://127.0.0.1:%d" % info["compute"]

    def stop(self):
        self.p.terminate()
        self.p.wait()


def call(method, url, body=None, token=None, raw=None, ctype=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if ctype:
        req.add_header("Content-Type", ctype)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def js(b):
    return json.loads(b) if b else None


def multipart(data, filename="f"):
    b = "XyZbOuNdArY"
    body = (("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
             "Content-Type: application/octet-stream\r\n\r\n" % (b, filename)).encode() + data +
            ("\r\n--%s--\r\n" % b).encode())
    return body, "multipart/form-data; boundary=" + b


class IsloFakeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.f = Fake()
        st, b = call("POST", cls.f.control + "/auth/token", {"access_key": "ak_test_key"})
        assert st == 200, b
        cls.tok = js(b)["session_token"]
        call("POST", cls.f.control + "/_config", {"ready_delay_ms": 0})

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def api(self, method, path, body=None, **kw):
        host = self.f.control if path.startswith(("/gateway", "/auth")) else self.f.compute
        st, b = call(method, host + path, body, token=self.tok, **kw)
        try:
            return st, js(b)
        except ValueError:
            return st, b

    def mk(self, name, **extra):
        body = {"name": name, "image": "ubuntu:22.04"}
        body.update(extra)
        st, b = self.api("POST", "/sandboxes", body)
        self.assertEqual(st, 200, b)
        return b

    def wait_exec(self, name, eid):
        for _ in range(200):
            st, b = self.api("GET", "/sandboxes/%s/exec/%s" % (name, eid))
            self.assertEqual(st, 200)
            if b["status"] != "running":
                return b
            time.sleep(0.05)
        self.fail("exec never finished")

    def test_auth(self):
        st, b = call("POST", self.f.control + "/auth/token", {"access_key": "wrong"})
        self.assertEqual(st, 401)
        st, b = call("POST", self.f.control + "/auth/token", {"access_key": "ak_test_key"})
        self.assertEqual(st, 200)
        self.assertEqual(set(js(b)), {"session_token", "cookie_max_age"})
        st, b = call("GET", self.f.compute + "/sandboxes")
        self.assertEqual((st, js(b)["code"]), (401, "AUTH_REQUIRED"))
        st, b = call("GET", self.f.compute + "/sandboxes", token="nope")
        self.assertEqual(st, 401)

    def test_hosts_are_separate(self):
        st, _ = call("GET", self.f.control + "/sandboxes", token=self.tok)
        self.assertEqual(st, 404)
        st, _ = call("GET", self.f.compute + "/gateway/profiles", token=self.tok)
        self.assertEqual(st, 404)

    def test_sandbox_lifecycle(self):
        b = self.mk("life-1", env={"A": "x"})
        for k in ("id", "name", "image", "status", "created_at"):
            self.assertIn(k, b)
        st, b = self.api("POST", "/sandboxes", {"name": "life-1"})
        self.assertEqual((st, b["code"]), (409, "SANDBOX_ALREADY_EXISTS"))
        st, b = self.api("POST", "/sandboxes", {"name": "life-2", "image": None})
        self.assertEqual(st, 422)
        st, b = self.api("GET", "/sandboxes/life-1")
        self.assertEqual(b["status"], "running")
        st, b = self.api("GET", "/sandboxes?name_prefix=life-")
        self.assertEqual([i["name"] for i in b["items"]], ["life-1"])
        self.assertEqual(self.api("POST", "/sandboxes/life-1/pause")[1]["status"], "paused")
        self.assertEqual(self.api("POST", "/sandboxes/life-1/pause")[0], 409)
        st, b = self.api("POST", "/sandboxes/life-1/exec", {"command": ["true"]})
        self.assertEqual(st, 409)
        self.assertIn(self.api("POST", "/sandboxes/life-1/resume")[1]["status"], ("starting", "running"))
        self.assertEqual(self.api("POST", "/sandboxes/life-1/stop")[0], 204)
        self.assertEqual(self.api("GET", "/sandboxes/life-1")[1]["status"], "stopped")
        self.assertEqual(self.api("POST", "/sandboxes/life-1/resume")[0], 200)
        self.assertEqual(self.api("DELETE", "/sandboxes/life-1")[0], 204)
        st, b = self.api("GET", "/sandboxes/life-1")
        self.assertEqual((st, b["code"]), (404, "SANDBOX_NOT_FOUND"))
        # the name stays reserved while the teardown runs
        st, b = self.api("POST", "/sandboxes", {"name": "life-1"})
        self.assertEqual(st, 409)

    def test_exec(self):
        self.mk("ex-1", env={"FROM_CREATE": "c"})
        st, b = self.api("POST", "/sandboxes/ex-1/exec",
                         {"command": ["sh", "-c", "echo \"$FROM_CREATE$X\"; echo err >&2; exit 3"], "env": {"X": "'q\"\n"}})
        self.assertEqual(st, 200)
        self.assertEqual(set(b), {"exec_id", "sandbox_id", "status"})
        r = self.wait_exec("ex-1", b["exec_id"])
        self.assertEqual((r["status"], r["exit_code"], r["stdout"], r["stderr"]), ("completed", 3, "c'q\"\n\n", "err\n"))
        self.assertFalse(r["truncated"])
        st, b = self.api("POST", "/sandboxes/ex-1/exec", {"command": ["/nonexistent/cmd"]})
        r = self.wait_exec("ex-1", b["exec_id"])
        self.assertEqual((r["status"], r["exit_code"]), ("failed", None))
        call("POST", self.f.control + "/_config", {"exec_max_s": 0.3})
        st, b = self.api("POST", "/sandboxes/ex-1/exec", {"command": ["sleep", "30"]})
        r = self.wait_exec("ex-1", b["exec_id"])
        call("POST", self.f.control + "/_config", {"exec_max_s": 0})
        self.assertEqual((r["status"], r["exit_code"]), ("timeout", None))
        self.assertEqual(self.api("GET", "/sandboxes/ex-1/exec/ex_nope")[0], 404)
        self.assertEqual(self.api("POST", "/sandboxes/ex-1/exec", {"command": "ls"})[0], 400)

    def test_files_and_archive(self):
        self.mk("fs-1")
        body, ct = multipart(b"hello\x00bytes")
        st, b = self.api("POST", "/sandboxes/fs-1/files?path=/workspace/a.bin", raw=body, ctype=ct)
        self.assertEqual(st, 200)
        self.assertIn("status", b)
        st, b = self.api("POST", "/sandboxes/fs-1/files?path=/workspace/no/such/a.bin", raw=body, ctype=ct)
        self.assertEqual(st, 400)
        st, b = self.api("GET", "/sandboxes/fs-1/files?path=/workspace/a.bin")
        self.assertEqual((st, b), (200, b"hello\x00bytes"))
        # commands see the same "/" as the files API
        st, b = self.api("POST", "/sandboxes/fs-1/exec", {"command": ["cat", "/workspace/a.bin"]})
        r = self.wait_exec("fs-1", b["exec_id"])
        self.assertEqual(r["stdout"], "hello\x00bytes")
        st, b = self.api("GET", "/sandboxes/fs-1/files?path=/workspace/missing")
        self.assertEqual((st, b["code"]), (404, "FILE_NOT_FOUND"))
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as t:
            ti = tarfile.TarInfo("d/x.txt")
            ti.size = 2
            t.addfile(ti, io.BytesIO(b"hi"))
        body, ct = multipart(buf.getvalue(), "archive.tar.gz")
        st, b = self.api("POST", "/sandboxes/fs-1/files-archive?path=/workspace/up", raw=body, ctype=ct)
        self.assertEqual(st, 200, b)
        st, b = self.api("GET", "/sandboxes/fs-1/files-archive?path=/workspace/up")
        self.assertEqual(st, 200)
        names = tarfile.open(fileobj=io.BytesIO(b), mode="r:gz").getnames()
        self.assertEqual(sorted(names), ["d", "d/x.txt"])
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as t:
            ti = tarfile.TarInfo("../evil")
            t.addfile(ti, io.BytesIO(b""))
        body, ct = multipart(buf.getvalue())
        st, b = self.api("POST", "/sandboxes/fs-1/files-archive?path=/workspace/up", raw=body, ctype=ct)
        self.assertEqual(st, 400)

    def test_root_confines_commands_and_files(self):
        """An absolute path means the sandbox's file, in commands and in the
        files API alike (tests/fakes/sandbox_root.py); writes never reach
        the host."""
        self.mk("conf-1")
        probe = "/corral-islo-probe-%d" % os.getpid()
        st, b = self.api("POST", "/sandboxes/conf-1/exec", {"command": [
            "/bin/sh", "-c", "cat /etc/hostname; echo in > %s; ln -s /etc/hostname /workspace/ln" % probe]})
        r = self.wait_exec("conf-1", b["exec_id"])
        self.assertEqual(r["exit_code"], 0, r)
        self.assertTrue(r["stdout"].startswith("sandbox-"), r["stdout"])
        self.assertFalse(os.path.exists(probe), "a sandbox write reached the host")
        st, b = self.api("GET", "/sandboxes/conf-1/files?path=" + probe)
        self.assertEqual((st, b), (200, b"in\n"))
        st, b = self.api("GET", "/sandboxes/conf-1/files?path=/workspace/ln")
        self.assertEqual((st, b.decode()), (200, r["stdout"]))

    def test_gateway(self):
        st, p = self.api("POST", "/gateway/profiles", {"name": "gp-a", "default_action": "deny",
                                                       "internet_enabled": False})
        self.assertEqual(st, 200)
        for k in ("id", "name", "default_action", "internet_enabled", "is_default"):
            self.assertIn(k, p)
        self.assertEqual(self.api("POST", "/gateway/profiles", {"name": "gp-a"})[0], 409)
        st, r = self.api("POST", "/gateway/profiles/%s/rules" % p["id"],
                         {"host_pattern": "*.github.com", "action": "allow", "methods": ["GET"],
                          "rate_limit_rpm": 60, "priority": 10})
        self.assertEqual(st, 200)
        self.assertEqual(r["host_pattern"], "*.github.com")
        self.assertEqual(self.api("POST", "/gateway/profiles/%s/rules" % p["id"], {"action": "allow"})[0], 422)
        st, d = self.api("GET", "/gateway/profiles/" + p["id"])
        self.assertEqual(len(d["rules"]), 1)
        self.mk("gw-1", gateway_profile="gp-a")
        self.assertEqual(self.api("DELETE", "/gateway/profiles/" + p["id"])[0], 409)
        self.api("DELETE", "/sandboxes/gw-1")
        time.sleep(0.5)
        self.assertEqual(self.api("DELETE", "/gateway/profiles/" + p["id"])[0], 204)
        self.assertEqual(self.api("GET", "/gateway/profiles/" + p["id"])[0], 404)
        self.assertEqual(self.api("POST", "/sandboxes", {"name": "gw-2", "gateway_profile": "nope"})[0], 400)

    def test_faults(self):
        call("POST", self.f.control + "/_fault", {"path": "^/sandboxes$", "method": "GET", "status": 503, "count": 2})
        self.assertEqual(self.api("GET", "/sandboxes")[0], 503)
        self.assertEqual(self.api("GET", "/sandboxes")[0], 503)
        self.assertEqual(self.api("GET", "/sandboxes")[0], 200)
        call("POST", self.f.control + "/_fault", {"path": "^/sandboxes$", "method": "POST", "reset_after": 1})
        with self.assertRaises((ConnectionError, urllib.error.URLError, OSError)):
            self.api("POST", "/sandboxes", {"name": "lost-1"})
        # the sandbox exists although its creator never heard back
        self.assertEqual(self.api("GET", "/sandboxes/lost-1")[0], 200)
        st, b = self.api("POST", "/sandboxes", {"name": "lost-1"})
        self.assertEqual((st, b["code"]), (409, "SANDBOX_ALREADY_EXISTS"))
        call("POST", self.f.control + "/_config", {"expire_tokens": True})
        st, b = self.api("GET", "/sandboxes")
        self.assertEqual((st, b["code"]), (401, "AUTH_TOKEN_EXPIRED"))
        st, b = call("POST", self.f.control + "/auth/token", {"access_key": "ak_test_key"})
        type(self).tok = js(b)["session_token"]


class RandomFaultsAccounting(unittest.TestCase):
    """faults.py's double-execution accounting, which the fault runs rest on."""

    def test_resend_after_lost_answer(self):
        sys.path.insert(0, os.path.dirname(HERE))
        import faults
        rf = faults.RandomFaults("rate=0")
        lost = {"reset_mode": "after"}
        user = json.dumps({"command": ["timeout", "-k", "2", "5.000", "/bin/sh", "-c", "echo hi >> f"]})
        rf.note_exec("sb", "exec", user, lost)
        rf.note_exec("sb", "exec", user, None)
        self.assertEqual(len(rf.summary()["double_exec"]), 1)
        helper = ["timeout", "-k", "2", "60.000", "mkdir", "-p", "--", "/w"]
        self.assertTrue(faults.rerun_safe(helper))
        rf.note_exec("sb", "exec", json.dumps({"command": helper}), lost, True)
        rf.note_exec("sb", "exec", json.dumps({"command": helper}), None, True)
        self.assertEqual((len(rf.summary()["double_exec"]), rf.summary()["safe_reruns"]), (1, 1))
        for argv in (["mkdir", "/w"], ["rm", "-rf", "--", "/"], ["true", "x"], ["chmod", "u+s", "--", "/x"],
                     ["sh", "-c", "true"], "true", [1]):
            self.assertFalse(faults.rerun_safe(argv), argv)
        for argv in (["true"], ["rm", "-f", "--", "/tmp/a", "/tmp/b"], ["chmod", "755", "--", "/x"]):
            self.assertTrue(faults.rerun_safe(argv), argv)


if __name__ == "__main__":
    unittest.main()

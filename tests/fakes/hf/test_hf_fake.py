#!/usr/bin/env python3
"""Pins the HF fake's wire format: Jobs API paths, auth, JobInfo shape, the
Jobs proxy and the hf-sandbox 0.1 RPC (health/exec/write/read)."""
import base64
import json
import os
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOK = "hf_test_token"


def call(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw and r.headers.get_content_type() == "application/json" else raw)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw


class HFFakeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.p = subprocess.Popen([sys.executable, os.path.join(HERE, "hf_fake.py")], stdout=subprocess.PIPE)
        info = json.loads(cls.p.stdout.readline())
        cls.hub = "http://127.0.0.1:%d" % info["hub"]
        cls.proxy = "http://127.0.0.1:%d" % info["proxy"]
        call("POST", cls.hub + "/_config", {"ready_delay_ms": 0})

    @classmethod
    def tearDownClass(cls):
        cls.p.terminate()
        cls.p.wait()

    def auth(self, extra=None):
        h = {"Authorization": "Bearer " + TOK}
        h.update(extra or {})
        return h

    def run_job(self, **extra):
        body = {"dockerImage": "python:3.12", "command": ["bash", "-c", "serve"], "arguments": [],
                "environment": {"E": "1"}, "flavor": "cpu-basic", "secrets": {"HF_SANDBOX_TOKEN": "sbx"},
                "timeoutSeconds": 600, "labels": {"corral.id": "hf-1"}}
        body.update(extra)
        st, j = call("POST", self.hub + "/api/jobs/me", body, self.auth())
        self.assertEqual(st, 200, j)
        return j

    def test_jobs_api(self):
        st, _ = call("POST", self.hub + "/api/jobs/me", {"dockerImage": "x", "command": ["a"]})
        self.assertEqual(st, 401)
        j = self.run_job()
        for k in ("id", "createdAt", "dockerImage", "command", "flavor", "labels", "status", "owner"):
            self.assertIn(k, j)
        self.assertEqual(j["status"]["stage"], "RUNNING")
        self.assertIsNone(j["secrets"]["HF_SANDBOX_TOKEN"])
        st, lst = call("GET", self.hub + "/api/jobs/me", headers=self.auth())
        self.assertIn(j["id"], [x["id"] for x in lst])
        self.assertEqual(call("GET", self.hub + "/api/jobs/me/nope", headers=self.auth())[0], 404)
        self.assertEqual(call("POST", self.hub + "/api/jobs/me", {"command": ["a"]}, self.auth())[0], 400)
        self.assertEqual(call("POST", self.hub + "/api/jobs/me/%s/cancel" % j["id"], headers=self.auth())[0], 200)
        st, j2 = call("GET", self.hub + "/api/jobs/me/" + j["id"], headers=self.auth())
        self.assertEqual(j2["status"]["stage"], "CANCELED")
        st, _ = call("GET", self.proxy + "/%s/health" % j["id"], headers=self.auth())
        self.assertEqual(st, 502)

    def test_sandbox_server(self):
        j = self.run_job()
        u = self.proxy + "/" + j["id"]
        self.assertEqual(call("GET", u + "/health")[0], 401)
        self.assertEqual(call("GET", u + "/health", headers=self.auth()), (200, {"ok": True}))
        self.assertEqual(call("POST", u + "/exec", {"cmd": ["true"]}, self.auth())[0], 422)
        self.assertEqual(call("POST", u + "/exec", {"cmd": ["true"]}, self.auth({"X-Sandbox-Token": "no"}))[0], 401)
        h = self.auth({"X-Sandbox-Token": "sbx"})
        st, r = call("POST", u + "/exec", {"cmd": ["sh", "-c", "echo $E; cat; exit 4"], "stdin": "in"}, h)
        self.assertEqual((st, r), (200, {"rc": 4, "stdout": "1\nin", "stderr": ""}))
        st, r = call("POST", u + "/exec", {"cmd": ["sleep", "30"], "timeout": 1}, h)
        self.assertEqual(r, {"rc": -1, "stdout": "", "stderr": "timeout"})
        # Python's returncode: -N for a command killed by signal N
        st, r = call("POST", u + "/exec", {"cmd": ["sh", "-c", "kill -KILL $$"]}, h)
        self.assertEqual((st, r["rc"]), (200, -9))
        self.assertEqual(call("POST", u + "/exec", {"cmd": ["true"], "workdir": "/nope"}, h)[0], 500)
        st, r = call("POST", u + "/write", {"path": "/workspace/a", "content_b64": base64.b64encode(b"\x00x").decode()}, h)
        self.assertEqual((st, r), (200, {"ok": True}))
        self.assertEqual(call("POST", u + "/write", {"path": "/no/dir/a", "content": "x"}, h)[0], 500)
        st, r = call("POST", u + "/read", {"path": "/workspace/a"}, h)
        self.assertEqual(base64.b64decode(r["content_b64"]), b"\x00x")
        st, r = call("POST", u + "/read", {"path": "/workspace/zz"}, h)
        self.assertEqual((st, r), (404, {"detail": "file not found: /workspace/zz"}))
        st, r = call("POST", u + "/exec", {"cmd": ["cat", "/workspace/a"]}, h)
        self.assertEqual(r["stdout"], "\x00x")

    def test_v1_server(self):
        j = self.run_job(secrets={"SBX_TOKEN": "sbx"})
        u = self.proxy + "/" + j["id"]
        h = self.auth({"X-Sandbox-Token": "sbx"})
        self.assertEqual(call("POST", u + "/v1/exec", {"cmd": "true"}, self.auth({"X-Sandbox-Token": "no"}))[0], 403)
        st, raw = call("POST", u + "/v1/exec", {"cmd": ["sh", "-c", "echo $V; cat; exit 3"], "env": {"V": "v"},
                                                "stdin": "s", "cwd": "/workspace"}, h)
        ev = [json.loads(l) for l in raw.decode().splitlines()]
        self.assertEqual(ev[0]["event"], "start")
        self.assertEqual([e["data"] for e in ev if e["event"] == "stdout"], ["v\ns"])
        self.assertEqual({k: ev[-1][k] for k in ("event", "exit_code", "signal", "timed_out")},
                         {"event": "exit", "exit_code": 3, "signal": None, "timed_out": False})
        st, raw = call("POST", u + "/v1/exec", {"cmd": "sleep 30 & sleep 30", "timeout": 0.5}, h)
        last = json.loads(raw.decode().splitlines()[-1])
        self.assertTrue(last["timed_out"])
        req = urllib.request.Request(u + "/v1/files/write?path=/workspace/d/e/f&mode=750", data=b"\x00\xff",
                                     method="PUT", headers=h)
        self.assertEqual(urllib.request.urlopen(req).status, 200)
        st, b = call("GET", u + "/v1/files/read?path=/workspace/d/e/f", headers=h)
        self.assertEqual((st, b), (200, b"\x00\xff"))
        self.assertEqual(call("GET", u + "/v1/files/read?path=/nope", headers=h)[0], 404)

    def test_root_confines_commands_and_files(self):
        """An absolute path means the job's file, in commands and in /read
        alike (tests/fakes/sandbox_root.py); writes never reach the host."""
        j = self.run_job()
        u = self.proxy + "/" + j["id"]
        h = self.auth({"X-Sandbox-Token": "sbx"})
        probe = "/corral-hf-probe-%d" % os.getpid()
        st, r = call("POST", u + "/exec", {"cmd": ["sh", "-c", "cat /etc/hostname; echo in > %s; "
                                                  "ln -s /etc/hostname /workspace/ln" % probe]}, h)
        self.assertEqual((st, r["rc"]), (200, 0), r)
        self.assertTrue(r["stdout"].startswith("sandbox-"), r)
        self.assertFalse(os.path.exists(probe), "a sandbox write reached the host")
        st, b = call("POST", u + "/read", {"path": probe}, h)
        self.assertEqual(base64.b64decode(b["content_b64"]), b"in\n")
        st, b = call("POST", u + "/read", {"path": "/workspace/ln"}, h)
        self.assertEqual(base64.b64decode(b["content_b64"]).decode(), r["stdout"])


if __name__ == "__main__":
    unittest.main()

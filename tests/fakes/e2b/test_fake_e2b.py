#!/usr/bin/env python3
"""Self-tests for fake_e2b.py: they pin the wire format the C plugin relies
on (Connect envelopes, error bodies, status codes) so the fake cannot drift
from e2b.md unnoticed.  Run: python3 -m unittest test_fake_e2b (or ctest)."""
import base64
import http.client
import json
import os
import struct
import subprocess
import sys
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "e2b_00112233445566778899"


def parse_envelopes(data):
    out = []
    while data:
        assert len(data) >= 5, "truncated envelope header"
        flags, n = struct.unpack(">BI", data[:5])
        assert len(data) >= 5 + n, "truncated envelope payload"
        out.append((flags, json.loads(data[5:5 + n])))
        data = data[5 + n:]
    return out


class FakeE2B(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_e2b.py"), "--api-key", KEY],
                                    stdout=subprocess.PIPE, text=True)
        line = cls.proc.stdout.readline()
        assert line.startswith("PORT="), line
        cls.port = int(line.strip()[5:])

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(10)

    def req(self, method, path, body=None, headers=None, key=KEY):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if key is not None:
            h["X-API-Key"] = key
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, r.getheader("Content-Type"), data, r

    def create(self, **kw):
        body = {"templateID": "base", "timeout": 60, "secure": True}
        body.update(kw)
        st, _, data, _ = self.req("POST", "/sandboxes", body)
        self.assertEqual(st, 201, data)
        return json.loads(data)

    def envd(self, sbx, path, body, ctype="application/json", extra=None):
        h = {"E2b-Sandbox-Id": sbx["sandboxID"], "E2b-Sandbox-Port": "49983",
             "X-Access-Token": sbx["envdAccessToken"], "Content-Type": ctype,
             "Connect-Protocol-Version": "1"}
        h.update(extra or {})
        return self.req("POST", path, body, h, key=None)

    def start(self, sbx, cmd, args, timeout_ms=None, **kw):
        msg = {"process": {"cmd": cmd, "args": args}, "stdin": False}
        msg.update(kw)
        raw = json.dumps(msg).encode()
        extra = {"Connect-Timeout-Ms": str(timeout_ms)} if timeout_ms is not None else {}
        st, ctype, data, _ = self.envd(sbx, "/process.Process/Start", struct.pack(">BI", 0, len(raw)) + raw,
                                       "application/connect+json", extra)
        self.assertEqual(st, 200)
        self.assertEqual(ctype, "application/connect+json")
        return parse_envelopes(data)

    def test_auth_missing_and_wrong_key(self):
        for key in (None, "e2b_wrong"):
            st, ctype, data, _ = self.req("GET", "/v2/sandboxes", key=key)
            self.assertEqual(st, 401)
            self.assertEqual(ctype, "application/json")
            body = json.loads(data)
            self.assertEqual(body["code"], 401)
            self.assertTrue(body["message"].startswith("Invalid API key"))

    def test_create_shape_and_validation(self):
        s = self.create(metadata={"a": "1"})
        self.assertEqual(len(s["sandboxID"]), 20)
        for k in ("templateID", "sandboxID", "clientID", "envdVersion", "envdAccessToken"):
            self.assertIn(k, s)
        self.assertIsNone(s["domain"])
        st, _, data, _ = self.req("POST", "/sandboxes", {"templateID": "base", "timeout": 0})
        self.assertEqual(st, 400)
        self.assertEqual(json.loads(data), {"code": 400, "message": "Timeout must be greater than 0"})
        st, _, data, _ = self.req("GET", "/sandboxes/" + s["sandboxID"])
        self.assertEqual(json.loads(data)["metadata"], {"a": "1"})
        self.assertEqual(self.req("DELETE", "/sandboxes/" + s["sandboxID"])[0], 204)
        st, _, data, _ = self.req("GET", "/sandboxes/" + s["sandboxID"])
        self.assertEqual(st, 404)
        self.assertIn("doesn't exist or you don't have access to it", json.loads(data)["message"])
        self.assertEqual(self.req("DELETE", "/sandboxes/" + s["sandboxID"])[0], 404)

    def test_network_rules_checked_and_recorded(self):
        # a domain in denyOut is refused with E2B's error body, like the real API
        st, _, data, _ = self.req("POST", "/sandboxes", {"templateID": "base", "timeout": 60,
                                                         "network": {"denyOut": ["evil.example.com"]}})
        self.assertEqual(st, 400)
        body = json.loads(data)
        self.assertEqual(body["code"], 400)
        self.assertIn("evil.example.com", body["message"])
        st, _, _, _ = self.req("POST", "/sandboxes", {"templateID": "base", "timeout": 60,
                                                      "network": {"allowOut": "pypi.org"}})
        self.assertEqual(st, 400)
        s = self.create(allow_internet_access=True,
                        network={"allowOut": ["pypi.org", "*.pythonhosted.org"], "denyOut": ["0.0.0.0/0"]})
        sid = s["sandboxID"]
        self.assertEqual(self.req("PUT", "/sandboxes/%s/network" % sid, {"allowOut": [], "denyOut": ["0.0.0.0/0"]})[0],
                         204)
        self.assertEqual(self.req("PUT", "/sandboxes/%s/network" % sid, {"denyOut": ["a.example"]})[0], 400)
        self.assertEqual(self.req("PUT", "/sandboxes/%s/network" % sid, {"allow_out": []})[0], 400)
        self.assertEqual(self.req("PUT", "/sandboxes/aaaaaaaaaaaaaaaaaaaa/network", {"allowOut": []})[0], 404)
        st, _, data, _ = self.req("GET", "/_fake/network", key=None)
        log = [e for e in json.loads(data) if e["sandboxID"] == sid]
        self.assertEqual([e["op"] for e in log], ["create", "update"])
        self.assertEqual(log[0]["network"]["allowOut"], ["pypi.org", "*.pythonhosted.org"])
        self.assertEqual(log[1]["network"], {"allowOut": [], "denyOut": ["0.0.0.0/0"]})
        self.assertEqual(self.req("DELETE", "/sandboxes/" + sid)[0], 204)

    def test_list_metadata_filter(self):
        s1 = self.create(metadata={"corral.id": "e2b-x1", "k": "a b&c"})
        s2 = self.create(metadata={"corral.id": "e2b-x2"})
        inner = urllib.parse.urlencode({"k": "a b&c"})
        st, _, data, r = self.req("GET", "/v2/sandboxes?" + urllib.parse.urlencode({"metadata": inner}))
        self.assertEqual(st, 200)
        self.assertEqual([x["sandboxID"] for x in json.loads(data)], [s1["sandboxID"]])
        st, _, data, r = self.req("GET", "/v2/sandboxes?limit=1&" +
                                  urllib.parse.urlencode({"metadata": "corral.id=e2b-x2"}))
        self.assertEqual([x["sandboxID"] for x in json.loads(data)], [s2["sandboxID"]])
        for s in (s1, s2):
            self.req("DELETE", "/sandboxes/" + s["sandboxID"])

    def test_start_stream_framing(self):
        s = self.create()
        ev = self.start(s, "/bin/sh", ["-c", "printf hi; printf err >&2; exit 3"])
        self.assertEqual(ev[0][0], 0)
        self.assertIn("pid", ev[0][1]["event"]["start"])
        self.assertEqual(ev[-1], (0x02, {}))
        out = b"".join(base64.b64decode(e[1]["event"]["data"].get("stdout", ""))
                       for e in ev if "data" in e[1].get("event", {}))
        self.assertEqual(out, b"hi")
        end = ev[-2][1]["event"]["end"]
        self.assertEqual(end, {"exitCode": 3, "exited": True, "status": "exit status 3", "error": "exit status 3"})
        ev = self.start(s, "/bin/true", [])
        self.assertEqual(ev[-2][1]["event"]["end"], {"exited": True, "status": "exit status 0"})
        self.req("DELETE", "/sandboxes/" + s["sandboxID"])

    def test_start_deadline_and_bad_cwd(self):
        s = self.create()
        t0 = time.monotonic()
        ev = self.start(s, "/bin/sleep", ["30"], timeout_ms=300)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(ev[-1][0], 0x02)
        self.assertEqual(ev[-1][1]["error"]["code"], "deadline_exceeded")
        ev = self.start(s, "/bin/true", [], process={"cmd": "/bin/true", "cwd": "/nope"})
        self.assertEqual(ev, [(0x02, {"error": {"code": "invalid_argument",
                                                 "message": "cwd '/nope' does not exist"}})])
        self.req("DELETE", "/sandboxes/" + s["sandboxID"])

    def test_envd_token_and_unary_errors(self):
        s = self.create()
        st, _, data, _ = self.envd(dict(s, envdAccessToken="bad"), "/filesystem.Filesystem/Stat", {"path": "/"})
        self.assertEqual(st, 401)
        self.assertEqual(json.loads(data)["code"], 401)
        st, _, data, _ = self.envd(s, "/filesystem.Filesystem/Stat", {"path": "/nope"})
        self.assertEqual(st, 404)
        self.assertEqual(json.loads(data)["code"], "not_found")
        st, _, _, _ = self.envd(s, "/filesystem.Filesystem/Stat", {"path": "/"}, ctype="text/plain")
        self.assertEqual(st, 415)
        st, _, data, _ = self.envd(s, "/filesystem.Filesystem/MakeDir", {"path": "/home/user/d/e"})
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(data)["entry"]["type"], "FILE_TYPE_DIRECTORY")
        st, _, data, _ = self.envd(s, "/filesystem.Filesystem/MakeDir", {"path": "/home/user/d/e"})
        self.assertEqual((st, json.loads(data)["code"]), (409, "already_exists"))
        st, _, data, _ = self.envd(s, "/process.Process/SendSignal",
                                   {"process": {"pid": 999999}, "signal": "SIGNAL_SIGKILL"})
        self.assertEqual((st, json.loads(data)["code"]), (404, "not_found"))
        st, _, data, _ = self.envd(dict(s, sandboxID="zzzzzzzzzzzzzzzzzzzz"), "/filesystem.Filesystem/Stat",
                                   {"path": "/"})
        self.assertEqual(st, 502)
        self.req("DELETE", "/sandboxes/" + s["sandboxID"])

    def test_files_roundtrip(self):
        s = self.create()
        h = {"E2b-Sandbox-Id": s["sandboxID"], "X-Access-Token": s["envdAccessToken"],
             "Content-Type": "application/octet-stream"}
        st, _, data, _ = self.req("POST", "/files?path=%2Fhome%2Fuser%2Fa%2Fb.txt", b"x\0y", h, key=None)
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(data)[0]["path"], "/home/user/a/b.txt")
        bnd = "BOUNDARY"
        mp = ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"/tmp/m.txt\"\r\n"
              "Content-Type: application/octet-stream\r\n\r\nmulti\r\n--%s--\r\n" % (bnd, bnd)).encode()
        st, _, data, _ = self.req("POST", "/files", mp, dict(h, **{"Content-Type": "multipart/form-data; boundary="
                                                                   + bnd}), key=None)
        self.assertEqual(st, 200, data)
        st, _, data, _ = self.req("GET", "/files?path=%2Fhome%2Fuser%2Fa%2Fb.txt", None, h, key=None)
        self.assertEqual((st, data), (200, b"x\0y"))
        st, _, data, _ = self.req("GET", "/files?path=/tmp/m.txt", None, h, key=None)
        self.assertEqual((st, data), (200, b"multi"))
        st, _, data, _ = self.req("GET", "/files?path=/nope", None, h, key=None)
        self.assertEqual(st, 404)
        self.assertEqual(json.loads(data), {"code": 404, "message": "path '/nope' does not exist"})
        self.req("DELETE", "/sandboxes/" + s["sandboxID"])

    def test_pause_connect_timeout_expiry(self):
        s = self.create()
        sid = s["sandboxID"]
        self.assertEqual(self.req("POST", "/sandboxes/%s/pause" % sid)[0], 204)
        self.assertEqual(self.req("POST", "/sandboxes/%s/pause" % sid)[0], 409)
        st, _, data, _ = self.req("GET", "/sandboxes/" + sid)
        self.assertEqual(json.loads(data)["state"], "paused")
        self.assertEqual(self.req("POST", "/sandboxes/%s/connect" % sid, {"timeout": 30})[0], 201)
        self.assertEqual(self.req("POST", "/sandboxes/%s/connect" % sid, {"timeout": 30})[0], 200)
        self.assertEqual(self.req("POST", "/sandboxes/%s/timeout" % sid, {"timeout": 1})[0], 204)
        for _ in range(100):
            if self.req("GET", "/sandboxes/" + sid)[0] == 404:
                break
            time.sleep(0.1)
        self.assertEqual(self.req("GET", "/sandboxes/" + sid)[0], 404)

    def test_paused_sandbox_outlives_its_timeout(self):
        # E2B kills a running sandbox at its timeout but never a paused one:
        # it stays, listed as "paused", until it is killed.
        s = self.create(timeout=1, metadata={"corral.id": "e2b-paused1"})
        r = self.create(timeout=1, metadata={"corral.id": "e2b-running1"})
        self.assertEqual(self.req("POST", "/sandboxes/%s/pause" % s["sandboxID"])[0], 204)
        time.sleep(2.5)
        self.assertEqual(self.req("GET", "/sandboxes/" + r["sandboxID"])[0], 404)
        st, _, data, _ = self.req("GET", "/v2/sandboxes?state=paused")
        self.assertIn(s["sandboxID"], [x["sandboxID"] for x in json.loads(data) if x["state"] == "paused"])
        st, _, data, _ = self.req("GET", "/v2/sandboxes")
        self.assertIn(s["sandboxID"], [x["sandboxID"] for x in json.loads(data)])
        self.assertEqual(self.req("DELETE", "/sandboxes/" + s["sandboxID"])[0], 204)
        self.assertEqual(self.req("GET", "/sandboxes/" + s["sandboxID"])[0], 404)

    def test_processes_see_the_sandbox_file_system(self):
        # A microVM has its own "/": absolute paths outside /home and /tmp
        # stay in the sandbox, where the file API finds them too.
        if not json.loads(self.req("GET", "/_fake/sandboxes")[2])["bwrap"]:
            self.skipTest("bubblewrap does not work here")
        s = self.create()
        name = "fake-e2b-selftest-%d" % os.getpid()
        ev = self.start(s, "/bin/sh", ["-c", "mkdir -p /logs/%s && echo in > /logs/%s/f && printf %%s \"$PATH\"" %
                                       (name, name)])
        out = b"".join(base64.b64decode(e[1]["event"]["data"].get("stdout", ""))
                       for e in ev if "data" in e[1].get("event", {}))
        self.assertEqual(out, b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        self.assertFalse(os.path.exists("/logs/" + name))
        h = {"E2b-Sandbox-Id": s["sandboxID"], "X-Access-Token": s["envdAccessToken"]}
        st, _, data, _ = self.req("GET", "/files?path=/logs/%s/f" % name, None, h, key=None)
        self.assertEqual((st, data), (200, b"in\n"))
        self.req("DELETE", "/sandboxes/" + s["sandboxID"])

    def test_links_and_host_files_resolve_inside(self):
        # /etc/hostname is the sandbox's, and a link a command makes to it
        # leads the file API to the sandbox's file, not the host's.
        if not json.loads(self.req("GET", "/_fake/sandboxes")[2])["bwrap"]:
            self.skipTest("bubblewrap does not work here")
        s = self.create()
        ev = self.start(s, "/bin/sh", ["-c", "cat /etc/hostname; ln -s /etc/hostname /tmp/ln"])
        out = b"".join(base64.b64decode(e[1]["event"]["data"].get("stdout", ""))
                       for e in ev if "data" in e[1].get("event", {}))
        self.assertTrue(out.startswith(b"sandbox-"), out)
        h = {"E2b-Sandbox-Id": s["sandboxID"], "X-Access-Token": s["envdAccessToken"]}
        self.assertEqual(self.req("GET", "/files?path=/tmp/ln", None, h, key=None)[2], out)
        self.req("DELETE", "/sandboxes/" + s["sandboxID"])

    def test_faults(self):
        self.req("POST", "/_fake/fault", {"method": "GET", "path": "/v2/sandboxes", "status": 503, "count": 2})
        self.assertEqual(self.req("GET", "/v2/sandboxes")[0], 503)
        self.assertEqual(self.req("GET", "/v2/sandboxes")[0], 503)
        self.assertEqual(self.req("GET", "/v2/sandboxes")[0], 200)
        before = json.loads(self.req("GET", "/_fake/sandboxes")[2])["created_total"]
        self.req("POST", "/_fake/fault", {"method": "POST", "path": "/sandboxes", "kind": "lost_create"})
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            self.req("POST", "/sandboxes", {"templateID": "base", "timeout": 30})
        st = json.loads(self.req("GET", "/_fake/sandboxes")[2])
        self.assertEqual(st["created_total"], before + 1)
        for s in st["sandboxes"]:
            self.req("DELETE", "/sandboxes/" + s["sandboxID"])


if __name__ == "__main__":
    unittest.main()

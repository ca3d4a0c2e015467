#!/usr/bin/env python3
"""A caching npm registry mirror for the tests: what an operator's registry
mirror is to cloud sandboxes (they reach it through
npm_config_registry, passed to the agent install with install_env).

GET requests are answered from the cache directory when it has the path
(per Accept kind: npm asks for abbreviated "install-v1" packuments), else
fetched from the upstream registry (this host's CA settings apply), stored,
and answered.  Tarball URLs in packuments are rewritten to this mirror, so
repeated test runs need no network once the cache is warm.
GET /-/mirror/stats answers {"hits": N, "fetched": N}.

Usage: npm_mirror.py --cache DIR [--port-file F] [--upstream URL]
"""
import argparse
import hashlib
import json
import os
import signal
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ABBREVIATED = "application/vnd.npm.install-v1+json"


class Mirror(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, cache, upstream):
        super().__init__(("127.0.0.1", 0), Handler)
        self.cache = cache
        self.upstream = upstream.rstrip("/")
        self.lock = threading.Lock()
        self.stats = {"hits": 0, "fetched": 0}

    def count(self, key):
        with self.lock:
            self.stats[key] += 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, ctype):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        srv = self.server
        if self.path == "/-/mirror/stats":
            with srv.lock:
                return self.send(200, json.dumps(srv.stats).encode(), "application/json")
        abbreviated = ABBREVIATED in (self.headers.get("Accept") or "")
        key = hashlib.sha256(("%s %s" % (abbreviated, self.path)).encode()).hexdigest()
        path = os.path.join(srv.cache, key)
        try:
            with open(path + ".type") as f:
                ctype = f.read()
            with open(path, "rb") as f:
                body = f.read()
            srv.count("hits")
        except OSError:
            req = urllib.request.Request(srv.upstream + self.path, headers={
                "Accept": ABBREVIATED if abbreviated else "application/json, */*", "Accept-Encoding": "identity"})
            try:
                with urllib.request.urlopen(req, timeout=120) as r:
                    body, ctype = r.read(), r.headers.get("Content-Type", "application/octet-stream")
            except urllib.error.HTTPError as e:
                return self.send(e.code, e.read(), e.headers.get("Content-Type", "application/json"))
            except (OSError, urllib.error.URLError) as e:
                return self.send(502, json.dumps({"error": str(e)}).encode(), "application/json")
            for suffix, data in (("", body), (".type", ctype.encode())):
                fd, tmp = tempfile.mkstemp(dir=srv.cache)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.rename(tmp, path + suffix)
            srv.count("fetched")
        if "json" in ctype:
            body = body.replace(srv.upstream.encode() + b"/",
                                ("http://127.0.0.1:%d/" % srv.server_address[1]).encode())
        self.send(200, body, ctype)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--port-file")
    ap.add_argument("--upstream", default="https://registry.npmjs.org")
    a = ap.parse_args()
    os.makedirs(a.cache, exist_ok=True)
    srv = Mirror(a.cache, a.upstream)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(a.port_file + ".tmp", a.port_file)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown, daemon=True).start())
    print("PORT=%d" % srv.server_address[1], flush=True)
    srv.serve_forever(poll_interval=0.2)
    sys.exit(0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A registry that misbehaves on purpose, for corral's image tests.

Serves the OCI distribution API's GETs for repositories named after the
fault they show (Python standard library only; 127.0.0.1, port 0; prints
{"port": N} and writes it to --port-file):

  good        a valid one-layer image (the control)
  mismatch    the layer's bytes differ from its digest (same length)
  truncated   the layer stops half-way and the connection closes
  oversize    the layer is longer than the manifest's size
  garbage     the manifest is not JSON
  stall       the layer sends a few bytes, then nothing for a minute
  dotdot      the layer has an entry '../escape'
  absolute    the layer has an entry '/abs'
  device      the layer has a character device
  symlink     the layer has 'link -> /' then 'link/tmp/escaped'
  token       like good, but only with a Bearer token from /token, which
              wants the login user:pass (basic auth) and issues 'tok-1'
  redirect    like token, and its blobs answer 307 to blob storage on
              another origin (http://localhost:PORT/storage/<digest>),
              which refuses any request carrying an Authorization header
Every repository answers tag "1"; blobs/<digest> by the manifest's
digests.
"""
import argparse
import base64
import hashlib
import http.server
import io
import json
import socketserver
import sys
import tarfile
import time


def tar_bytes(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if kind == "file":
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            elif kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = data
                t.addfile(ti)
            elif kind == "chr":
                ti.type = tarfile.CHRTYPE
                ti.devmajor, ti.devminor = 1, 3
                t.addfile(ti)
    return buf.getvalue()


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


GOOD = [("etc", "dir", None), ("etc/hello", "file", b"hello from the layer\n")]
LAYERS = {
    "good": GOOD, "mismatch": GOOD, "truncated": GOOD, "oversize": GOOD, "garbage": GOOD, "stall": GOOD,
    "token": GOOD, "redirect": GOOD,
    "dotdot": GOOD + [("../escape", "file", b"x")],
    "absolute": GOOD + [("/abs", "file", b"x")],
    "device": GOOD + [("etc/null", "chr", None)],
    "symlink": GOOD + [("link", "symlink", "/"), ("link/tmp/escaped", "file", b"x")],
}


class Repo:
    def __init__(self, name):
        # Each repository's layer differs (a file names it), so no two share a blob.
        self.layer = tar_bytes([("etc", "dir", None), ("etc/name", "file", name.encode())] + LAYERS[name][1:])
        self.config = json.dumps({"architecture": "amd64", "os": "linux",
                                  "config": {"Env": ["PATH=/bin"]},
                                  "rootfs": {"type": "layers", "diff_ids": [digest(self.layer)]}}).encode()
        self.manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": digest(self.config), "size": len(self.config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": digest(self.layer), "size": len(self.layer)}],
        }).encode()
        self.blobs = {digest(self.config): self.config, digest(self.layer): self.layer}


REPOS = {n: Repo(n) for n in LAYERS}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", ctype="application/json", length=None, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0]
        port = self.server.server_address[1]
        if path == "/token":
            auth = self.headers.get("Authorization", "")
            if auth != "Basic " + base64.b64encode(b"user:pass").decode():
                return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
            return self.send(200, json.dumps({"token": "tok-1"}).encode())
        if path.startswith("/storage/"):
            if self.headers.get("Authorization"):
                return self.send(400, b'{"error":"the registry\'s Authorization reached blob storage"}')
            d = path[len("/storage/"):]
            for r in REPOS.values():
                if d in r.blobs:
                    return self.send(200, r.blobs[d], ctype="application/octet-stream")
            return self.send(404)
        if path == "/v2/":
            return self.send(200, b"{}")
        parts = path.split("/")
        # /v2/<repo>/manifests/<ref> or /v2/<repo>/blobs/<digest>
        if len(parts) != 5 or parts[0] != "" or parts[1] != "v2" or parts[2] not in REPOS:
            return self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}')
        name, kind, ref = parts[2], parts[3], parts[4]
        repo = REPOS[name]
        if name in ("token", "redirect") and self.headers.get("Authorization") != "Bearer tok-1":
            chal = 'Bearer realm="http://127.0.0.1:%d/token",service="fake",scope="repository:token:pull"' % port
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', extra=[("WWW-Authenticate", chal)])
        if kind == "manifests" and ref in ("1", digest(repo.manifest)):
            if name == "garbage":
                return self.send(200, b"<html>this is not a manifest</html>",
                                 ctype="application/vnd.oci.image.manifest.v1+json")
            return self.send(200, repo.manifest, ctype="application/vnd.oci.image.manifest.v1+json",
                             extra=[("Docker-Content-Digest", digest(repo.manifest))])
        if kind == "blobs" and ref in repo.blobs and name == "redirect":
            return self.send(307, extra=[("Location", "http://localhost:%d/storage/%s" % (port, ref))])
        if kind == "blobs" and ref in repo.blobs:
            body = repo.blobs[ref]
            if ref == digest(repo.layer):
                if name == "mismatch":
                    body = bytes([body[0] ^ 1]) + body[1:]
                elif name == "oversize":
                    body = body + b"\0" * 4096
                elif name == "truncated":
                    self.send(200, body[: len(body) // 2], ctype="application/octet-stream", length=len(body))
                    self.wfile.flush()
                    self.close_connection = True
                    return
                elif name == "stall":
                    self.send(200, body[:100], ctype="application/octet-stream", length=len(body))
                    self.wfile.flush()
                    time.sleep(60)
                    self.close_connection = True
                    return
            return self.send(200, body, ctype="application/octet-stream")
        return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file")
    a = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.rename(a.port_file + ".tmp", a.port_file)
    print(json.dumps({"port": port}), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A token realm for a real docker-registry (auth: token), for corral's
image tests: the distribution token protocol's GET /token?service=&scope=,
answering {"token": JWT} signed RS256 with --key (openssl does the
signing: standard library only) and the certificate --cert in the JWT's
x5c header, which the registry checks against its rootcertbundle.

Pull access is granted only with the login user:pass as basic auth; a
wrong or missing login gets 401.  Listens on 127.0.0.1, port 0; prints
{"port": N} and writes it to --port-file.
"""
import argparse
import base64
import http.server
import json
import os
import socketserver
import subprocess
import time
import urllib.parse

ARGS = None


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def cert_der(path):
    pem = open(path).read()
    body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    return base64.b64decode("".join(body.split()))


def sign(claims):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(cert_der(ARGS.cert)).decode()]}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", ARGS.key], input=signing_input.encode(),
                         capture_output=True, check=True).stdout
    return signing_input + "." + b64url(sig)


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        if u.path != "/token":
            return self.reply(404, {})
        q = urllib.parse.parse_qs(u.query)
        want = "Basic " + base64.b64encode(b"user:pass").decode()
        if self.headers.get("Authorization") != want:
            return self.reply(401, {"details": "login required"})
        access = []
        for scope in q.get("scope", []):
            parts = scope.split(":")
            if len(parts) == 3 and parts[0] == "repository":
                access.append({"type": "repository", "name": parts[1], "actions": ["pull"]})
        now = int(time.time())
        claims = {"iss": "corral-test-issuer", "sub": "user", "aud": q.get("service", [""])[0],
                  "exp": now + 300, "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(), "access": access}
        self.reply(200, {"token": sign(claims), "expires_in": 300})


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--port-file")
    ARGS = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    if ARGS.port_file:
        with open(ARGS.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    print(json.dumps({"port": port}), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()

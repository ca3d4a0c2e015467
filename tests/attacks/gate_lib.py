"""Helpers for the gate attacks: start `corral gate serve`, derive tokens,
send raw HTTP.  Used by gate_memory.sh and gate_starve.sh."""
import hashlib, hmac, json, os, resource, socket, subprocess, time

SECRET = b"attack-secret-0123456789abcdef"


def serve(work, *args):
    """Start `corral gate serve` (replay responder, 1000 lines); returns (proc, host, port)."""
    script = os.path.join(work, "replay.jsonl")
    with open(script, "w") as f:
        f.write('{"content":"ok"}\n' * 1000)
    secret = os.path.join(work, "secret")
    with open(secret, "wb") as f:
        f.write(SECRET)
    p = subprocess.Popen([os.environ["CORRAL"], "gate", "serve", "--listen", "127.0.0.1:0",
                          "--responder", "replay:" + script, "--secret-file", secret] + list(args),
                         stdout=subprocess.PIPE, text=True)
    info = json.loads(p.stdout.readline())
    host, port = info["url"][len("http://"):].rsplit(":", 1)
    return p, host, int(port)


def token(rollout):
    return hmac.new(SECRET, rollout.encode(), hashlib.sha256).hexdigest()


def chat_body(n):
    return ('{"model":"m","messages":[{"role":"user","content":"' + "x" * n + '"}]}').encode()


def messages_body(n):
    """An Anthropic Messages body of about n bytes of text."""
    return ('{"model":"m","max_tokens":8,"messages":[{"role":"user","content":"' + "x" * n + '"}]}').encode()


def head(rollout, length, path="chat/completions"):
    """Request headers; a Messages path sends the token as x-api-key, as Anthropic clients do."""
    auth = ("x-api-key: %s" if path.startswith("messages") else "Authorization: Bearer %s") % token(rollout)
    return ("POST /rollout/%s/v1/%s HTTP/1.1\r\nHost: gate\r\n%s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (rollout, path, auth, length)).encode()


def call(host, port, rollout, body, timeout=30, path="chat/completions"):
    """One call on a fresh connection: the HTTP status, or an exception's name."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(head(rollout, len(body), path))
        try:
            s.sendall(body)
        except OSError:
            pass  # refused before the body: read the answer
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return int(data.split(b" ")[1]) if data.startswith(b"HTTP/1.1 ") else "closed"
    except OSError as e:
        return type(e).__name__
    finally:
        s.close()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def more_fds():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

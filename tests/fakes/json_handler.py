"""The request handler both fake model APIs (fake_vllm.py, fake_anthropic.py)
build on: HTTP/1.1 keep-alive, silent, and one way to answer JSON."""
import json
from http.server import BaseHTTPRequestHandler


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def announce_and_serve(srv, port_file=None):
    """Print {"port", "pid"} on stdout and, atomically, to port_file (a
    test polls it), then serve until interrupted.  Returns 0."""
    import os
    info = json.dumps({"port": srv.server_address[1], "pid": os.getpid()})
    if port_file:
        with open(port_file + ".tmp", "w") as f:
            f.write(info + "\n")
        os.replace(port_file + ".tmp", port_file)
    print(info, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0

# Floods corral's egress proxy over its unix socket (tests/integration/
# egress_flood.sh): CONNS connections at once, re-opened as the proxy closes
# them (503 past its cap, 408 at its header timeout), SLOW of them trickling
# a request head one byte a second (slowloris).  Runs until STOPFILE
# exists; then writes "opened N answered_503 M" to OUT.
#   proxy_flood.py SOCKET_GLOB STOPFILE OUT [CONNS] [SLOW]
import glob, resource, selectors, socket, sys, time

pattern, stopfile, out = sys.argv[1:4]
conns = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
slow = int(sys.argv[5]) if len(sys.argv) > 5 else 50
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, conns + 256)), hard))

import os
path = None
while not path:
    if os.path.exists(stopfile):
        open(out, "w").write("opened 0 answered_503 0 (no socket)\n"); sys.exit(0)
    found = glob.glob(pattern)
    path = found[0] if found else None
    time.sleep(0.05)

HEAD = b"GET http://a.test/slow HTTP/1.1\r\nHost: a.test\r\nX-Slow: " + b"x" * 4096
sel = selectors.DefaultSelector()
opened = got503 = 0
state = {}  # sock -> [is_slow, bytes of HEAD sent, answer so far]

def open_one(is_slow):
    global opened
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError:
        s.close(); return
    s.setblocking(False)
    opened += 1
    state[s] = [is_slow, 0, b""]
    sel.register(s, selectors.EVENT_READ)

for i in range(conns):
    open_one(i < slow)
last_tick = time.time()
while not os.path.exists(stopfile):
    for key, _ in sel.select(timeout=0.2):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        st = state[s]
        st[2] += data
        if not data:
            if st[2].startswith(b"HTTP/1.1 503") or st[2].startswith(b"HTTP/1.0 503"):
                got503 += 1
            sel.unregister(s); s.close(); del state[s]
    now = time.time()
    if now - last_tick >= 1.0:  # a byte a second on the slow ones; refill what was closed
        last_tick = now
        for s, st in list(state.items()):
            if st[0] and st[1] < len(HEAD):
                try:
                    s.send(HEAD[st[1]:st[1] + 1]); st[1] += 1
                except OSError:
                    pass
        n_slow = sum(1 for st in state.values() if st[0])
        for i in range(conns - len(state)):
            open_one(i < slow - n_slow)
open(out, "w").write("opened %d answered_503 %d\n" % (opened, got503))

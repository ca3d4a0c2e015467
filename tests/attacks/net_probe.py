# net_probe.py listen DIR | probe PORT NAME: "listen" (host side) opens a
# TCP listener on 127.0.0.1 and an abstract unix socket, writes the port and
# the socket's name to DIR/port and DIR/name, and serves until killed;
# "probe" (inside a sandbox) tries both, and the TCP port on every address of
# its default gateway, printing "REACHED ..." for each that connects.
import os, socket, sys, threading
if sys.argv[1] == "listen":
    t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen(16)
    name = "corral-attack-%d" % os.getpid()
    u = socket.socket(socket.AF_UNIX); u.bind("\0" + name); u.listen(16)
    open(os.path.join(sys.argv[2], "name"), "w").write(name)
    open(os.path.join(sys.argv[2], "port"), "w").write(str(t.getsockname()[1]))
    def serve(s):
        while True:
            c, _ = s.accept(); c.close()
    threading.Thread(target=serve, args=(u,), daemon=True).start()
    serve(t)
port, name = int(sys.argv[2]), sys.argv[3]
def try_connect(fam, addr, what):
    s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(3)
    try:
        s.connect(addr); print("REACHED", what, flush=True)
    except OSError as e:
        print("refused", what, e, flush=True)
try_connect(socket.AF_INET, ("127.0.0.1", port), "host loopback tcp")
try_connect(socket.AF_UNIX, "\0" + name, "host abstract unix socket")
for line in open("/proc/net/route").read().splitlines()[1:]:
    f = line.split()
    if f[1] == "00000000":
        gw = socket.inet_ntoa(int(f[2], 16).to_bytes(4, "little"))
        try_connect(socket.AF_INET, (gw, port), "gateway %s tcp" % gw)

#!/bin/bash
# Issue 15 item 12: one agent must not starve the others through a shared
# gate.  (a) 2500 connections that send a call's headers for one rollout
# and never its body: they held the gate's connections (120 s) and another
# rollout's call was not answered; now a rollout has 32 connection slots
# (429 beyond).  (b) slowloris: 2500 connections trickling header bytes
# forever stalled `corral gate serve`; now a request has idle_timeout_s to
# complete its headers however it paces them.  In both, another rollout's
# call is answered meanwhile.
source "$(dirname "$0")/../integration/lib.sh"
run python3 - "$WORK" <<'PY'
import os, socket, sys, threading, time
sys.path.insert(0, os.path.join(os.environ["SOURCE_DIR"], "tests/attacks"))
import gate_lib as gl
gl.more_fds()
# GATE_ATTACK_ARGS="" runs it against a corral without --idle-timeout (main before the fix)
p, host, port = gl.serve(sys.argv[1], *os.environ.get("GATE_ATTACK_ARGS", "--idle-timeout 3").split())

def victim(out, timeout):
    t0 = time.time()
    out.append(gl.call(host, port, "victim", gl.chat_body(10), timeout=timeout))
    out.append(time.time() - t0)

try:
    hog = []
    for _ in range(2500):
        try:
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(gl.head("hog", 100000) + b"{")
            hog.append(s)
        except OSError:
            pass
    time.sleep(1)
    res = []
    victim(res, 10)
    print("half-open:", len(hog), "victim:", res)
    print("HALF_OPEN_OK" if res[0] == 200 else "HALF_OPEN_STARVED")
    for s in hog:
        s.close()
    time.sleep(1)

    slow = []
    for _ in range(2500):
        try:
            s = socket.create_connection((host, port), timeout=5)
            s.setblocking(False)
            s.send(b"POST /rollout/slow/v1/chat/completions HTTP/1.1\r\nX-Pad: ")
            slow.append(s)
        except OSError:
            pass
    res = []
    th = threading.Thread(target=victim, args=(res, 15))
    started = time.time()
    th.start()
    while th.is_alive() and time.time() - started < 20:
        for s in slow:
            try:
                s.send(b"a")
            except OSError:
                pass
        time.sleep(0.5)
    th.join()
    print("slowloris:", len(slow), "victim:", res)
    print("SLOWLORIS_OK" if res and res[0] == 200 else "SLOWLORIS_STALLED")
    for s in slow:
        s.close()
finally:
    p.terminate()
    p.wait()
PY
check "the starvation attacks ran ($OUT)" [ "$RC" -eq 0 ]
check "2500 half-open calls of one rollout do not starve another" has "$OUT" HALF_OPEN_OK
check "a slowloris client does not stall corral gate serve" has "$OUT" SLOWLORIS_OK
finish

# pty_run.py OUT CMD...: run CMD on a new pseudo-terminal (its controlling
# terminal, as a user's interactive shell has), then let a shell on that
# terminal read for 2 s what was typed into it; everything the terminal
# showed goes to OUT.  "TYPED<...>" in OUT means something was injected.
import os, pty, sys, select, time
out, cmd = sys.argv[1], sys.argv[2:]
pid, master = pty.fork()
if pid == 0:
    script = '"$@" </dev/tty; if read -r -t 2 line; then echo "TYPED<$line>"; fi'
    os.execvp("bash", ["bash", "-c", script, "bash"] + cmd)
buf = b""
deadline = time.time() + 120
while time.time() < deadline:
    r, _, _ = select.select([master], [], [], 1)
    if r:
        try:
            d = os.read(master, 4096)
        except OSError:
            break
        if not d:
            break
        buf += d
os.waitpid(pid, 0)
open(out, "wb").write(buf)

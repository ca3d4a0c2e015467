# Run inside a sandbox: try to type a command into every terminal reachable
# (fds 0-2 and /dev/tty) with TIOCSTI.  Prints one line per attempt; the
# caller fails when any says "INJECTED".
import fcntl, os, termios
payload = b"echo CORRAL_PWNED_MARKER\n"
def attempt(name, fd):
    try:
        for ch in payload:
            fcntl.ioctl(fd, termios.TIOCSTI, bytes([ch]))
        print("INJECTED via", name, flush=True)
    except OSError as e:
        print("refused", name, e.strerror, flush=True)
for fd in (0, 1, 2):
    attempt("fd%d" % fd, fd)
try:
    fd = os.open("/dev/tty", os.O_RDWR)
except OSError as e:
    print("refused /dev/tty open", e.strerror, flush=True)
else:
    attempt("/dev/tty", fd)

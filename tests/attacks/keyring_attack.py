# keyring_attack.py run CMD... | probe SERIAL: "run" puts a user key into
# its session keyring (the host side of the test) and execs CMD with the
# key's serial in $KEY_SERIAL (CMD inherits the keyring); "probe" (inside a sandbox) tries to read that key, to find it in
# its session keyring, and to add a key of its own.  Raw syscalls through
# ctypes: no keyutils needed.
import ctypes, os, platform, sys
libc = ctypes.CDLL(None, use_errno=True)
NR = {"x86_64": (248, 249, 250), "aarch64": (217, 218, 219)}[platform.machine()]
SYS_add_key, SYS_request_key, SYS_keyctl = NR
KEY_SPEC_SESSION_KEYRING = ctypes.c_int(-3)
KEYCTL_READ, KEYCTL_SEARCH = 11, 10
def call(nr, *a):
    r = libc.syscall(nr, *a)
    return r, os.strerror(ctypes.get_errno()) if r < 0 else "ok"
if sys.argv[1] == "run":
    r, e = call(SYS_add_key, b"user", b"corral-attack-key", b"HOST_KEY_PAYLOAD_42", 19, KEY_SPEC_SESSION_KEYRING)
    if r < 0:
        sys.exit("add_key on the host: " + e)
    buf = ctypes.create_string_buffer(128)
    if call(SYS_keyctl, KEYCTL_READ, r, buf, 128)[0] < 0:
        sys.exit("the host cannot read its own key")
    os.environ["KEY_SERIAL"] = str(r)
    os.execvp(sys.argv[2], sys.argv[2:])
serial = int(sys.argv[2])
buf = ctypes.create_string_buffer(128)
r, e = call(SYS_keyctl, KEYCTL_READ, serial, buf, 128)
print("read host key:", r, e, buf.value.decode(errors="replace"))
r, e = call(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, b"user", b"corral-attack-key", 0)
print("search session keyring:", r, e)
r, e = call(SYS_request_key, b"user", b"corral-attack-key", None, 0)
print("request_key:", r, e)
r, e = call(SYS_add_key, b"user", b"inside-key", b"x", 1, KEY_SPEC_SESSION_KEYRING)
print("add_key inside:", r, e)

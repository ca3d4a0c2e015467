"""Seeded random faults shared by the fakes (issue 22), off by default.

CORRAL_FAKE_FAULTS="rate=0.2,seed=7,modes=drop_after+reset+503" (or the
fakes' --faults flag) makes each API request (never the /_ admin API) fail
with probability `rate`, in one of the modes:

  drop_after  do the work, then drop the connection (a lost answer: every
              create-like call, lookup and exec start can meet it)
  reset       drop the connection before the work
  503         answer 503 before the work (the services' "nothing ran")

The fake reports every exec start to note_exec(); a start whose request is
byte-identical to one that was executed and then dropped, within
RESEND_WINDOW_S, is a resend of a command that already ran: a double
execution (the command id is the digest of sandbox, endpoint and body).
A command that changes nothing when run twice (rerun_safe(): corral's own
helpers, `true`, `mkdir -p`, `chmod`, `rm -f`, which the islo plugin re-sends
on purpose after a lost answer) is counted as a rerun, not a double execution.
GET /_faults on the fake's admin listener returns summary().
"""
import hashlib
import os
import random
import threading
import time

MODES = ("drop_after", "reset", "503")
RESEND_WINDOW_S = 0.3  # libcurl resends at once, the host after its short backoff (a heuristic:
# an identical command legitimately run again this fast would be flagged too)


RERUN_SAFE = {"true": None, "mkdir": ["-p", "--"], "chmod": None, "rm": ["-f", "--"]}


def rerun_safe(argv):
    """True when argv (an exec's command array, after an optional
    `timeout -k K S` prefix) is a command whose second run changes nothing."""
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        return False
    if argv[:2] == ["timeout", "-k"] and len(argv) > 4:
        argv = argv[4:]
    if not argv or argv[0] not in RERUN_SAFE:
        return False
    flags = RERUN_SAFE[argv[0]]
    if argv[0] == "chmod":
        return len(argv) == 4 and argv[2] == "--" and argv[1].isdigit()
    return flags is None and len(argv) == 1 or flags is not None and argv[1:3] == flags


class RandomFaults:
    def __init__(self, spec=None):
        spec = os.environ.get("CORRAL_FAKE_FAULTS", "") if spec is None else spec
        kv = dict(p.split("=", 1) for p in spec.split(",") if "=" in p)
        self.rate = float(kv.get("rate", "0"))
        self.modes = [m for m in kv.get("modes", "+".join(MODES)).split("+") if m in MODES]
        self.rng = random.Random(int(kv.get("seed", "1")))
        self.lock = threading.Lock()
        self.injected = {m: 0 for m in MODES}
        self.execs = {}          # command id -> times executed
        self.dropped = {}        # command id -> when it ran and its answer was dropped
        self.double = []         # command ids executed again after a dropped answer
        self.reruns = 0          # rerun-safe commands executed again after a dropped answer

    def pick(self, method, path):
        """A fault in the fakes' /_fault shape for this request, or None."""
        if self.rate <= 0 or not self.modes:
            return None
        with self.lock:
            if self.rng.random() >= self.rate:
                return None
            mode = self.rng.choice(self.modes)
            self.injected[mode] += 1
        if mode == "drop_after":
            return {"reset_mode": "after", "random": True}
        if mode == "reset":
            return {"reset_mode": "before", "random": True}
        return {"status": 503, "random": True}

    def note_exec(self, sandbox, endpoint, raw, fault, safe=False):
        """Count one execution of an exec start that was processed; `fault`
        is the fault the request met (None, or the dict from pick/_fault);
        `safe`: the command is rerun_safe()."""
        if isinstance(raw, str):
            raw = raw.encode()
        cid = hashlib.sha256(b"\0".join([str(sandbox).encode(), endpoint.encode(), raw or b""])).hexdigest()[:16]
        now = time.monotonic()
        with self.lock:
            self.execs[cid] = self.execs.get(cid, 0) + 1
            t = self.dropped.pop(cid, None)
            if t is not None and now - t < RESEND_WINDOW_S and safe:
                self.reruns += 1
            elif t is not None and now - t < RESEND_WINDOW_S:
                self.double.append({"id": cid, "request": raw[:300].decode(errors="replace")})
            if fault and fault.get("reset_mode") == "after":
                self.dropped[cid] = now
        return cid

    def summary(self):
        with self.lock:
            return {"rate": self.rate, "modes": self.modes, "injected": dict(self.injected),
                    "execs": sum(self.execs.values()), "double_exec": list(self.double),
                    "safe_reruns": self.reruns}

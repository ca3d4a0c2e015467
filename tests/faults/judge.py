#!/usr/bin/env python3
"""Judge one cell of the cloud fault matrix (rollout_matrix.sh).

Reads corral's JSONL results, the fake's fault accounting and state (its
admin API, never faulted) and corral's registry; prints what is wrong, one
line each, and last the cell's row of the summary table.  Exit 0 when the
cell holds:

- corral ended normally with one result per rollout, exit 1 when one of
  them ended with an error, else 0;
- a write_file rollout scored 1 or ended with an error of a documented
  class (docs/rollout.md "Error classes": task, agent, infrastructure) and
  a message; wrong_file (the control) never scored 1; a reward of 1 always
  comes with test.sh exiting 0 and printing "test: passed";
- the fake saw no command executed twice after a lost answer;
- nothing is left on the fake: no e2b sandbox, no live islo sandbox, no
  islo `corral-*` gateway profile, no live hf job; and nothing in corral's
  registry (CORRAL_STATE_DIR/sandboxes).
"""
import argparse
import glob
import json
import os
import sys
import time
import urllib.request

CLASSES = ("task", "agent", "infrastructure")


def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)


def fake_paths(backend):
    """(faults path, state path) on the fake's admin listener."""
    return ("/_fake/faults", "/_fake/sandboxes") if backend == "e2b" else ("/_faults", "/_state")


def left_on_fake(backend, st):
    """What the fake still holds alive, as short strings."""
    if backend == "e2b":
        return ["sandbox %s (%s)" % (s["sandboxID"], s.get("state")) for s in st["sandboxes"]]
    if backend == "islo":
        live = ["sandbox %s (%s)" % (n, s.get("status")) for n, s in st["sandboxes"].items()
                if s.get("status") not in ("deleted", "terminated")]
        return live + ["gateway profile %s" % p.get("name", i) for i, p in st["profiles"].items()
                       if str(p.get("name", "")).startswith("corral-")]
    return ["job %s (%s)" % (i, j["status"]["stage"]) for i, j in st["jobs"].items()
            if j["status"]["stage"] not in ("COMPLETED", "CANCELED", "ERROR", "DELETED")]


def judge_result(r, bad):
    """Classify one RolloutResult: 'ok' (scored 1 by a passing test) or
    'classified' (a documented error, or the control's reward 0); appends
    to `bad` what breaks the rules."""
    task = os.path.basename(str(r.get("task", {}).get("dir", "")).rstrip("/"))
    rid = r.get("rollout_id", "?")
    err, reward = r.get("error"), r.get("reward")
    if reward == 1:
        tests = [v for v in r.get("verify", []) if v.get("argv") == ["/bin/bash", "/tests/test.sh"]]
        if not tests or tests[0].get("exit_code") != 0 or "test: passed" not in tests[0].get("stdout", ""):
            bad.append("%s %s: reward 1 without the test passing: %s" % (task, rid, json.dumps(r.get("verify"))[:300]))
        if task != "write_file":
            bad.append("%s %s: the control scored 1" % (task, rid))
        return "ok"
    if err is None:
        if task == "wrong_file" and reward == 0:
            return "ok"
        bad.append("%s %s: no error but reward %r" % (task, rid, reward))
        return "bad"
    if err.get("class") not in CLASSES or not all(err.get(k) for k in ("message", "phase", "status")):
        bad.append("%s %s: unclassified error %s" % (task, rid, json.dumps(err)))
        return "bad"
    return "classified"


def main():
    ap = argparse.ArgumentParser()
    for a in ("--backend", "--admin", "--results", "--state-dir", "--row"):
        ap.add_argument(a, required=True)
    ap.add_argument("--rc", type=int, required=True)
    ap.add_argument("--expect", type=int, required=True)
    a = ap.parse_args()
    bad, notes = [], []
    if a.rc not in (0, 1):
        bad.append("corral exited %d (a crash, a timeout or a refusal)" % a.rc)
    results = []
    try:
        with open(a.results) as f:
            text = f.read()
        try:  # one rollout: one (pretty-printed) document; several: JSONL
            results = [json.loads(text)]
        except ValueError:
            results = [json.loads(line) for line in text.splitlines() if line.strip()]
    except (OSError, ValueError) as e:
        bad.append("results unreadable: %s" % e)
    if len(results) != a.expect:
        bad.append("%d results, %d rollouts" % (len(results), a.expect))
    verdicts = [judge_result(r, bad) for r in results]
    if results and a.rc in (0, 1) and a.rc != any(r.get("error") for r in results):
        bad.append("corral exited %d although %s rollout ended with an error" % (a.rc, "a" if a.rc == 0 else "no"))
    for r in results:
        if r.get("error"):
            e = r["error"]
            notes.append("%s/%s: %s" % (e.get("class"), e.get("phase"), str(e.get("message"))[:200]))
    fpath, spath = fake_paths(a.backend)
    faults = get(a.admin + fpath)
    doubles = len(faults["double_exec"])
    if doubles:
        bad.append("commands executed twice: %s" % json.dumps(faults["double_exec"])[:600])
    for _ in range(50):  # asynchronous teardown on the fake (islo's delete delay)
        left = left_on_fake(a.backend, get(a.admin + spath))
        if not left:
            break
        time.sleep(0.1)
    left += ["registry entry %s" % os.path.basename(p)
             for p in glob.glob(os.path.join(a.state_dir, "sandboxes", "*.json"))]
    if left:
        bad.append("left behind: %s" % ", ".join(left))
    for b in bad:
        print("FAIL:", b)
    for n in sorted(set(notes)):
        print("error seen:", n)
    print("faults injected: %s" % json.dumps(faults["injected"]))
    b, mode, secs = a.row.split()
    print("%-5s %-11s %4d %4d %11d %7d %6d  %s%s" % (
        b, mode, len(results), verdicts.count("ok"), verdicts.count("classified"), doubles, len(left),
        secs, "" if not bad else " FAIL"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

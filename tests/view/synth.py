"""Synthetic results JSONL for corral view at scale (tests/view/view_large.py,
tests/bench/view_render.py): `attempts` attempts per task, about 3% of
rollouts failing in create (infrastructure), 5% timing out (agent), rewards
of 0 or 1, lognormal phase times, three agent events and two model calls
each (the second with token ids).  Seeded: the same n gives the same file."""
import json
import random


def write(path, n, attempts=8, seed=1):
    rnd = random.Random(seed)
    PHASES = ["load", "gate", "create", "hydrate", "setup", "agent", "verify", "destroy"]
    with open(path, "w") as f:
        for i in range(n):
            task, att = divmod(i, attempts)
            err = None
            r = rnd.random()
            if r < 0.03:
                err = {"class": "infrastructure", "phase": "create", "message": "sandbox create failed", "status": "transient failure"}
            elif r < 0.08:
                err = {"class": "agent", "phase": "agent", "message": "agent timed out after 900 s", "status": "timed out"}
            reward = None if err else float(rnd.random() < 0.4 + 0.5 * (task % 7) / 7)
            t = {p: int(rnd.lognormvariate(3 if p != "agent" else 9, 1)) for p in PHASES}
            t["total"] = sum(t.values())
            msgs = [{"role": "system", "content": "You are a coding agent. " * 20},
                    {"role": "user", "content": "Fix the failing test in task %d." % task}]
            call1 = {"seq": 1, "dialect": "chat_completions", "status": 200, "latency_ms": rnd.randrange(200, 4000),
                     "request": {"messages": msgs},
                     "response": {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [
                         {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{\"command\":\"pytest -x\"}"}}]},
                         "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 812, "completion_tokens": 31}}}
            msgs2 = msgs + [call1["response"]["choices"][0]["message"],
                            {"role": "tool", "tool_call_id": "c1", "content": "1 failed, 12 passed\n" * 5}]
            call2 = {"seq": 2, "dialect": "chat_completions", "status": 200, "latency_ms": rnd.randrange(200, 4000),
                     "request": {"messages": msgs2}, "token_ids": [1, 2, 3],
                     "response": {"choices": [{"message": {"role": "assistant", "content": "Fixed it."},
                                               "finish_reason": "stop"}], "usage": {"prompt_tokens": 901, "completion_tokens": 4}}}
            doc = {"rollout_id": "r-%016x" % i, "task": {"dir": "tasks/t%04d" % task, "name": "task-%04d" % task},
                   "attempt": att, "task_digest": "sha256:%064x" % task,
                   "agent": {"name": "pi", "version": "0.73.1", "status": "failed" if err else "success", "exit_code": 0,
                             "timed_out": False, "stderr_tail": ""},
                   "sandbox": {"backend": "docker", "id": "docker-%x" % i}, "reward": reward, "error": err,
                   "timings_ms": t, "setup": [], "verify": [{"argv": ["/bin/bash", "/tests/test.sh"], "exit_code": 0,
                                                              "timed_out": False, "duration_ms": 900, "stdout": "ok\n", "stderr": ""}],
                   "events": [{"kind": "tool_call", "seq": 0, "name": "bash", "input": {"command": "pytest -x"}},
                              {"kind": "tool_result", "seq": 1, "name": "bash", "is_error": False, "output": "1 failed"},
                              {"kind": "done", "seq": 2}],
                   "transcript": [call1, call2]}
            if reward is not None:
                doc["reward_source"] = "reward.txt"
            f.write(json.dumps(doc) + "\n")

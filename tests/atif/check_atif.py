#!/usr/bin/env python3
"""Validate ATIF trajectory files: tests/atif/atif-v1.7.schema.json (python3-jsonschema), plus the rules
of ATIF-v1.7 a JSON Schema cannot say (Harbor's validators): step_id sequential from 1, every observation
source_call_id a tool_call_id of the same step, a step's timestamp ISO 8601, embedded subagent trajectory_ids unique.  Prints one line
per invalid file and exits 1 when any is.  Usage: check_atif.py FILE..."""
import datetime
import json
import os
import sys

import jsonschema

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "atif-v1.7.schema.json")


def rules(t, where):
    for i, step in enumerate(t["steps"]):
        if step["step_id"] != i + 1:
            yield f"{where}steps[{i}].step_id is {step['step_id']}, not {i + 1}"
        if step.get("timestamp") is not None:
            try:  # the RFC: an ISO 8601 timestamp; corral writes UTC RFC 3339 with milliseconds
                datetime.datetime.fromisoformat(step["timestamp"])
            except ValueError:
                yield f"{where}step {step['step_id']}: timestamp {step['timestamp']!r} is not ISO 8601"
        ids = {c["tool_call_id"] for c in step.get("tool_calls") or []}
        for r in (step.get("observation") or {}).get("results", []):
            if r.get("source_call_id") is not None and r["source_call_id"] not in ids:
                yield f"{where}step {step['step_id']}: source_call_id {r['source_call_id']!r} is no tool call of it"
    seen = set()
    for j, sub in enumerate(t.get("subagent_trajectories") or []):
        if sub["trajectory_id"] in seen:
            yield f"{where}subagent_trajectories[{j}]: trajectory_id repeated"
        seen.add(sub["trajectory_id"])
        yield from rules(sub, f"{where}subagent_trajectories[{j}].")


def main(files):
    with open(SCHEMA) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    bad = 0
    for path in files:
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print(f"{path}: {e}")
            bad += 1
            continue
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
        if not errors:
            errors = list(rules(doc, ""))
        for e in errors[:5]:
            print(f"{path}: {e}")
        bad += bool(errors)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/bin/sh
# Reward 1 only when out.txt is right; the marker line lets the matrix check
# that a reward of 1 comes from this test passing.
if [ "$(cat /workspace/out.txt 2>/dev/null)" = "fault matrix" ]; then echo "test: passed"; echo 1 > /logs/verifier/reward.txt
else echo "test: failed"; echo 0 > /logs/verifier/reward.txt; fi

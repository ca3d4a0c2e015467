#!/bin/bash
# No reward.txt: the reward comes from the exit status.
test "$(cat /workspace/answer.txt)" = 42

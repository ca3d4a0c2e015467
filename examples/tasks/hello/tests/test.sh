#!/bin/bash
# Reward 1 when hello.txt holds exactly "Hello, world!", else 0.
if [ "$(cat /workspace/hello.txt 2>/dev/null)" = "Hello, world!" ]; then
  echo 1 > /logs/verifier/reward.txt
else
  echo "hello.txt is missing or wrong: $(head -c 200 /workspace/hello.txt 2>&1)"
  echo 0 > /logs/verifier/reward.txt
fi

#!/bin/bash
# Reward 1 when answer.txt holds the word and the MCP server recorded the
# tool call that gave it out, else 0.
if [ "$(cat /workspace/answer.txt 2>/dev/null)" = "PAPAYA-7" ] && grep -qx secret /workspace/.mcp/calls 2>/dev/null; then
  echo 1 > /logs/verifier/reward.txt
else
  echo "answer.txt: $(head -c 200 /workspace/answer.txt 2>&1); calls: $(head -c 200 /workspace/.mcp/calls 2>&1)"
  echo 0 > /logs/verifier/reward.txt
fi

#!/bin/bash
# Harbor's contract: run from the working directory, reward in /logs/verifier.
echo "greeting: $GREETING, plain: $PLAIN, pwd: $(pwd)"
if [ "$(cat hello.txt 2>/dev/null)" = "$GREETING, world!" ] && [ "$PLAIN" = "plain value" ]; then
  echo 1 > /logs/verifier/reward.txt
else
  echo 0 > /logs/verifier/reward.txt
fi

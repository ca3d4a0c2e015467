#!/bin/bash
# The oracle: relative to the task's working directory (/app).
echo "$GREETING, world!" > hello.txt

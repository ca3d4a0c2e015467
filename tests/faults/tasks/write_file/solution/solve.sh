#!/bin/sh
printf 'fault matrix\n' > /workspace/out.txt

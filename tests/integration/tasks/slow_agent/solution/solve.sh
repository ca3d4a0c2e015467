#!/bin/bash
# A child that would outlive the agent if the process group were not killed.
(sleep 3017; echo survived > /workspace/survivor.txt) &
sleep 3017

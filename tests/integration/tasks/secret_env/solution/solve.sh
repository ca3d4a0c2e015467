#!/bin/bash
sleep 1
printf '%s' "${#CORRAL_TEST_SECRET}" > len.txt

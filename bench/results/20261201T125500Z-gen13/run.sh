#!/bin/bash
# usage: run.sh BIN TAG [extra rush args]   -> /tmp/gen/res/TAG.{json,err,cpu.tsv}
BIN=$1; TAG=$2; shift 2
mkdir -p /tmp/gen/res
cat /proc/loadavg > /tmp/gen/res/$TAG.load
$BIN rush --demo --json --quiet --server-bin /tmp/r13-base/floodgate "$@" > /tmp/gen/res/$TAG.json 2> /tmp/gen/res/$TAG.err &
P=$!
python3 /tmp/gen/sample.py $P /tmp/gen/res/$TAG.cpu.tsv &
wait $P
echo rc=$? >> /tmp/gen/res/$TAG.err
sleep 0.5

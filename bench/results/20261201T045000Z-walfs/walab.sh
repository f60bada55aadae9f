#!/bin/sh
# BenchmarkWALAppend's two file systems in turns (A = fallocate, B = zeroed), A B B A repeated.
T=${T:-./store.test}
for i in 1 2 3; do for x in fallocate zeroed zeroed fallocate; do
  echo "== $x $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
  $T -test.run='^$' -test.bench="^BenchmarkWALAppend/$x\$" -test.benchtime=${BT:-2s} 2>&1 | grep '^Benchmark'
done; done

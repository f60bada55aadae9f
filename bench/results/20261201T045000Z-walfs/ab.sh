#!/bin/sh
# A B B A A B: A = base store.test, B = this change; on disk (TMPDIR unset: /tmp on ext4).
A=${A:-/tmp/r11-base/store.test}
B=${B:-./store.test}
BT=${BT:-3s}
for x in A B B A A B; do
  eval bin=\$$x
  echo "== $x $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
  LOG_LEVEL=error $bin -test.run='^$' -test.bench='^BenchmarkApply$' -test.benchtime=$BT 2>&1 | grep '^Benchmark'
done

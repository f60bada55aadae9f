#!/bin/bash
# ab.sh A B : BenchmarkApply in turns A B B A A B; prints load, cmds/entry, cmds/s, cpu-ns/cmd
A=$1; B=$2
for x in ${PAT:-A B B A A B}; do
  bin=$A; [ $x = B ] && bin=$B
  l=$(cut -d' ' -f1 /proc/loadavg)
  r=$(cd /tmp/eng && LOG_LEVEL=error $bin -test.run='^$' -test.bench='^BenchmarkApply$' -test.benchtime=${BT:-3s} 2>&1 | grep ^BenchmarkApply)
  echo "$x load=$l $r" | tee -a ${RAW:-/dev/null} | awk '{for(i=1;i<=NF;i++){if($i=="commands/entry")e=$(i-1); if($i=="commands/s")c=$(i-1); if($i=="cpu-ns/command")n=$(i-1)}; print $1,$2,"entry="e,"cmd/s="c,"cpu-ns="n}'
done

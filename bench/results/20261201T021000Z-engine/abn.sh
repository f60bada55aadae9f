#!/bin/bash
# abn.sh A B N : N rounds of "A B B A"; then medians per binary
A=$1; B=$2; N=${3:-3}
RAWF=$(mktemp)
for i in $(seq $N); do
  for x in A B B A; do
    bin=$A; [ $x = B ] && bin=$B
    l=$(cut -d' ' -f1 /proc/loadavg)
    r=$(cd /tmp/eng && LOG_LEVEL=error $bin -test.run='^$' -test.bench='^BenchmarkApply$' -test.benchtime=${BT:-2s} 2>&1 | grep ^BenchmarkApply)
    echo "$x load=$l $r" >> $RAWF
  done
done
[ -n "$RAW" ] && cat $RAWF >> $RAW
awk '{for(i=1;i<=NF;i++){if($i=="commands/entry")e=$(i-1); if($i=="commands/s")c=$(i-1); if($i=="cpu-ns/command")n=$(i-1)}; print $1,$2,"entry="e,"cmd/s="c,"cpu-ns="n}' $RAWF
python3 - $RAWF <<'PY'
import sys,statistics as st
d={'A':{'c':[],'n':[]},'B':{'c':[],'n':[]}}
for line in open(sys.argv[1]):
    f=line.split(); x=f[0]
    for i,t in enumerate(f):
        if t=='commands/s': d[x]['c'].append(float(f[i-1]))
        if t=='cpu-ns/command': d[x]['n'].append(float(f[i-1]))
for x in 'AB':
    print(x,'median cmd/s %.0f  median cpu-ns %.0f  (n=%d)'%(st.median(d[x]['c']),st.median(d[x]['n']),len(d[x]['c'])))
PY
rm $RAWF

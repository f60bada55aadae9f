#!/bin/bash
# abc.sh N bin1 bin2 bin3 ... : N rounds, each binary once per round in rotating order; medians
N=$1; shift; bins=("$@"); k=${#bins[@]}
RAWF=$(mktemp)
for i in $(seq $N); do
  for j in $(seq 0 $((k-1))); do
    idx=$(( (i + j) % k )); bin=${bins[$idx]}
    l=$(cut -d' ' -f1 /proc/loadavg)
    r=$(cd /tmp/eng && LOG_LEVEL=error $bin -test.run='^$' -test.bench='^BenchmarkApply$' -test.benchtime=${BT:-2s} 2>&1 | grep ^BenchmarkApply)
    echo "$idx load=$l $r" >> $RAWF
  done
done
[ -n "$RAW" ] && { for j in $(seq 0 $((k-1))); do echo "# $j = ${bins[$j]}"; done; cat $RAWF; } >> $RAW
python3 - $RAWF "${bins[@]}" <<'PY'
import sys,statistics as st
f=sys.argv[1]; bins=sys.argv[2:]
d={}
for line in open(f):
    w=line.split(); x=int(w[0])
    for i,t in enumerate(w):
        if t=='commands/s': d.setdefault(x,{}).setdefault('c',[]).append(float(w[i-1]))
        if t=='cpu-ns/command': d.setdefault(x,{}).setdefault('n',[]).append(float(w[i-1]))
        if t=='commands/entry': d.setdefault(x,{}).setdefault('e',[]).append(float(w[i-1]))
for x in sorted(d):
    print('%-28s median cmd/s %7.0f  cpu-ns %6.0f  entry %5.1f  cpu-ns all %s'%(bins[x].split('/')[-1],st.median(d[x]['c']),st.median(d[x]['n']),st.median(d[x]['e']),sorted(int(v) for v in d[x]['n'])))
PY
rm $RAWF

import re,sys,statistics as st
# medians of commands/s and cpu-ns/command per binary, and per set the pairs in turn order
for f in sys.argv[1:]:
    cur=None; rows={'A':[], 'B':[]}
    for line in open(f):
        m=re.match(r'== (\S+)',line)
        if m: cur=m.group(1); continue
        m=re.search(r'([\d.]+) commands/s\s+([\d.]+) cpu-ns/command',line)
        if m and cur in rows: rows[cur].append((float(m.group(1)),float(m.group(2))))
    print(f, ' '.join('%s: cmd/s med %.0f cpu-ns med %.0f (n=%d)'%(k,st.median(x[0] for x in v),st.median(x[1] for x in v),len(v)) for k,v in rows.items() if v))

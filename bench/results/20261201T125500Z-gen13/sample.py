# usage: sample.py RUSHPID OUT  -- samples CPU every 250ms until RUSHPID exits
import os, sys, time
pid = int(sys.argv[1]); out = open(sys.argv[2], 'w')
HZ = os.sysconf('SC_CLK_TCK')
def threads(p):
    res = {}
    try:
        for t in os.listdir(f'/proc/{p}/task'):
            try:
                s = open(f'/proc/{p}/task/{t}/stat').read()
                f = s[s.rindex(')')+2:].split()
                res[t] = (int(f[11]) + int(f[12]), int(f[16]))  # utime+stime, nice
            except Exception: pass
    except Exception: pass
    return res
def kids(p):
    r = {}
    for d in os.listdir('/proc'):
        if not d.isdigit(): continue
        try:
            s = open(f'/proc/{d}/stat').read()
            if int(s[s.rindex(')')+2:].split()[1]) == p:
                cl = open(f'/proc/{d}/cmdline').read()
                r['farm' if '--bot-farm' in cl else 'server'] = int(d)
        except Exception: pass
    return r
def machine():
    f = open('/proc/stat').readline().split()[1:]
    v = list(map(int, f)); idle = v[3] + v[4]
    return sum(v[:8]), idle
prev = None; known = {}; t0 = time.time()
out.write("t\tsim\tbotthr\tserver\tfarm\tmachine\tother\n")
while os.path.exists(f'/proc/{pid}'):
    if len(known) < 2 and time.time() - t0 < 20: known.update(kids(pid))
    now = time.time()
    th = threads(pid)
    sim = sum(v for v, n in th.values() if n == 0)
    bot = sum(v for v, n in th.values() if n != 0)
    srv = sum(v for v, n in threads(known['server']).values()) if 'server' in known else 0
    farm = sum(v for v, n in threads(known['farm']).values()) if 'farm' in known else 0
    tot, idle = machine()
    cur = (now, sim, bot, srv, farm, tot, idle)
    if prev and all(cur[i] >= prev[i] for i in (1,2,3,4)):
        dt = cur[0] - prev[0]
        d = [(cur[i]-prev[i])/HZ/dt for i in (1,2,3,4)]
        busy = ((cur[5]-prev[5]) - (cur[6]-prev[6])) / HZ / dt
        out.write(f"{now:.2f}\t" + "\t".join(f"{x:.2f}" for x in d) + f"\t{busy:.2f}\t{busy-sum(d):.2f}\n"); out.flush()
    prev = cur
    time.sleep(0.25)

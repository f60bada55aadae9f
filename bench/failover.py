#!/usr/bin/env python3
"""Failover time of a running Floodgate cluster, as bench/cluster.sh measures it.

Buyers are prepared first (queue ticket, dev session, admitted). Then a few
workers hold and order, one buyer after another, through the nodes that are
not the leader; once some orders are committed the leader is killed with
SIGKILL. The failover time is from the kill to the first order acknowledged
whose last attempt was sent after the kill (the definition the system tests
use). Failed attempts are retried every 50 ms on the next node with the same
ticket and Idempotency-Key, so the figure is the cluster's, not a client's
backoff. Prints one JSON object.
"""
import argparse
import http.client
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

RETRY_PAUSE = 0.05
RETRYABLE = {429, 500, 502, 503, 504}


class Conn:
    """One keep-alive connection per node per thread."""

    def __init__(self, urls):
        self.urls = urls
        self.conns = {}

    def call(self, node, method, path, body=None, headers=None):
        u = urllib.parse.urlsplit(self.urls[node])
        c = self.conns.get(node)
        if c is None:
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
            self.conns[node] = c
        h = {"Accept": "application/json"}
        if body is not None:
            h["Content-Type"] = "application/json"
            body = json.dumps(body)
        h.update(headers or {})
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            c.close()
            self.conns.pop(node, None)
            return None, None
        try:
            return r.status, json.loads(data) if data else None
        except ValueError:
            return r.status, None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nodes", required=True, help="comma-separated node URLs")
    p.add_argument("--leader", type=int, required=True, help="index of the leader in --nodes")
    p.add_argument("--leader-pid", type=int, required=True)
    p.add_argument("--admin-token", required=True)
    p.add_argument("--buyers", type=int, default=1000)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--kill-after", type=int, default=100, help="orders committed before the kill")
    p.add_argument("--deadline", type=float, default=60)
    a = p.parse_args()
    urls = a.nodes.split(",")
    others = [i for i in range(len(urls)) if i != a.leader]
    drop = "failover-%d" % (time.time_ns() % 10**9)
    dpath = "/api/v1/drops/" + drop

    admin = Conn(urls)
    st, body = admin.call(a.leader, "POST", "/api/v1/drops", {
        "id": drop, "name": "Failover benchmark", "stock": a.buyers, "per_customer_limit": 1,
        "hold_seconds": 900, "admit_per_second": max(a.buyers, 1000)},
        {"Authorization": "Bearer " + a.admin_token})
    if st not in (200, 201):
        sys.exit("failover: create the drop on the leader: %s %s" % (st, body))

    local = threading.local()

    def conn():
        if not hasattr(local, "c"):
            local.c = Conn(urls)
        return local.c

    def until_ok(first, method, path, body=None, headers=None, deadline=None):
        """Sends until 2xx, moving to the next non-leader node after each failure.
        Returns (status, body, time the last attempt was sent, time it was answered)."""
        attempt = 0
        while True:
            node = others[(first + attempt) % len(others)]
            sent = time.monotonic()
            st, b = conn().call(node, method, path, body, headers)
            if st is not None and 200 <= st < 300:
                return st, b, sent, time.monotonic()
            if (st is not None and st not in RETRYABLE) or (deadline and time.monotonic() > deadline):
                return st, b, sent, None
            attempt += 1
            time.sleep(RETRY_PAUSE)

    prep_deadline = time.monotonic() + a.deadline

    def prepare(i):
        fwd = {"X-Forwarded-For": "198.19.%d.%d" % (i // 250, i % 250 + 1)}
        st, q, _, _ = until_ok(i, "POST", dpath + "/queue", None, fwd, prep_deadline)
        if st not in (200, 201):
            raise RuntimeError("join: %s %s" % (st, q))
        st, s, _, _ = until_ok(i, "POST", "/api/v1/session", {"email": "failover-%d@bench.floodgate.test" % i}, fwd, prep_deadline)
        if st != 201:
            raise RuntimeError("session (are the nodes running with --dev?): %s %s" % (st, s))
        auth = dict(fwd, Authorization="Bearer " + q["ticket"])
        while q.get("state") != "admitted":
            if time.monotonic() > prep_deadline or q.get("state") in ("sold_out", "closed"):
                raise RuntimeError("buyer %d not admitted: %s" % (i, q))
            time.sleep(0.1)
            st, q2, _, _ = until_ok(i, "GET", dpath + "/queue", None, auth, prep_deadline)
            if st == 200:
                q = dict(q2, ticket=q["ticket"])
        return auth, s["session"]

    with ThreadPoolExecutor(32) as ex:
        buyers = list(ex.map(prepare, range(a.buyers)))

    lock = threading.Lock()
    state = {"next": 0, "acked": 0, "kill": None, "acks": [], "failed": 0, "order_ids": []}
    run_deadline = time.monotonic() + a.deadline

    def worker(w):
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= a.buyers or time.monotonic() > run_deadline:
                return
            auth, session = buyers[i]
            st, h, _, _ = until_ok(i, "POST", dpath + "/holds", {"quantity": 1}, auth, run_deadline)
            if st not in (200, 201):
                with lock:
                    state["failed"] += 1
                continue
            st, o, sent, acked = until_ok(i, "POST", "/api/v1/holds/%s/order" % h["id"], {"session": session},
                                         dict(auth, **{"Idempotency-Key": "%s-%d" % (drop, i)}), run_deadline)
            with lock:
                if st in (200, 201):
                    state["acked"] += 1
                    state["acks"].append((sent, acked))
                    state["order_ids"].append(o["id"])
                else:
                    state["failed"] += 1

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(a.workers)]
    for t in threads:
        t.start()
    while True:
        with lock:
            if state["acked"] >= a.kill_after or state["next"] >= a.buyers:
                break
        time.sleep(0.002)
    kill = time.monotonic()
    os.kill(a.leader_pid, signal.SIGKILL)
    for t in threads:
        t.join()

    after = sorted(acked for sent, acked in state["acks"] if sent > kill)
    before = sum(1 for sent, _ in state["acks"] if sent <= kill)
    # Every acknowledged order must be on every survivor. A survivor reads
    # from its own applied state, which may trail the commit a little, so it
    # gets up to 10 s to catch up before a missing order counts as lost.
    acked_ids = set(state["order_ids"])
    missing = {}
    for node in others:
        until = time.monotonic() + 10
        while True:
            st, lst = admin.call(node, "GET", dpath + "/orders", None, {"Authorization": "Bearer " + a.admin_token})
            listed = {o["id"] for o in (lst or {}).get("orders", [])} if st == 200 else set()
            missing[node] = len(acked_ids - listed)
            if missing[node] == 0 or time.monotonic() > until:
                break
            time.sleep(0.1)
    out = {
        "nodes": len(urls),
        "buyers": a.buyers,
        "workers": a.workers,
        "acked_before_kill": before,
        "acked_after_kill": len(after),
        "failed": state["failed"],
        "failover_seconds": round(after[0] - kill, 3) if after else None,
        "lost_orders": max(missing.values()),
    }
    print(json.dumps(out))
    if not after or out["lost_orders"] != 0 or state["failed"]:
        sys.exit("failover: no clean measurement: %s" % json.dumps(out))


if __name__ == "__main__":
    main()

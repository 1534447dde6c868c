#!/usr/bin/env python3
"""Command → new DNS answer at every authority of a running cluster (deploy/cluster/demo.sh up).

    deploy/bench/cluster-switch.py [RUNS] [ADMIN_URL ...]

Switches crm between bj and sh RUNS times (default 100) through the first admin URL (the
leader, or a follower that forwards), with --force so only the commit path is measured. One
thread per authority asks its DNS listener back to back (UDP, 1 s timeout) and records when
the new address first appears. Prints median and p99 per authority and of the slowest one.
Defaults to the demo's three authorities; pass one admin URL and DNS via DNS_PORTS for an
embedded node.
"""
import json, os, sys, time, urllib.request
from dns_watch import Watch

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
admins = sys.argv[2:] or ["http://127.0.0.1:21530"]
ports = [int(p) for p in os.environ.get("DNS_PORTS", "21053,21054,21055").split(",")]
token = open(os.environ.get("TOKEN_FILE", "/tmp/switchback-cluster-demo/admin.token")).read().strip()
want = {"bj": "127.0.1.10", "sh": "127.0.2.10"}
watch = Watch(ports)
seen = watch.seen
time.sleep(0.5)
lat = {p: [] for p in ports}
for i in range(runs):
    to = "sh" if i % 2 == 0 else "bj"
    body = json.dumps({"to": to, "reason": f"bench {i}", "force": True}).encode()
    req = urllib.request.Request(f"{admins[0]}/v1/services/crm/switch", data=body, method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    t0 = time.time()
    urllib.request.urlopen(req, timeout=10).read()
    deadline = time.time() + 10
    while time.time() < deadline and not all(any(t >= t0 and ip == want[to] for t, ip in seen[p]) for p in ports):
        time.sleep(0.001)
    for p in ports:
        ts = [t for t, ip in seen[p] if t >= t0 and ip == want[to]]
        if ts: lat[p].append((ts[0] - t0) * 1000)
    time.sleep(0.05)
watch.stop()

def pct(xs, q):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")

worst = [max(v) for v in zip(*lat.values())]
for p in ports:
    print(f"dns :{p}  n={len(lat[p])}  median {pct(lat[p], .5):.1f} ms  p99 {pct(lat[p], .99):.1f} ms")
print(f"slowest authority  n={len(worst)}  median {pct(worst, .5):.1f} ms  p99 {pct(worst, .99):.1f} ms")

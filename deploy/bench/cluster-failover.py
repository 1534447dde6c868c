#!/usr/bin/env python3
"""Last needed observation → new DNS answer at every authority, driven by a real site failure.

    SWITCHBACK_CLUSTER_POLICY='…' deploy/cluster/demo.sh up      # etcd or embedded, see cluster.md
    deploy/bench/cluster-failover.py [RUNS] [CSV]
    deploy/bench/cluster-failover.py CSV          # summarise a finished run again

Each run fails the active stand-in site (POST /fail), waits until every authority's DNS
listener answers the other site's address, then recovers the failed site (POST /recover)
and waits until the leader's tally sees it up again; the next run fails the other site, so
runs alternate bj→sh and sh→bj (with failback = "manual" every switch is a failover).

Times, all on this machine's wall clock (probes, authorities and this script share it):
- obs: the probe's own timestamp (`at`) of the *last needed observation*: the observation
  after which a quorum of voters (`quorum` nodes in `min_domains` domains) says the failed
  site is down for crm. Found by replaying the committing authority's audit log
  (state_dir/audit.jsonl: every observation that changes a node's view is written).
- recv: when the committing authority's engine took that observation (its audit `at`).
- commit: the committed decision's `at` (after the configured hold_down from recv).
- answer: when a tight UDP loop (one thread per authority) first got the new address.
Prints median and p99 of answer − obs per authority and for the slowest authority of each
run, plus the parts (recv − obs, commit − recv, answer − commit). The definition is the same
for the embedded store and etcd; only where the votes travel differs.

Environment: STATE (demo state dir), DNS_PORTS (default 21053,21054,21055), ADMINS (the
authorities' admin URLs; the leader's /v1/status tells the site verdicts; default the demo's
three), QUORUM/MIN_DOMAINS (default 2/2), GAP (least seconds between commits, default 2.5).
"""
import glob, json, math, os, sys, time, urllib.request
from dns_watch import Watch

replay = len(sys.argv) == 2 and sys.argv[1].endswith(".csv")
runs = int(sys.argv[1]) if len(sys.argv) > 1 and not replay else 100
csv_path = sys.argv[2] if len(sys.argv) > 2 else None
state = os.environ.get("STATE", "/tmp/switchback-cluster-demo")
ports = [int(p) for p in os.environ.get("DNS_PORTS", "21053,21054,21055").split(",")]
admins = os.environ.get("ADMINS", "http://127.0.0.1:21530,http://127.0.0.1:21531,http://127.0.0.1:21532").split(",")
quorum = int(os.environ.get("QUORUM", "2"))
min_domains = int(os.environ.get("MIN_DOMAINS", "2"))
token = None if replay else open(os.path.join(state, "admin.token")).read().strip()
sites = {"bj": "http://127.0.0.1:21081", "sh": "http://127.0.0.1:21082"}
addr = {"bj": "127.0.1.10", "sh": "127.0.2.10"}
site_of = {v: k for k, v in addr.items()}
seen = {}  # port -> [(time, ip)] on every change of answer, while bench() watches


def post(url):
    urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=5).read()


def status(admin):
    req = urllib.request.Request(f"{admin}/v1/status", headers={"Authorization": f"Bearer {token}"})
    return json.load(urllib.request.urlopen(req, timeout=5))


def audit_lines():
    """Every authority's audit log, parsed, keyed by file."""
    out = {}
    for path in sorted(glob.glob(os.path.join(state, "a*", "audit.jsonl"))):
        with open(path) as f:
            out[path] = [json.loads(l) for l in f if l.strip()]
    return out


def find_commit(logs, site, after_ms):
    """(path, index, record) of the first crm commit to `site` at or after `after_ms`."""
    for path, recs in logs.items():
        for i, r in enumerate(recs):
            c = r.get("output", {}).get("commit") if isinstance(r.get("output"), dict) else None
            if c and c["decision"]["service"] == "crm" and c["decision"]["active_site"] == site \
                    and c["decision"]["at"] >= after_ms:
                return path, i, r
    return None


def last_needed(recs, upto, failed, after_ms):
    """The observation (probe at, engine at) that completed the down quorum for `failed`."""
    view = {}  # node -> (domain, down?)
    found = None
    for r in recs[:upto]:
        inp = r.get("input")
        if not isinstance(inp, dict) or "observation" not in inp:
            continue
        o = inp["observation"]
        down = o.get("self_ok", True) and o.get("services", {}).get("crm", {}).get(failed) == "down"
        before = quorum_down(view)
        view[o["node"]] = (o["domain"], down)
        if not before and quorum_down(view) and o["at"] >= after_ms:
            found = (o["at"], r["at"], o["node"])
    return found


def quorum_down(view):
    downs = [d for d, down in view.values() if down]
    return len(downs) >= quorum and len(set(downs)) >= min_domains


def site_up(name):
    """Whether the leader's tally (its /v1/status; followers run none) sees `name` up for crm."""
    for a in admins:
        try:
            s = status(a)
        except OSError:
            continue
        if s.get("cluster", {}).get("role") in ("leader", "single"):
            for svc in s.get("services", []):
                if svc.get("name") == "crm":
                    return svc["sites"][name]["verdict"] == "up"
    return False


def current():
    for _ in range(100):
        ips = {ip for p in ports for t, ip in seen[p][-1:]}
        if len(ips) == 1 and next(iter(ips)) in site_of:
            return site_of[next(iter(ips))]
        time.sleep(0.05)
    raise SystemExit(f"authorities disagree or answer nothing: {[seen[p][-1:] for p in ports]}")


def bench():
    rows = []
    print(f"load average at start: {open('/proc/loadavg').read().split()[:3]}", flush=True)
    global seen
    watch = Watch(ports)
    seen = watch.seen
    time.sleep(0.5)
    last_commit = 0.0
    for i in range(runs):
        active = current()
        other = "sh" if active == "bj" else "bj"
        # Damping: keep commits at least GAP apart (the bench policy's half-life is 1 s).
        gap = float(os.environ.get("GAP", "2.5"))
        if time.time() < last_commit + gap:
            time.sleep(last_commit + gap - time.time())
        t_fail = time.time()
        post(f"{sites[active]}/fail")
        deadline = t_fail + 30
        while time.time() < deadline and not all(any(t >= t_fail and ip == addr[other] for t, ip in seen[p]) for p in ports):
            time.sleep(0.002)
        answers = {}
        for p in ports:
            ts = [t for t, ip in seen[p] if t >= t_fail and ip == addr[other]]
            answers[p] = ts[0] if ts else None
        post(f"{sites[active]}/recover")
        if None in answers.values():
            print(f"run {i}: {active}→{other} not answered everywhere in 30 s: {answers}", file=sys.stderr)
            break
        # The audit line may trail the answer by a moment (the write follows the commit).
        hit = None
        for _ in range(100):
            logs = audit_lines()
            hit = find_commit(logs, other, int(t_fail * 1000))
            if hit: break
            time.sleep(0.02)
        if not hit:
            print(f"run {i}: no commit to {other} in the audit logs", file=sys.stderr)
            break
        path, idx, rec = hit
        commit = rec["output"]["commit"]["decision"]["at"] / 1000
        last_commit = commit
        need = last_needed(logs[path], idx, active, int(t_fail * 1000))
        if not need:
            print(f"run {i}: no quorum-completing observation before the commit in {path}", file=sys.stderr)
            break
        obs, recv, node = need[0] / 1000, need[1] / 1000, need[2]
        row = {"run": i, "from": active, "to": other, "leader": path.split("/")[-2], "last_voter": node,
               "fail": t_fail, "obs": obs, "recv": recv, "commit": commit,
               **{f"answer_{p}": answers[p] for p in ports}}
        rows.append(row)
        print(f"run {i:3d} {active}→{other} leader {row['leader']} last voter {node}: "
              f"obs→answer " + " ".join(f"{(answers[p] - obs) * 1000:.0f}" for p in ports) + " ms", flush=True)
        # The failed site must be up again at the leader before it can be the next target.
        deadline = time.time() + 30
        while time.time() < deadline and not site_up(active):
            time.sleep(0.05)
    watch.stop()
    print(f"load average at end: {open('/proc/loadavg').read().split()[:3]}")
    return rows


def pct(xs, q):
    """Nearest rank: the smallest value with at least q of the values at or below it."""
    xs = sorted(xs); return xs[max(0, math.ceil(q * len(xs)) - 1)] if xs else float("nan")


def line(name, xs):
    print(f"{name:<28} n={len(xs):3d}  median {pct(xs, .5):7.1f} ms  p99 {pct(xs, .99):7.1f} ms  max {max(xs) if xs else float('nan'):7.1f} ms")


if replay:
    with open(sys.argv[1]) as f:
        keys = f.readline().strip().split(",")
        rows = [{k: (v if k in ("from", "to", "leader", "last_voter") else float(v))
                 for k, v in zip(keys, l.strip().split(","))} for l in f if l.strip()]
    ports = [int(k[len("answer_"):]) for k in keys if k.startswith("answer_")]
else:
    rows = bench()
if csv_path and rows:
    with open(csv_path, "w") as f:
        keys = list(rows[0].keys()); f.write(",".join(keys) + "\n")
        for r in rows: f.write(",".join(str(r[k]) for k in keys) + "\n")
ms = lambda a, b: (a - b) * 1000
for p in ports:
    line(f"dns :{p} obs→answer", [ms(r[f"answer_{p}"], r["obs"]) for r in rows])
line("slowest obs→answer", [ms(max(r[f"answer_{p}"] for p in ports), r["obs"]) for r in rows])
line("  obs→leader took it", [ms(r["recv"], r["obs"]) for r in rows])
line("  took it→commit (hold_down)", [ms(r["commit"], r["recv"]) for r in rows])
line("  commit→slowest answer", [ms(max(r[f"answer_{p}"] for p in ports), r["commit"]) for r in rows])
line("slowest minus the hold-down", [ms(max(r[f"answer_{p}"] for p in ports), r["obs"]) - ms(r["commit"], r["recv"]) for r in rows])
line("fail→slowest answer", [ms(max(r[f"answer_{p}"] for p in ports), r["fail"]) for r in rows])

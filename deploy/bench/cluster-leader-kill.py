#!/usr/bin/env python3
"""kill -9 of the leader → the new leader's first commit, on the demo cluster.

    deploy/cluster/demo.sh up
    deploy/bench/cluster-leader-kill.py [RUNS]

Each run asks a1's /v1/status (then a2's) who leads, kill -9s that authority's process
(pid from the demo's state/pids), then sends a forced switch of crm to a surviving authority
every 20 ms until one is committed, and records the time from the kill to the committing
answer (and who committed). The killed authority is then restarted with its demo config
(its pid appended to state/pids, so `demo.sh down` stops it) and the run ends once it says
"node ready" and every authority names the same leader.
"""
import json, os, signal, subprocess, sys, time, urllib.request

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
state = os.environ.get("STATE", "/tmp/switchback-cluster-demo")
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
binary = os.environ.get("SWITCHBACK", os.path.join(root, "target/release/switchback"))
admins = {f"a{n}": f"http://127.0.0.1:{21529 + n}" for n in (1, 2, 3)}
token = open(os.path.join(state, "admin.token")).read().strip()
pids = {}  # authority -> pid, from the pids file: 3 etcd, 2 stand-ins, a1..a3 (then restarts)
lines = [int(l) for l in open(os.path.join(state, "pids")).read().split()]
for n in (1, 2, 3):
    pids[f"a{n}"] = lines[4 + n]


def call(url, body=None, timeout=2):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=timeout))


def leader_seen_by(a):
    try:
        return call(f"{admins[a]}/v1/status").get("cluster", {}).get("leader")
    except Exception:
        return None


def settled():
    seen = {leader_seen_by(a) for a in admins}
    return len(seen) == 1 and None not in seen and next(iter(seen))


results = []
to = "sh"
for i in range(runs):
    deadline = time.time() + 60
    lead = settled()
    while not lead and time.time() < deadline:
        time.sleep(0.1); lead = settled()
    if not lead:
        sys.exit(f"run {i}: the authorities do not agree on a leader")
    survivors = [a for a in admins if a != lead]
    t_kill = time.time()
    os.kill(pids[lead], signal.SIGKILL)
    committed = None
    n = 0
    while committed is None and time.time() < t_kill + 30:
        target = survivors[n % 2]; n += 1
        try:
            ans = call(f"{admins[target]}/v1/services/crm/switch",
                       {"to": to, "reason": f"leader-kill bench {i}", "force": True}, timeout=1)
            committed = (time.time(), ans.get("committed_by"))
        except Exception:
            time.sleep(0.02)
    if committed is None:
        sys.exit(f"run {i}: no commit within 30 s of killing {lead}")
    ms = (committed[0] - t_kill) * 1000
    results.append(ms)
    print(f"run {i + 1:2d}: killed {lead}, committed by {committed[1]} after {ms:.0f} ms ({n} tries)", flush=True)
    to = "bj" if to == "sh" else "sh"
    # Restart the killed authority as the demo started it.
    size = os.path.getsize(os.path.join(state, f"{lead}.log"))
    log = open(os.path.join(state, f"{lead}.log"), "a")
    p = subprocess.Popen([binary, "serve", "-c", os.path.join(state, f"{lead}.toml")],
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    pids[lead] = p.pid
    with open(os.path.join(state, "pids"), "a") as f:
        f.write(f"{p.pid}\n")
    deadline = time.time() + 60
    while time.time() < deadline:
        with open(os.path.join(state, f"{lead}.log")) as f:
            f.seek(max(0, size - 1))
            if "node ready" in f.read():
                break
        time.sleep(0.1)

xs = sorted(results)
print(f"runs {len(xs)}  min {xs[0]:.0f}  median {xs[len(xs) // 2]:.0f}  max {xs[-1]:.0f} ms")

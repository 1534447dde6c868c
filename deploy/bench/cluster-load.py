#!/usr/bin/env python3
"""The etcd write rate and the authorities' CPU and RSS under many probe nodes (issue #9).

    deploy/bench/cluster-load.py [PROBES] [SERVICES] [SECONDS]      # default 50 100 60

Starts, on loopback without root and only on ports 30000-30999: a three-member etcd
(clients 30379-30381, peers 30479-30481), one stand-in HTTP server for both sites (30080,
GET /bj/health and /sh/health answer 200), three authorities (roles ["authority"], etcd store;
DNS 30053-30055, admin 30530-30532) and PROBES real `switchback serve` probe-only processes
(admin 30600+).
Every node has SERVICES services (svc000 … under boss.example.) sharing one probes file with
one HTTP check per site at interval 200 ms, and stale_after 2 s, so each probe's heartbeat
(an observation carrying every service's verdict) is 200 ms. Each probe pushes every signed
observation to all three authorities, which verify it and publish it on the etcd vote board.

After a warm-up it samples over SECONDS: etcd's /metrics counters (puts, txns, proposals
committed, lease keep-alives) on every member, /proc/PID/stat utime+stime and VmRSS of every
process, each authority's /metrics (observations accepted / dropped), and every second the
age of each probe's latest vote in etcd (now − the observation's own `at`: heartbeat lag).
Prints one table and stops everything it started (state in /tmp/s18-load unless LOAD_STATE).

KILL=1: after the window, kill -9 the leader and report how long until another leads, how many
held votes the followers published meanwhile, and any quorum lost at the new leader.

FAIL=1: after the window (and the kill), under the same load, bj's health endpoint answers 503 for every
service, and it prints how long each authority took until its committed state has every
service on sh (policy auto, hold_down 1 s, checks fall = 3 at 200 ms), then each authority's
(site, epoch) pairs 3 s later.

NETNS=1 (root): each probe runs in its own network namespace s18pNN (veth into a bridge
s18br0, 10.218.0.1/24; probe NN at 10.218.0.(10+NN)), and the authorities' admin API and the
stand-in listen on 10.218.0.1: every probe is its own client address, as on separate hosts.
Without it every probe connects from 127.0.0.1 and the admin API's per-client limit (32
connections, src/api/listen.rs) closes the connections of the probes beyond it.
"""
import base64, json, os, re, shutil, signal, subprocess, sys, time, urllib.request

probes = int(sys.argv[1]) if len(sys.argv) > 1 else 50
services = int(sys.argv[2]) if len(sys.argv) > 2 else 100
seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 60
warmup = int(os.environ.get("WARMUP", "20"))
state = os.environ.get("LOAD_STATE", "/tmp/s18-load")
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
binary = os.environ.get("SWITCHBACK", os.path.join(root, "target/release/switchback"))
etcd = os.environ.get("ETCD", "etcd")
netns = os.environ.get("NETNS") == "1"
host = "10.218.0.1" if netns else "127.0.0.1"
procs = []  # (role, name, Popen)
TICK = os.sysconf("SC_CLK_TCK")


def start(role, name, argv, log):
    p = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    procs.append((role, name, p))
    return p


def stop_all():
    for _, _, p in reversed(procs):
        if p.poll() is None:
            p.terminate()
    end = time.time() + 10
    for _, _, p in procs:
        try:
            p.wait(timeout=max(0.1, end - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()


def wait_for(path, text, what, proc, limit=60):
    end = time.time() + limit
    while time.time() < end:
        if proc.poll() is not None:
            sys.exit(f"{what} exited; see {path}")
        try:
            if text in open(path, errors="replace").read():
                return
        except FileNotFoundError:
            pass
        time.sleep(0.1)
    sys.exit(f"{what} not ready in {limit} s; see {path}")


def cpu_rss(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime + stime, seconds
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for l in f:
            if l.startswith("VmRSS:"):
                rss = int(l.split()[1]) / 1024  # MiB
    return cpu, rss


def busy():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = f[3] + f[4]
    return sum(f) - idle, sum(f)


def sh(*argv):
    subprocess.run(argv, check=True)


def netns_up(n):
    sh("ip", "link", "add", "s18br0", "type", "bridge")
    sh("ip", "addr", "add", "10.218.0.1/24", "dev", "s18br0")
    sh("ip", "link", "set", "s18br0", "up")
    for k in range(n):
        ns, v = f"s18p{k:02d}", f"s18v{k:02d}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", v, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", v, "master", "s18br0", "up")
        sh("ip", "-n", ns, "addr", "add", f"10.218.0.{10 + k}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def netns_down(n):
    for k in range(n):
        subprocess.run(["ip", "netns", "del", f"s18p{k:02d}"], stderr=subprocess.DEVNULL)
    subprocess.run(["ip", "link", "del", "s18br0"], stderr=subprocess.DEVNULL)


def metrics(url):
    out = {}
    for l in urllib.request.urlopen(url, timeout=5).read().decode().splitlines():
        if l and not l.startswith("#"):
            k, _, v = l.rpartition(" ")
            try:
                out[k] = float(v)
            except ValueError:
                pass
    return out


def msum(m, prefix):
    return sum(v for k, v in m.items() if k == prefix or k.startswith(prefix + "{"))


def vote_ages(prefix):
    """now − at of every probe's latest vote on the board, in ms (one range read)."""
    key = f"{prefix}votes/".encode()
    end = key[:-1] + bytes([key[-1] + 1])
    body = json.dumps({"key": base64.b64encode(key).decode(), "range_end": base64.b64encode(end).decode()}).encode()
    r = json.load(urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:30379/v3/kv/range", data=body), timeout=5))
    now = time.time() * 1000
    ages = []
    for kv in r.get("kvs", []):
        v = json.loads(base64.b64decode(kv["value"]))
        ages.append(now - v["observation"]["at"])
    return ages


def main():
    shutil.rmtree(state, ignore_errors=True)
    os.makedirs(state)
    if netns:
        netns_up(probes)
    # etcd
    cluster = ",".join(f"l{i}=http://127.0.0.1:{30478 + i}" for i in (1, 2, 3))
    for i in (1, 2, 3):
        c, p = 30378 + i, 30478 + i
        start("etcd", f"l{i}", [etcd, "--name", f"l{i}", "--data-dir", f"{state}/etcd-l{i}",
              "--listen-client-urls", f"http://127.0.0.1:{c}", "--advertise-client-urls", f"http://127.0.0.1:{c}",
              "--listen-peer-urls", f"http://127.0.0.1:{p}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{p}",
              "--initial-cluster", cluster, "--initial-cluster-state", "new",
              "--initial-cluster-token", "s18-load"], f"{state}/etcd-l{i}.log")
    for role, name, p in list(procs):
        wait_for(f"{state}/etcd-{name}.log", "serving insecure client requests", f"etcd {name}", p)
    # stand-in sites: one server, every path that ends in /health answers 200 until
    # POST /fail/SITE, then that site's answer 503
    start("site", "sites", ["python3", "-c", """
import http.server
failed = set()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        site = self.path.strip("/").split("/")[0]
        code = (503 if site in failed else 200) if self.path.endswith("/health") else 404
        b = b"ok\\n"; self.send_response(code)
        self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def do_POST(self):
        failed.add(self.path.rsplit("/", 1)[-1])
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer((HOST, 30080), H).serve_forever()
""".replace("HOST", repr(host))], f"{state}/sites.log")
    open(f"{state}/votes.key", "w").write("s18-load-vote-key\n")
    open(f"{state}/admin.token", "w").write("s18-load-token\n")
    open(f"{state}/probes.toml", "w").write("".join(f"""
[[check]]
name = "app-{s}"
site = "{s}"
layer = "app"
kind = "http"
url = "http://{host}:30080/{s}/health"
expect_status = [200]
interval = "200ms"
timeout = "150ms"
jitter = "20ms"
rise = 2
fall = 3
""" for s in ("bj", "sh")))
    domains = ["bj", "sh", "arb"]
    voters = ", ".join(f'{{ id = "p{n:02d}", domain = "{domains[n % 3]}" }}' for n in range(probes))
    svc = "".join(f"""
[[service]]
name = "svc{k:03d}"
names = ["svc{k:03d}.boss.example."]
ttl = "30s"
degraded_ttl = "5s"
addresses = {{ bj = ["127.0.1.{k % 250 + 1}"], sh = ["127.0.2.{k % 250 + 1}"] }}
probes = "probes.toml"
policy = {{ mode = "auto", hold_down = "1s" }}
""" for k in range(services))
    common = f"""
[votes]
{{push}}
key_files = ["votes.key"]
stale_after = "2s"
voters = [{voters}]

[sites.bj]
role = "primary"

[sites.sh]
role = "backup"

[sites.arb]
role = "arbiter"
{svc}"""
    store = """
[store]
kind = "etcd"
endpoints = ["http://127.0.0.1:30379", "http://127.0.0.1:30380", "http://127.0.0.1:30381"]
prefix = "/s18-load/"
lease_ttl = "3s"
request_timeout = "1s"
"""
    admins = [f"http://{host}:{30529 + n}" for n in (1, 2, 3)]
    for n, site in ((1, "bj"), (2, "sh"), (3, "arb")):
        os.makedirs(f"{state}/a{n}")
        open(f"{state}/a{n}.toml", "w").write(f"""[node]
id = "a{n}"
site = "{site}"
roles = ["authority"]
state_dir = "{state}/a{n}"
{store}
[dns]
listen = ["127.0.0.1:{30052 + n}"]
zones = ["{root}/zones/boss.example.zone"]

[admin]
listen = "{host}:{30529 + n}"
token_file = "admin.token"
""" + common.replace("{push}", ""))
        p = start("authority", f"a{n}", [binary, "serve", "-c", f"{state}/a{n}.toml"], f"{state}/a{n}.log")
    for role, name, p in [x for x in procs if x[0] == "authority"]:
        wait_for(f"{state}/{name}.log", "node ready", f"authority {name}", p)
    push = "authorities = [" + ", ".join(f'"{a}"' for a in admins) + "]"
    for n in range(probes):
        os.makedirs(f"{state}/p{n:02d}")
        open(f"{state}/p{n:02d}.toml", "w").write(f"""[node]
id = "p{n:02d}"
site = "{domains[n % 3]}"
domain = "{domains[n % 3]}"
roles = ["probe"]
state_dir = "{state}/p{n:02d}"

[admin]
listen = "127.0.0.1:{30600 + n}"
""" + common.replace("{push}", push))
        wrap = ["ip", "netns", "exec", f"s18p{n:02d}"] if netns else []
        start("probe", f"p{n:02d}", wrap + [binary, "serve", "-c", f"{state}/p{n:02d}.toml"], f"{state}/p{n:02d}.log")
    for role, name, p in [x for x in procs if x[0] == "probe"]:
        wait_for(f"{state}/{name}.log", "node ready", f"probe {name}", p)
    print(f"up: 3 etcd, 3 authorities, {probes} probes x {services} services; warm-up {warmup} s", flush=True)
    time.sleep(warmup)

    token = "s18-load-token"
    def status(a):
        req = urllib.request.Request(f"{a}/v1/status", headers={"Authorization": f"Bearer {token}"})
        return json.load(urllib.request.urlopen(req, timeout=5))
    leader = status(admins[0]).get("cluster", {}).get("leader")
    load0 = open("/proc/loadavg").read().split()[:3]
    def snap():
        return {
            "t": time.time(),
            "proc": {name: cpu_rss(p.pid) for _, name, p in procs},
            "etcd": [metrics(f"http://127.0.0.1:{30378 + i}/metrics") for i in (1, 2, 3)],
            "auth": [metrics(f"{a}/metrics") for a in admins],
        }
    s0 = snap()
    b0 = busy()
    ages, rss_max = [], {}
    while time.time() < s0["t"] + seconds:
        try:
            ages.extend(vote_ages("/s18-load/"))
        except Exception as e:
            print(f"vote read failed: {e}", file=sys.stderr)
        for _, name, p in procs:
            rss_max[name] = max(rss_max.get(name, 0), cpu_rss(p.pid)[1])
        time.sleep(1)
    s1 = snap()
    b1 = busy()
    load1 = open("/proc/loadavg").read().split()[:3]
    leader1 = status(admins[0]).get("cluster", {}).get("leader")
    epochs = {}
    for a in admins:
        for sv in status(a).get("services", []):
            e = sv.get("epoch") or sv.get("decision", {}).get("epoch")
            epochs.setdefault(a, set()).add(e)
    dt = s1["t"] - s0["t"]

    print(f"\nwindow {dt:.1f} s; load average {' '.join(load0)} → {' '.join(load1)}; machine busy "
          f"{(b1[0] - b0[0]) / (b1[1] - b0[1]) * 100:.0f} % of {os.cpu_count()} cores; leader {leader} → {leader1}")
    print("\netcd (per member, delta / s):")
    names = ["etcd_mvcc_put_total", "etcd_mvcc_txn_total", "etcd_server_proposals_committed_total",
             "etcd_debugging_mvcc_db_total_size_in_bytes", "etcd_network_client_grpc_received_bytes_total",
             "etcd_disk_wal_fsync_duration_seconds_count"]
    for i in range(3):
        a, b = s0["etcd"][i], s1["etcd"][i]
        parts = []
        for n in names:
            if n.endswith("size_in_bytes"):
                parts.append(f"db {msum(b, n) / 2**20:.1f} MiB")
            else:
                parts.append(f"{n.replace('etcd_', '')} {(msum(b, n) - msum(a, n)) / dt:.0f}/s")
        keep = [k for k in b if k.startswith("grpc_server_handled_total") and "LeaseKeepAlive" in k]
        ka = sum(b[k] - a.get(k, 0) for k in keep)
        parts.append(f"lease keep-alive streams closed {ka / dt:.1f}/s")
        print(f"  l{i + 1}: " + ", ".join(parts))
    print("\nprocesses (CPU % of one core over the window, RSS now / max MiB):")
    groups = {}
    for role, name, p in procs:
        c0, _ = s0["proc"][name]; c1, r1 = s1["proc"][name]
        cpu = (c1 - c0) / dt * 100
        if role in ("authority", "etcd", "site"):
            tag = " (leader)" if name == leader1 else ""
            print(f"  {role:9} {name}{tag}: CPU {cpu:5.1f} %  RSS {r1:6.1f} / {rss_max.get(name, r1):6.1f} MiB")
        groups.setdefault(role, []).append((cpu, r1))
    pr = groups.get("probe", [])
    if pr:
        print(f"  probes ×{len(pr)}: CPU total {sum(c for c, _ in pr):.1f} % (each {min(c for c, _ in pr):.1f}–{max(c for c, _ in pr):.1f} %), "
              f"RSS each {min(r for _, r in pr):.1f}–{max(r for _, r in pr):.1f} MiB, total {sum(r for _, r in pr):.0f} MiB")
    print("\nauthorities' /metrics (delta / s):")
    for i, a in enumerate(admins):
        m0, m1 = s0["auth"][i], s1["auth"][i]
        acc = [k for k in m1 if ("observation" in k or "relayed" in k) and not k.startswith("#") and (m1[k] - m0.get(k, 0)) > 0]
        print(f"  a{i + 1}: " + ", ".join(f"{k} {(m1[k] - m0.get(k, 0)) / dt:.1f}" for k in sorted(acc)))
    if ages:
        xs = sorted(ages)
        q = lambda f: xs[min(len(xs) - 1, int(f * len(xs)))]
        print(f"\nvote age on the board (now − observation at), {len(xs)} samples of {probes} probes: "
              f"median {q(.5):.0f} ms, p99 {q(.99):.0f} ms, max {xs[-1]:.0f} ms; "
              f"ages over stale_after (2 s): {sum(1 for x in xs if x > 2000)}")
    print(f"epochs per authority (1 = no switch): {epochs}")
    t0s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s0["t"]))
    t1s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s1["t"]))
    for name in ("a1", "a2", "a3"):
        lines = [l for l in open(f"{state}/{name}.log", errors="replace") if t0s <= l[:19] <= t1s]
        lost = sum(1 for l in lines if "quorum_lost" in l)
        back = sum(1 for l in lines if "quorum_restored" in l)
        lag = sum(1 for l in lines if "vote watch lagged" in l)
        if lost or back or lag:
            print(f"{name} in the window: quorum lost {lost}, restored {back} (service events), vote watch lagged {lag}x")
    for _, name, p in procs:
        if p.poll() is not None:
            print(f"{name} exited with {p.returncode} during the run")
    warn = {}
    for role, name, _ in procs:
        if role in ("authority", "probe"):
            text = open(f"{state}/{name}.log", errors="replace").read()
            warn[name] = sum(1 for l in text.splitlines() if " WARN " in l or '"WARN"' in l or " ERROR " in l)
    print("WARN/ERROR lines: authorities " + ", ".join(f"{n} {warn[n]}" for n in ("a1", "a2", "a3")) +
          f"; probes total {sum(v for k, v in warn.items() if k.startswith('p'))}")
    alive = admins
    if os.environ.get("KILL") == "1":
        dead = kill_leader(admins, status, leader1)
        alive = [a for i, a in enumerate(admins) if f"a{i + 1}" != dead]
    if os.environ.get("FAIL") == "1":
        fail_bj(alive, status)


def kill_leader(admins, status, leader):
    """Under the same load, kill -9 the leader: how long until another authority leads, and
    whether the new leader's tally stayed whole (no quorum lost) with the followers keeping the
    board current meanwhile (their relays publish what the dead leader no longer does)."""
    name = leader if isinstance(leader, str) else (leader or {}).get("node")
    proc = next(p for role, n, p in procs if role == "authority" and n == name)
    rest = [a for i, a in enumerate(admins) if f"a{i + 1}" != name]
    before = [metrics(f"{a}/metrics") for a in rest]
    t_kill = time.time()
    proc.kill()
    new, took = None, None
    while time.time() < t_kill + 30 and new is None:
        for a in rest:
            try:
                l = status(a).get("cluster", {}).get("leader")
            except Exception:
                continue
            l = l if isinstance(l, str) else (l or {}).get("node")
            if l and l != name:
                new, took = l, time.time() - t_kill
        time.sleep(0.05)
    time.sleep(5)
    after = [metrics(f"{a}/metrics") for a in rest]
    key = 'switchback_votes_relayed_total{outcome="published"}'
    published = sum(m1.get(key, 0) - m0.get(key, 0) for m0, m1 in zip(before, after))
    stale = sum(m1.get(k, 0) - m0.get(k, 0) for m0, m1 in zip(before, after)
                for k in m1 if k.startswith("switchback_observations_dropped_total"))
    t0s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t_kill))
    lost = 0
    if new:
        lost = sum(1 for l in open(f"{state}/{new}.log", errors="replace")
                   if l[:19] >= t0s and "quorum_lost" in l)
    print(f"\nleader {name} killed (-9) under load: {new or 'nobody'} leads after "
          f"{took if took is None else round(took, 2)} s (status polled every 50 ms); in the 5 s after: "
          f"followers published {published:.0f} held votes, dropped {stale:.0f} votes, "
          f"quorum lost at the new leader {lost} times (service events)")
    return name


def fail_bj(admins, status):
    """Under the same load, bj's app fails for every service: the time from the failure until
    each authority's committed state (its /v1/status) has every service on sh."""
    urllib.request.urlopen(urllib.request.Request(f"http://{host}:30080/fail/bj", method="POST"), timeout=5).read()
    t0 = time.time()
    done = {}
    while len(done) < len(admins) and time.time() < t0 + 60:
        for a in admins:
            if a in done:
                continue
            try:
                sv = status(a).get("services", [])
            except Exception:
                continue
            if sv and all(x.get("active_site") == "sh" for x in sv):
                done[a] = time.time() - t0
        time.sleep(0.05)
    print(f"\nbj failed under load (POST /fail/bj); every service on sh at each authority after (s, 50 ms polls):")
    for a in admins:
        print(f"  {a}: " + (f"{done[a]:.2f}" if a in done else "not within 60 s"))
    time.sleep(3)
    epochs = {}
    for a in admins:
        for x in status(a).get("services", []):
            epochs.setdefault(a, set()).add((x.get("active_site"), x.get("epoch")))
    print(f"  (site, epoch) per authority 3 s later: {epochs}")


# A SIGTERM or SIGHUP (timeout, a closed terminal) ends the run through the same clean-up as
# its normal end, so no probe, etcd member or namespace is left behind.
for sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(sig, lambda n, _: sys.exit(128 + n))
try:
    main()
finally:
    stop_all()
    if netns:
        netns_down(probes)
    if not os.environ.get("KEEP"):
        shutil.rmtree(state, ignore_errors=True)

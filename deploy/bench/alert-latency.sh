#!/usr/bin/env bash
# Decision → alert at the receiver, through the whole node (release build).
#
#   deploy/bench/alert-latency.sh [SERVICES]
#
# Runs one authority (embedded store, JSON logs, state in a temp dir) with SERVICES services
# (default 100) and one webhook sink pointing at a local Python receiver that stamps each
# request's arrival (same machine, same wall clock). Each service is switched to sh and back
# once with `switchback switch --force` (one failover trigger and one resolve per service: no
# repeats, so noise control lets every one through). For each alert it pairs the node's
# "decision committed" log time (service, epoch) with the receiver's arrival time and prints
# the median and p99. The path measured: commit → audit fsync → broadcast → noise → spool
# append + fsync → worker → HTTP POST → receiver.
# Ports: 23053 (DNS), 23530 (admin), 23080 (receiver) — helper s11's range.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-100}
W=$(mktemp -d /tmp/alertlat.XXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
(cd "$ROOT" && cargo build --release --features etcd --bin switchback >/dev/null 2>&1)
BIN="$ROOT/target/release/switchback"
mkdir -p "$W/probes" && : >"$W/probes/none.toml"
echo "bench-token" >"$W/admin.token"
printf '$ORIGIN boss.example.\n$TTL 300\n@ IN SOA ns1 noc 1 3600 600 86400 10\n@ IN NS ns1\nns1 IN A 127.0.0.1\n' >"$W/boss.zone"
{
  printf '[node]\nid = "bench-1"\nsite = "bj"\nroles = ["authority"]\nstate_dir = "%s/state"\n\n' "$W"
  printf '[log]\nformat = "json"\n\n[dns]\nlisten = ["127.0.0.1:23053"]\nzones = ["boss.zone"]\n\n'
  printf '[admin]\nlisten = "127.0.0.1:23530"\ntoken_file = "admin.token"\n\n'
  printf '[sites.bj]\nrole = "primary"\n\n[sites.sh]\nrole = "backup"\n\n'
  for i in $(seq "$N"); do
    printf '[[service]]\nname = "svc%d"\nnames = ["svc%d.boss.example."]\n' "$i" "$i"
    printf 'addresses = { bj = ["127.0.1.10"], sh = ["127.0.2.10"] }\nprobes = "probes/none.toml"\n'
    printf 'policy = { mode = "manual" }\n\n'
  done
  printf '[[alert]]\nname = "hook"\nkind = "webhook"\nurl = "http://127.0.0.1:23080/hook"\nkinds = ["failover"]\n'
} >"$W/switchback.toml"
python3 - "$W/received" <<'PY' &
import http.server, json, sys, time
out = open(sys.argv[1], "w", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        t = time.time()
        e = json.loads(body)
        out.write(f"{t:.6f} {e['service']} {e['epoch']} {e['action']}\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", 23080), H).serve_forever()
PY
PIDS+=($!)
"$BIN" serve -c "$W/switchback.toml" >"$W/node.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q '"node ready"' "$W/node.log" && break; sleep 0.1; done
for i in $(seq "$N"); do
  for to in sh bj; do
    "$BIN" switch "svc$i" --to "$to" --reason "bench" --force --admin http://127.0.0.1:23530 \
      --token-file "$W/admin.token" >/dev/null
  done
done
for _ in $(seq 300); do [ "$(wc -l <"$W/received")" -ge $((2 * N)) ] && break; sleep 0.1; done
python3 - "$W/node.log" "$W/received" <<'PY'
import json, sys, datetime
commit = {}
for line in open(sys.argv[1]):
    try: j = json.loads(line)
    except ValueError: continue
    f = j.get("fields", {})
    if f.get("message") == "decision committed":
        t = datetime.datetime.fromisoformat(j["timestamp"].replace("Z", "+00:00")).timestamp()
        commit[(f["service"], int(f["epoch"]))] = t
lat = []
for line in open(sys.argv[2]):
    t, svc, epoch, action = line.split()
    c = commit.get((svc, int(epoch)))
    if c is not None:
        lat.append((t and float(t)) - c)
lat.sort()
if not lat:
    sys.exit("no samples")
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1e3
print(f"decision committed -> alert at receiver: n={len(lat)} median={q(0.5):.2f} ms p90={q(0.9):.2f} ms p99={q(0.99):.2f} ms max={lat[-1]*1e3:.2f} ms")
PY

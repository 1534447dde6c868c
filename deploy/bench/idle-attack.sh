#!/usr/bin/env bash
# Issue #13's idle-connection attack against the admin port, RUNS times:
#
#   deploy/bench/idle-attack.sh [RUNS] [CONNS] [SECONDS]     (defaults 20, 1100, 20)
#
# Each run starts the loopback demo (`switchback serve`: probes, embedded store, DNS, and
# the stand-in sites bj/sh it probes over HTTP) under `ulimit -n 1024`, waits until both
# sites are seen up, then for SECONDS holds CONNS TCP connections to the admin port from
# 127.0.0.2 that send half a request line and never finish it (a closed one is reopened at
# once). Meanwhile /ready is polled from 127.0.0.1 every 100 ms. A run passes when /ready
# answered 200 every time and neither crm nor billing moved or got a pending switch (epoch
# unchanged, active site bj). Prints one line per run and a total.
# Ports: the demo's (5353, 9530, 18081-18082); stop a running demo first. Needs root only
# for nothing; `ulimit -n 1024` must be allowed (it is for any user).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-20}
CONNS=${2:-1100}
SECS=${3:-20}
BIN=${BIN:-$ROOT/target/release/switchback}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release --features etcd --bin switchback >/dev/null 2>&1)
W=$(mktemp -d /tmp/s13-idle.XXXX)
NODE=
cleanup() { [ -n "$NODE" ] && kill -TERM "$NODE" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
pass=0
for run in $(seq "$RUNS"); do
  rm -rf "$W/state"
  (cd "$ROOT" && ulimit -n 1024 && exec env SWITCHBACK__NODE__STATE_DIR="$W/state" "$BIN" serve) >"$W/node.log" 2>&1 &
  NODE=$!
  up=no
  for _ in $(seq 200); do
    if curl -sf http://127.0.0.1:9530/v1/status 2>/dev/null | python3 -c '
import json,sys
s=json.load(sys.stdin)["services"]
ok=all(all(x.get("verdict")=="up" for x in v["sites"].values()) if isinstance(v["sites"],dict) else True for v in s)
sys.exit(0 if ok else 1)' 2>/dev/null; then up=yes; break; fi
    sleep 0.1
  done
  before=$(curl -sf http://127.0.0.1:9530/v1/status)
  python3 - "$CONNS" "$SECS" "$W/result" <<'PY'
import json, socket, sys, threading, time, urllib.request
conns, secs, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
stop = time.time() + secs
held = []
opened = 0
def attack():
    global opened
    import selectors
    sel = selectors.DefaultSelector()
    def one():
        global opened
        s = socket.socket(); s.setblocking(False)
        s.bind(("127.0.0.2", 0))
        try: s.connect(("127.0.0.1", 9530))
        except BlockingIOError: pass
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, "new")
        opened += 1
    for _ in range(conns): one()
    while time.time() < stop:
        for key, ev in sel.select(timeout=0.2):
            s = key.fileobj
            if key.data == "new" and ev & selectors.EVENT_WRITE:
                try: s.send(b"GET /ready HTTP/1.1\r\nHost: x\r\n")
                except OSError: pass
                sel.modify(s, selectors.EVENT_READ, "sent")
            elif ev & selectors.EVENT_READ:
                try: data = s.recv(4096)
                except OSError: data = b""
                if not data:
                    sel.unregister(s); s.close(); one()
    for key in list(sel.get_map().values()):
        key.fileobj.close()
t = threading.Thread(target=attack); t.start()
ok = bad = 0; errors = []
time.sleep(0.5)
while time.time() < stop:
    try:
        with urllib.request.urlopen("http://127.0.0.1:9530/ready", timeout=2) as r:
            ok += r.status == 200; bad += r.status != 200
    except Exception as e:
        bad += 1; errors.append(str(e)[:60])
    time.sleep(0.1)
t.join()
json.dump({"ready_ok": ok, "ready_bad": bad, "opened": opened, "errors": errors[:3]}, open(out, "w"))
PY
  # Let the probes run a few rounds after the attack, as the issue's failovers came then.
  sleep 3
  after=$(curl -sf http://127.0.0.1:9530/v1/status || echo '{}')
  verdict=$(python3 - "$W/result" "$before" "$after" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
b = {s["name"]: s for s in json.loads(sys.argv[2])["services"]}
a = {s["name"]: s for s in json.loads(sys.argv[3]).get("services", [])}
moved = [n for n in b if n not in a or a[n]["epoch"] != b[n]["epoch"] or a[n]["active_site"] != "bj" or a[n].get("pending")]
ok = r["ready_bad"] == 0 and not moved
print(("PASS" if ok else "FAIL"), f"ready {r['ready_ok']} ok / {r['ready_bad']} bad, attack conns opened {r['opened']}, moved/pending: {moved or 'none'}", r["errors"] or "")
PY
)
  emfile=$(grep -c -i 'too many open files\|EMFILE' "$W/node.log" || true)
  downs=$(grep 'check state changed' "$W/node.log" | grep -c 'to=down' || true)
  echo "run $run: $verdict; EMFILE lines in node log: $emfile; checks gone down: $downs; sites seen up before: $up"
  case $verdict in PASS*) pass=$((pass+1));; esac
  kill -TERM "$NODE"; wait "$NODE" 2>/dev/null || true; NODE=
done
echo "TOTAL: $pass of $RUNS runs without a false failover and with /ready answering throughout"
